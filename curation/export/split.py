"""A train/eval split that nothing leaks across, and nested fractions of the train set.

Rows are grouped before they are split: rows that share a prompt (after normalising case, accents and
spacing), and rows that MinHash calls near-duplicates (the curation dedup's banding at Jaccard 0.8 over word
5-grams of the whole row), fall in one group, transitively. A group goes to eval or to train as a whole, chosen by
a seeded hash of its smallest example id, so the split depends on the seed and the data only, never on the order
of reading. Candidate pairs from the bands are not verified: a false candidate only makes a group larger, which
costs a little randomness and never a leak.

Nested fractions: each train group also draws a second seeded number u in [0, 1); the fraction f of the train set
is the groups with u < f, so the 25% file is inside the 50% file, which is inside the whole train file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from curation.steps.clusters import components
from curation.steps.minhash import band_hashes, candidate_pairs
from curation.steps.shingles import mix, normalise

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
NGRAM, NUM_PERM, THRESHOLD = 5, 128, 0.8
_SPLIT_SALT, _FRACTION_SALT = 0x5EED_0001, 0x5EED_0002


def prompt_key(prompt: str) -> int:
    """A stable 63-bit key of a normalised prompt (the same in every process: no salted built-in hash)."""
    digest = hashlib.blake2b(normalise(prompt).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def near_duplicate_bands(texts: list[str]) -> U64:
    return band_hashes(texts, NGRAM, NUM_PERM, THRESHOLD)


@dataclass(frozen=True)
class Split:
    eval: npt.NDArray[np.bool_]  # per row
    draw: npt.NDArray[np.float64]  # per row: the group's second number, for nested fractions
    groups: int
    grouped_rows: int  # rows that share their group with another row
    near_duplicate_pairs: int


def _uniform(values: I64, seed: int, salt: int) -> npt.NDArray[np.float64]:
    with np.errstate(over="ignore"):
        mixed = mix(values.astype(np.uint64) ^ np.uint64((seed * 0x9E3779B97F4A7C15 + salt) & 0xFFFFFFFFFFFFFFFF))
        mixed = mix(mixed + np.uint64(salt))
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def assign(example_ids: I64, prompt_keys: I64, bands: U64 | None, *, seed: int, eval_fraction: float) -> Split:
    """Group the rows (``example_ids`` ascending, one per row) and split the groups."""
    size = example_ids.size
    if size == 0:
        empty = np.zeros(0)
        return Split(np.zeros(0, dtype=bool), empty, 0, 0, 0)
    # Rows with the same prompt key: link each to the first row of its key.
    order = np.argsort(prompt_keys, kind="stable")
    sorted_keys = prompt_keys[order]
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    heads = order[np.maximum.accumulate(np.where(starts, np.arange(size), 0))]
    left, right = [heads[~starts]], [order[~starts]]
    pairs = 0
    if bands is not None and size > 1:
        near_left, near_right = candidate_pairs(bands)
        pairs = int(near_left.size)
        left.append(near_left)
        right.append(near_right)
    group = components(size, np.concatenate(left), np.concatenate(right))
    # Each group is named by its smallest example id, so the draw depends on the data, not on reading order.
    first_id = np.full(group.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_id, group, example_ids)
    named = first_id[group]
    sizes = np.bincount(group)
    return Split(
        eval=_uniform(named, seed, _SPLIT_SALT) < eval_fraction,
        draw=_uniform(named, seed, _FRACTION_SALT),
        groups=int(sizes.size),
        grouped_rows=int((sizes[group] > 1).sum()),
        near_duplicate_pairs=pairs,
    )
