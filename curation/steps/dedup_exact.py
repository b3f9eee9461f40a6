"""Exact dedup: records whose compared texts are equal once normalised (NFKC, case folded, whitespace collapsed:
``shingles.normalise``) are duplicates. Each record's key is a 128-bit BLAKE2b hash of its normalised text, as
two uint64 columns; a record whose normalised text is empty has the key (0, 0) and is never a duplicate."""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import blake2b
from typing import Any

import numpy as np
import numpy.typing as npt

from .base import Dropped
from .clusters import kept_of_groups, score_array
from .shingles import normalise

I64 = npt.NDArray[np.int64]
RULE = "dedup.exact"


def text_hashes(texts: list[str]) -> npt.NDArray[np.uint64]:
    """(texts × 2) uint64: the 128-bit hash of each normalised text, (0, 0) for an empty one."""
    digests = bytearray()
    for text in texts:
        normal = normalise(text)
        digests += blake2b(normal.encode("utf-8"), digest_size=16).digest() if normal else bytes(16)
    return np.frombuffer(bytes(digests), dtype="<u8").astype(np.uint64).reshape(len(texts), 2)


def keys(texts: list[str], ids: I64, lengths: I64, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {"id": ids, "length": lengths, "hash": text_hashes(texts)}


def merge(
    keys: Mapping[str, np.ndarray], options: Mapping[str, Any], scores: Mapping[int, float] | None
) -> list[Dropped]:
    ids = np.asarray(keys["id"], dtype=np.int64)
    hashes = np.asarray(keys["hash"], dtype=np.uint64).reshape(ids.size, 2)
    usable = np.flatnonzero(hashes.any(axis=1))
    if usable.size < 2:
        return []
    order = usable[np.lexsort((usable, hashes[usable, 1], hashes[usable, 0]))]
    same = (hashes[order[1:]] == hashes[order[:-1]]).all(axis=1)
    group = np.cumsum(np.r_[True, ~same])
    sizes = np.bincount(group)
    in_group = sizes[group] > 1
    members, labels = order[in_group], group[in_group]
    score_values = score_array(ids, scores) if options.get("keep") == "best" else None
    lengths = np.asarray(keys["length"], dtype=np.int64)
    _, _, kept_for = kept_of_groups(labels, members, options.get("keep", "first"), lengths, score_values)
    drop = members != kept_for
    result = sorted(zip(members[drop].tolist(), kept_for[drop].tolist(), strict=True))
    return [
        Dropped(int(ids[member]), RULE, {"duplicate_of": int(ids[kept]), "similarity": 1.0}) for member, kept in result
    ]
