"""Near-duplicate dedup: MinHash sketches banded for LSH, every candidate pair verified with exact Jaccard.

keys (each chunk worker, on its records): the shingles of each text (``shingles.py``), a MinHash sketch of
``num_perm`` values, and from it ``bands`` band hashes, one uint64 each: an (n × bands) array, 8 × bands bytes
a record (168 bytes at the defaults), which is all the merge needs of a record besides its id and length.

The sketch is one-permutation MinHash (Li, Owen & Zhang 2012) with optimal densification (Shrivastava 2017):
each shingle's 64-bit hash picks one of ``num_perm`` bins by its high 32 bits and competes for that bin's
minimum with its low 32 bits; an empty bin (a text has fewer shingles than bins) copies the bin found by probing
a fixed, text-independent sequence of bins, so two texts copy alike. Each bin then matches between two texts
with probability equal to their Jaccard similarity, as a classic MinHash value does, at one hash a shingle
instead of ``num_perm``: the sketch costs a few passes of numpy over the shingles, not shingles × num_perm. Bins
are dealt to bands by a fixed shuffle, so the copies of one bin rarely fall in the same band.

Bands and rows (``bands_rows``): chosen from the S-curve P(s) = 1 − (1 − s^r)^b of LSH as datasketch's
``_optimal_param`` does, minimising 0.1 × (false-positive area below the detection threshold) + 0.9 × (false-
negative area above it), with b × r ≤ num_perm and the detection threshold t − 0.15 (t/2 when lower). Misses are
weighted heavily because a false candidate only costs a Jaccard computation in the merge, while a missed pair is
a duplicate kept. At t = 0.8 and 128 bins: 21 bands of 6 rows, P(0.8) = 0.998, P(0.7) = 0.96, P(0.5) = 0.28.

merge: candidate pairs are records sharing a band hash. Records whose band hashes are all identical (exact and
near-exact copies) are first grouped and each paired with the group's earliest record only; the rest meet in
each band's buckets, where every pair of a bucket is a candidate, except in a bucket of more than
``BUCKET_CAP`` records (a template or boilerplate shared by many texts), where each record is paired with the
bucket's ``BUCKET_CAP`` earliest records only: the cost of a bucket grows linearly, not quadratically, and true
pairs in it usually meet in another band too. Every candidate pair is verified with the exact Jaccard similarity
of the two texts' shingle sets (re-shingled from ``fetch_texts``); clusters are the connected components of the
verified pairs (Jaccard ≥ threshold), and each keeps one record by the ``keep`` policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from .base import Dropped
from .clusters import components, kept_of_groups, path_toward, score_array
from .shingles import constants, mix, shingle_hashes

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

RULE = "dedup.minhash"
BUCKET_CAP = 32
FN_WEIGHT = 0.9
_EMPTY = np.uint64(1 << 32)  # above every 32-bit bin value
_PROBES = 32
_SKETCH_DOCS = 4096  # records sketched at a time: the (records × num_perm) sketch stays a few MB


@lru_cache(maxsize=64)
def bands_rows(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) for a target threshold (see the module's docstring)."""
    detect = max(threshold - 0.15, threshold / 2)
    s = np.linspace(0.0, 1.0, 1001)
    below, above = s <= detect, s >= detect
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            p = 1.0 - (1.0 - s**rows) ** bands
            false_positive = float(np.trapezoid(p[below], s[below]))
            false_negative = float(np.trapezoid(1.0 - p[above], s[above]))
            error = (1 - FN_WEIGHT) * false_positive + FN_WEIGHT * false_negative
            if best is None or error < best[0] - 1e-12:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]


@lru_cache(maxsize=16)
def _layout(num_perm: int, bands: int, rows: int) -> tuple[I64, I64, U64, U64]:
    """The fixed probe sequences of densification, the bins of each band, and the multipliers of rows and bands."""
    probes = (constants(_PROBES * num_perm, salt=num_perm) % np.uint64(num_perm)).astype(np.int64)
    shuffle = np.argsort(constants(num_perm, salt=7 * num_perm + 1), kind="stable")[: bands * rows]
    return (
        probes.reshape(_PROBES, num_perm),
        shuffle.astype(np.int64).reshape(bands, rows),
        constants(rows, salt=0xB0),
        constants(bands, salt=0xBA),
    )


def sketch(hashes: U64, offsets: I64, num_perm: int) -> U64:
    """One-permutation MinHash with optimal densification: (texts × num_perm) values, all ``_EMPTY`` for a text
    without shingles."""
    texts = offsets.size - 1
    counts = np.diff(offsets)
    owner = np.repeat(np.arange(texts, dtype=np.int64), counts)
    with np.errstate(over="ignore"):
        bins = (((hashes >> np.uint64(32)) * np.uint64(num_perm)) >> np.uint64(32)).astype(np.int64)
    values = np.full(texts * num_perm, _EMPTY, dtype=np.uint64)
    np.minimum.at(values, owner * num_perm + bins, hashes & np.uint64(0xFFFFFFFF))
    original = values.reshape(texts, num_perm)
    probes = _layout(num_perm, 1, 1)[0]
    empty_text, empty_bin = np.nonzero((original == _EMPTY) & (counts > 0)[:, None])
    if empty_text.size == 0:
        return original
    result = original.copy()
    for attempt in range(_PROBES):
        found = original[empty_text, probes[attempt, empty_bin]]
        hit = found != _EMPTY
        result[empty_text[hit], empty_bin[hit]] = found[hit]
        empty_text, empty_bin = empty_text[~hit], empty_bin[~hit]
        if empty_text.size == 0:
            return result
    # A text with very few shingles for its bins: the rest take its smallest value.
    result[empty_text, empty_bin] = original.min(axis=1)[empty_text]
    return result


def band_hashes(texts: list[str], ngram: int, num_perm: int, threshold: float) -> U64:
    """(texts × bands) band hashes; a row of zeros for a text without words (never a candidate)."""
    bands, rows = bands_rows(threshold, num_perm)
    _, band_bins, row_multipliers, band_salts = _layout(num_perm, bands, rows)
    hashes, offsets = shingle_hashes(texts, ngram)
    out = np.zeros((len(texts), bands), dtype=np.uint64)
    for first in range(0, len(texts), _SKETCH_DOCS):
        last = min(first + _SKETCH_DOCS, len(texts))
        part = offsets[first : last + 1]
        values = sketch(hashes[part[0] : part[-1]], part - part[0], num_perm)
        with np.errstate(over="ignore"):
            combined = (values[:, band_bins] * row_multipliers).sum(axis=2, dtype=np.uint64) + band_salts
            combined = mix(combined)
        combined[combined == 0] = 1
        combined[np.diff(part) == 0] = 0
        out[first:last] = combined
    return out


def _bucket_pairs(values: U64, members: I64) -> I64:
    """Candidate pairs (as lo * 2**32 + hi of record positions) among ``members`` sharing a value of one band."""
    order = np.argsort(values, kind="stable")
    sorted_values, sorted_members = values[order], members[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    sizes = np.diff(np.r_[starts, sorted_values.size])
    found: list[I64] = []
    small = sizes[(sizes >= 2) & (sizes <= BUCKET_CAP)]
    if small.size:
        small_starts = starts[(sizes >= 2) & (sizes <= BUCKET_CAP)]
        position = np.repeat(small_starts, small) + (
            np.arange(small.sum()) - np.repeat(np.cumsum(small) - small, small)
        )
        run_end = np.repeat(small_starts + small, small)
        for distance in range(1, int(small.max())):
            valid = position + distance < run_end
            position, run_end = position[valid], run_end[valid]
            found.append(_encode(sorted_members[position], sorted_members[position + distance]))
    for start, size in zip(starts[sizes > BUCKET_CAP].tolist(), sizes[sizes > BUCKET_CAP].tolist(), strict=True):
        bucket = sorted_members[start : start + size]
        heads = bucket[:BUCKET_CAP]
        left = np.repeat(heads, size)
        right = np.tile(bucket, heads.size)
        keep = left < right
        found.append(_encode(left[keep], right[keep]))
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _encode(left: I64, right: I64) -> I64:
    low, high = np.minimum(left, right), np.maximum(left, right)
    encoded: I64 = (low << 32) | high
    return encoded


def candidate_pairs(bands: U64) -> tuple[I64, I64]:
    """Candidate pairs (left < right, record positions) from the band hashes (see the module's docstring)."""
    usable = np.flatnonzero(bands[:, 0] != 0)
    if usable.size < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    with np.errstate(over="ignore"):
        signature = mix((bands[usable] * constants(bands.shape[1], salt=0x51)).sum(axis=1, dtype=np.uint64))
    order = np.argsort(signature, kind="stable")
    sorted_signature = signature[order]
    head = np.r_[True, sorted_signature[1:] != sorted_signature[:-1]]
    group_head = usable[order][np.maximum.accumulate(np.where(head, np.arange(order.size), 0))]
    found = [_encode(group_head[~head], usable[order][~head])]
    representatives = np.sort(usable[order][head])
    for band in range(bands.shape[1]):
        found.append(_bucket_pairs(bands[representatives, band], representatives))
    pairs = np.unique(np.concatenate(found))
    return pairs >> 32, pairs & 0xFFFFFFFF


def keys(texts: list[str], ids: I64, lengths: I64, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {
        "id": ids,
        "length": lengths,
        "bands": band_hashes(texts, options["ngram"], options["num_perm"], options["threshold"]),
    }


def merge(
    keys: Mapping[str, np.ndarray],
    options: Mapping[str, Any],
    *,
    fetch_texts: Callable[[np.ndarray], dict[int, str]],
    scores: Mapping[int, float] | None,
) -> list[Dropped]:
    ids = np.asarray(keys["id"], dtype=np.int64)
    threshold = float(options["threshold"])
    left, right = candidate_pairs(np.asarray(keys["bands"], dtype=np.uint64))
    if left.size == 0:
        return []
    # Verify every candidate pair with the exact Jaccard similarity of the shingle sets.
    involved = np.unique(np.concatenate([left, right]))
    texts = fetch_texts(ids[involved])
    missing = [int(i) for i in ids[involved].tolist() if int(i) not in texts]
    if missing:
        raise KeyError(f"fetch_texts gave no text for records {missing[:10]}")
    hashes, offsets = shingle_hashes([texts[int(i)] for i in ids[involved].tolist()], options["ngram"])
    sets = [frozenset(hashes[offsets[k] : offsets[k + 1]].tolist()) for k in range(involved.size)]
    local = {int(position): k for k, position in enumerate(involved.tolist())}
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    left_local = np.searchsorted(involved, left)
    right_local = np.searchsorted(involved, right)
    # A pair whose sizes alone keep it below the threshold (J ≤ smaller / larger) needs no intersection.
    a, b = sizes[left_local], sizes[right_local]
    possible = np.minimum(a, b) >= threshold * np.maximum(a, b) - 1e-9
    similar: dict[tuple[int, int], float] = {}
    verified_left: list[int] = []
    verified_right: list[int] = []
    for x, y in zip(left_local[possible].tolist(), right_local[possible].tolist(), strict=True):
        common = len(sets[x] & sets[y])
        jaccard = common / (len(sets[x]) + len(sets[y]) - common)
        if jaccard >= threshold:
            similar[(x, y)] = jaccard
            verified_left.append(x)
            verified_right.append(y)
    if not verified_left:
        return []
    labels = components(involved.size, np.array(verified_left), np.array(verified_right))
    in_cluster = np.flatnonzero(np.bincount(labels)[labels] > 1)
    score_values = score_array(ids, scores) if options.get("keep") == "best" else None
    lengths = np.asarray(keys["length"], dtype=np.int64)
    _, _, kept_for = kept_of_groups(
        labels[in_cluster], involved[in_cluster], options.get("keep", "first"), lengths, score_values
    )
    edges: dict[int, list[int]] = {}
    for x, y in zip(verified_left, verified_right, strict=True):
        edges.setdefault(x, []).append(y)
        edges.setdefault(y, []).append(x)
    for neighbours in edges.values():
        neighbours.sort()
    dropped: list[Dropped] = []
    for member_local, kept_position in zip(in_cluster.tolist(), kept_for.tolist(), strict=True):
        member_position = int(involved[member_local])
        if member_position == kept_position:
            continue
        kept_local = local[kept_position]
        jaccard = _jaccard(sets[member_local], sets[kept_local])
        detail: dict[str, Any] = {"duplicate_of": int(ids[kept_position]), "similarity": round(jaccard, 4)}
        if jaccard < threshold:
            via = path_toward(kept_local, member_local, edges)
            detail["via"] = int(ids[involved[via]])
            detail["via_similarity"] = round(_jaccard(sets[member_local], sets[via]), 4)
        dropped.append(Dropped(int(ids[member_position]), RULE, detail))
    return dropped


def _jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    common = len(a & b)
    return common / (len(a) + len(b) - common)
