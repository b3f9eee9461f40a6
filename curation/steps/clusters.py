"""What the dedup methods share once they know which records are alike: clusters over verified pairs, the record
each cluster keeps (the ``keep`` policy), and the path by which a member joined its cluster."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def components(size: int, left: I64, right: I64) -> I64:
    """The connected component of each of ``size`` nodes given the edges (left[i], right[i])."""
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(size, size)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def score_array(ids: I64, scores: Mapping[int, float] | None) -> F64:
    """Each record's score, aligned with ``ids``; a record without one (or with NaN) gets -inf: it ranks last."""
    if not scores:
        return np.full(ids.size, -np.inf)
    values = np.array([scores.get(int(i), np.nan) for i in ids.tolist()], dtype=np.float64)
    values[np.isnan(values)] = -np.inf
    return values


def kept_of_groups(groups: I64, positions: I64, keep: str, lengths: I64, scores: F64 | None) -> tuple[I64, I64, I64]:
    """For records (``positions`` in input order) labelled with ``groups``, the record each group keeps.

    keep: ``first`` (earliest), ``longest`` (most characters), ``best`` (highest score; records without a score
    rank last); ties go to the earliest. Returns (group labels, the kept position of each, and the kept position
    for every record given), each group once.
    """
    if keep == "longest":
        primary = -lengths[positions].astype(np.float64)
    elif keep == "best" and scores is not None:
        primary = -scores[positions]
    else:
        primary = np.zeros(positions.size)
    order = np.lexsort((positions, primary, groups))
    sorted_groups = groups[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    labels = sorted_groups[first]
    kept = positions[order][first]
    kept_for = kept[np.searchsorted(labels, groups)]
    return labels, kept, kept_for


def path_toward(kept: int, member: int, edges: Mapping[int, list[int]]) -> int:
    """The neighbour of ``member`` on a shortest path of verified pairs to ``kept`` (breadth first from ``kept``,
    neighbours in input order): the member through which ``member`` joined the kept record's cluster."""
    parent = {kept: kept}
    queue = deque([kept])
    while queue:
        node = queue.popleft()
        for neighbour in edges.get(node, ()):
            if neighbour not in parent:
                parent[neighbour] = node
                if neighbour == member:
                    return node
                queue.append(neighbour)
    raise ValueError(f"record {member} is not connected to {kept}")
