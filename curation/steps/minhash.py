"""Near-duplicate dedup: MinHash sketches banded for LSH, every candidate pair verified with exact Jaccard.

keys (each chunk worker, on its records): the shingles of each text (``shingles.py``), a MinHash sketch of
``num_perm`` values, and from it ``bands`` band hashes, one uint64 each: an (n × bands) array, 8 × bands bytes
a record (144 bytes at the defaults: 144 MB for 1,000,000 records), which is all the merge needs of a record
besides its id and length. A text without words gets a row of zeros and is never a candidate.

The sketch is one-permutation MinHash (Li, Owen & Zhang 2012) with optimal densification (Shrivastava 2017):
each shingle's 64-bit hash picks one of ``num_perm`` bins by its high 32 bits and competes for that bin's
minimum with its low 32 bits; an empty bin (a text has fewer shingles than bins) copies the bin found by probing
a fixed, text-independent sequence of bins, so two texts copy alike. Each bin then matches between two texts
with probability equal to their Jaccard similarity, as a classic MinHash value does, at one hash a shingle
instead of ``num_perm``: the sketch costs a few passes of numpy over the shingles, not shingles × num_perm. Bins
are dealt to bands by a fixed shuffle, so the copies of one bin rarely fall in the same band.

Why not rensa: ``RMinHash.digest_matrix_from_flat_token_hashes`` computes 128 classic MinHash values for
100,000 pre-hashed texts in about 0.2 s, but its result leaves Rust only as Python lists (``to_rows``): about
1.1 s to build them and 0.7 s more to make an array, per 100,000 texts, more than this whole sketch and its bands.

Bands and rows (``bands_rows``): chosen from the S-curve P(s) = 1 − (1 − s^r)^b of LSH as datasketch's
``_optimal_param`` does, minimising 0.3 × (false-positive area below the detection threshold) + 0.7 × (false-
negative area above it), with b × r ≤ num_perm and the detection threshold t − 0.15 (t/2 when lower). Misses weigh
more because a false candidate only costs a Jaccard computation in the merge, while a missed pair is a duplicate
kept. At t = 0.8 and 128 values: 18 bands of 7 rows (126 values used), the curve's midpoint (1/b)^(1/r) at 0.66,
P(0.8) = 0.986, P(0.9) = 0.99999, P(0.7) = 0.79, P(0.5) = 0.13; a record with several duplicates has a chance
with each. (Weights 0.1/0.9 give 21 × 6, P(0.8) = 0.998, midpoint 0.60, but verify about twice as many pairs.)

merge: candidate pairs are records sharing a band hash. Records whose band hashes are all identical (exact and
near-exact copies) are first grouped and each paired with the group's earliest record only; the rest meet in
each band's buckets, where every pair of a bucket is a candidate, except in a bucket of more than
``BUCKET_CAP`` records (a template or boilerplate shared by many texts), where each record is paired with the
bucket's ``BUCKET_CAP`` earliest records only: the cost of a bucket grows linearly, not quadratically, and true
pairs in it usually meet in another band too. Every candidate pair is verified with the exact Jaccard similarity
of the two texts' shingle sets (re-shingled from ``fetch_texts``); clusters are the connected components of the
verified pairs (Jaccard ≥ threshold), and each keeps one record by the ``keep`` policy.

"Exact Jaccard" is computed on the sets of 64-bit shingle hashes: it differs from the Jaccard of the shingle
strings only if two different shingles of the two texts share a hash (about 1 in 10^15 for two 100-shingle
texts). The texts of candidate records are read through ``fetch_texts`` and re-shingled: at 100,000 records of
the bench's corpus, about a fifth of the records are candidates.
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
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

RULE = "dedup.minhash"
BUCKET_CAP = 32
FN_WEIGHT = 0.7
_EMPTY = np.uint32(0xFFFFFFFF)  # an empty bin; a shingle's value is at most 0xFFFFFFFE
_PROBES = 32
_SKETCH_DOCS = 1024  # records sketched at a time: every temporary array stays under a megabyte or so


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


def sketch(hashes: U64, offsets: I64, num_perm: int) -> U32:
    """One-permutation MinHash with optimal densification: (texts × num_perm) uint32 values; a text without
    shingles has every value ``_EMPTY``."""
    texts = offsets.size - 1
    counts = np.diff(offsets)
    owner = np.repeat(np.arange(texts, dtype=np.int64) * num_perm, counts)
    with np.errstate(over="ignore"):
        bins = (((hashes >> np.uint64(32)) * np.uint64(num_perm)) >> np.uint64(32)).astype(np.int64)
    values = (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    values[values == _EMPTY] -= 1  # keep the sentinel free: two shingles may now share a value, as 1 in 2**32 do
    table = np.full(texts * num_perm, _EMPTY, dtype=np.uint32)
    np.minimum.at(table, owner + bins, values)
    original = table.reshape(texts, num_perm)
    empty = original == _EMPTY
    empty[counts == 0] = False
    remaining = int(np.count_nonzero(empty))
    if remaining == 0:
        return original
    result = original.copy()
    probes = _layout(num_perm, 1, 1)[0]
    attempt = 0
    # While many bins are empty, probe for all of them at once over the whole matrix (a column gather) ...
    while remaining > empty.size // 64 and attempt < _PROBES:
        candidate = np.take(original, probes[attempt], axis=1)  # C-ordered, unlike original[:, …]
        fill = empty & (candidate != _EMPTY)
        np.copyto(result, candidate, where=fill)
        empty &= ~fill
        remaining = int(np.count_nonzero(empty))
        attempt += 1
    # ... then only for the few left, by their flat positions.
    flat_original, flat_result = original.ravel(), result.ravel()
    where = np.flatnonzero(empty)
    row_start, column = where - where % num_perm, where % num_perm
    while where.size and attempt < _PROBES:
        found = flat_original[row_start + probes[attempt, column]]
        hit = found != _EMPTY
        flat_result[where[hit]] = found[hit]
        where, row_start, column = where[~hit], row_start[~hit], column[~hit]
        attempt += 1
    if where.size:  # a text with very few shingles for its bins: the rest take its smallest value
        flat_result[where] = original.min(axis=1)[where // num_perm]
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
            combined = np.broadcast_to(band_salts, (last - first, bands)).copy()
            for row in range(rows):
                combined += np.take(values, band_bins[:, row], axis=1).astype(np.uint64) * row_multipliers[row]
            combined = mix(combined)
        combined[combined == 0] = 1
        combined[np.diff(part) == 0] = 0
        out[first:last] = combined
    return out


def _runs(values: U64, members: I64) -> tuple[I64, I64, I64]:
    """``members`` grouped by ``values``: (members in group order, each group's start, each group's size).

    Sorted with one ``np.sort`` of (value's high bits | member) rather than an argsort: two values that differ
    only in their low bits share a group, which can only add a candidate pair (every pair is verified), never
    lose one."""
    bits = max(int(members.max()).bit_length(), 1) if members.size else 1
    low = np.uint64((1 << bits) - 1)
    packed = np.sort((values & ~low) | members.astype(np.uint64))
    ordered = (packed & low).astype(np.int64)
    group = packed >> np.uint64(bits)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, packed.size])
    return ordered, starts, sizes


def _bucket_pairs(values: U64, members: I64) -> I64:
    """Candidate pairs (as lo * 2**32 + hi of record positions) among ``members`` sharing a value of one band."""
    sorted_members, starts, sizes = _runs(values, members)
    found: list[I64] = []
    is_small = (sizes >= 2) & (sizes <= BUCKET_CAP)
    if is_small.any():
        small, small_starts = sizes[is_small], starts[is_small]
        position = np.repeat(small_starts, small) + (
            np.arange(int(small.sum())) - np.repeat(np.cumsum(small) - small, small)
        )
        run_end = np.repeat(small_starts + small, small)
        for distance in range(1, int(small.max())):
            valid = position + distance < run_end
            position, run_end = position[valid], run_end[valid]
            found.append(_encode(sorted_members[position], sorted_members[position + distance]))
    for start, size in zip(starts[sizes > BUCKET_CAP].tolist(), sizes[sizes > BUCKET_CAP].tolist(), strict=True):
        bucket = sorted_members[start : start + size]  # in input order: members sort by position within a group
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
    ordered, starts, sizes = _runs(signature, usable)
    group_head = np.repeat(ordered[starts], sizes)
    # A record whose whole signature differs from its group's head (only their high bits agreed) stands alone.
    position_of = np.empty(bands.shape[0], dtype=np.int64)
    position_of[usable] = np.arange(usable.size)
    head = signature[position_of[ordered]] != signature[position_of[group_head]]
    head[starts] = True
    found = [_encode(group_head[~head], ordered[~head])]
    representatives = np.sort(ordered[head])
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
    sets = ShingleSets([texts[int(i)] for i in ids[involved].tolist()], options["ngram"])
    left_local = np.searchsorted(involved, left)
    right_local = np.searchsorted(involved, right)
    similarity = sets.jaccard(left_local, right_local, threshold)
    verified = similarity >= threshold
    verified_left, verified_right = left_local[verified].tolist(), right_local[verified].tolist()
    if not verified_left:
        return []
    labels = components(involved.size, left_local[verified], right_local[verified])
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
    members = in_cluster[involved[in_cluster] != kept_for]
    kept_local = np.searchsorted(involved, kept_for[involved[in_cluster] != kept_for])
    with_kept = sets.jaccard(members, kept_local, 0.0)
    dropped: list[Dropped] = []
    for member, kept, jaccard in zip(members.tolist(), kept_local.tolist(), with_kept.tolist(), strict=True):
        detail: dict[str, Any] = {"duplicate_of": int(ids[involved[kept]]), "similarity": round(jaccard, 4)}
        if jaccard < threshold:
            via = path_toward(kept, member, edges)
            detail["via"] = int(ids[involved[via]])
            detail["via_similarity"] = round(sets.pair(member, via), 4)
        dropped.append(Dropped(int(ids[involved[member]]), RULE, detail))
    return dropped


class ShingleSets:
    """The shingle sets of some texts (each text's distinct shingle hashes, CSR), for exact Jaccard."""

    def __init__(self, texts: list[str], ngram: int) -> None:
        hashes, offsets = shingle_hashes(texts, ngram)
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(offsets))
        slots = (hashes & _SLOT_MASK).astype(np.int64)
        # Texts two of whose shingles share a slot of the lookup table: a repeated shingle, or (rarely) two that
        # differ. Only those are sorted one by one to drop repeats; every other text's shingles are distinct.
        keep = np.ones(hashes.size, dtype=bool)
        for text in _crowded(owner, slots).tolist():
            low, high = int(offsets[text]), int(offsets[text + 1])
            keep[low:high] = False
            keep[low + np.unique(hashes[low:high], return_index=True)[1]] = True
        self.members, self.slots, owner = hashes[keep], slots[keep], owner[keep]
        self.sizes = np.bincount(owner, minlength=len(texts)).astype(np.int64)
        self.starts = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(self.sizes, out=self.starts[1:])
        self.crowded = np.zeros(len(texts), dtype=bool)
        self.crowded[_crowded(owner, self.slots)] = True

    def of(self, text: int) -> U64:
        members: U64 = self.members[self.starts[text] : self.starts[text + 1]]
        return members

    def pair(self, a: int, b: int) -> float:
        one, other = self.of(a), self.of(b)
        common = np.intersect1d(one, other, assume_unique=True).size
        return common / (one.size + other.size - common)

    def jaccard(self, left: I64, right: I64, threshold: float) -> npt.NDArray[np.float64]:
        """The Jaccard similarity of each pair (left[i], right[i]); 0 where the sizes alone rule the threshold out
        (J ≤ smaller / larger)."""
        out = np.zeros(left.size, dtype=np.float64)
        a, b = self.sizes[left], self.sizes[right]
        possible = np.flatnonzero((np.minimum(a, b) >= threshold * np.maximum(a, b) - 1e-9) & (a > 0) & (b > 0))
        if possible.size == 0:
            return out
        # Each pair is turned toward the text with more pairs, so fewer texts are looked up against.
        one, other = left[possible], right[possible]
        degree = np.bincount(np.concatenate([one, other]), minlength=self.sizes.size)
        swap = (degree[other] > degree[one]) | ((degree[other] == degree[one]) & (other < one))
        one, other = np.where(swap, other, one), np.where(swap, one, other)
        order = np.argsort(one, kind="stable")
        possible, one, other = possible[order], one[order], other[order]
        for first in range(0, possible.size, _PAIRS_AT_ONCE):
            last = min(first + _PAIRS_AT_ONCE, possible.size)
            out[possible[first:last]] = self._jaccard_grouped(one[first:last], other[first:last])
        return out

    def _jaccard_grouped(self, one: I64, other: I64) -> npt.NDArray[np.float64]:
        """Jaccard of pairs sorted by ``one``: each ``one`` text's members go in a hash table (slot: the low bits
        of the shingle hash, which the table stores whole), and every ``other`` member is looked up there."""
        sizes = self.sizes[other]
        ends = np.cumsum(sizes)
        positions = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(self.starts[other] - ends + sizes, sizes)
        looked_up = self.members[positions]
        slots = self.slots[positions]
        hits = np.zeros(looked_up.size, dtype=bool)
        groups = np.flatnonzero(np.r_[True, one[1:] != one[:-1], True])
        element_bounds = np.r_[0, ends].tolist()
        table = _table()
        for start, stop in zip(groups[:-1].tolist(), groups[1:].tolist(), strict=True):
            text = int(one[start])
            low, high = element_bounds[start], element_bounds[stop]
            if self.crowded[text]:  # two of its shingles share a slot: the slow, sure way
                hits[low:high] = np.isin(looked_up[low:high], self.of(text))
                continue
            own_slots = self.slots[self.starts[text] : self.starts[text + 1]]
            table[own_slots] = self.of(text)
            hits[low:high] = table[slots[low:high]] == looked_up[low:high]
            table[own_slots] = 0
        common = np.add.reduceat(hits, ends - sizes).astype(np.int64)
        result: npt.NDArray[np.float64] = common / (self.sizes[one] + sizes - common)
        return result


def _crowded(owner: I64, slots: I64) -> I64:
    """The owners (sorted, contiguous) with two members in one slot."""
    packed = np.sort((owner << 20) | slots)
    clash: I64 = np.unique(packed[1:][packed[1:] == packed[:-1]] >> 20)
    return clash


_PAIRS_AT_ONCE = 20_000
_SLOT_MASK = np.uint64((1 << 20) - 1)


@lru_cache(maxsize=1)
def _table() -> U64:
    """The lookup table of ``ShingleSets`` (8 MB, zero between uses; a shingle hash of 0 is not looked up)."""
    return np.zeros(1 << 20, dtype=np.uint64)
