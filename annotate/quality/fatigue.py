"""Fatigue and drift: does an annotator agree less with the others the longer they work? Pure numpy and scipy.

Each annotator's labels, in submission order, are split into sessions: a gap of more than SESSION_GAP between two
consecutive submissions starts a new one (a gap of exactly SESSION_GAP does not). A label's position is its place
in its session (0 for the first). A label agrees when it gives the answer most of the other annotators of the
same item gave (the leave-one-out majority, annotate/quality/others.py); labels whose others tie or that have no
others say nothing about agreement and are left out.

Fatigue is agreement falling with position in the session; drift is agreement falling over all of an annotator's
work, label after label, across sessions. Both are measured the same way (``Trend``). Time on task against
position is reported beside them (a Spearman correlation), but raises no flag: annotators speed up as they learn a
task, so a change of pace alone is not a fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import stats

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
SESSION_GAP = np.timedelta64(30, "m")
CURVE_BUCKETS = 10


@dataclass(frozen=True)
class Trend:
    """Agreement against a position. ``labels``: labels with a majority to agree with. ``early``/``late``: the
    share of them agreeing at positions up to the annotator's median position, and beyond it; ``decline`` is
    early − late (None when no label lies beyond the median). ``p``: the one-sided Mann–Whitney U test that
    labels disagreeing with the majority come later than agreeing ones (a rank test of agreement against position,
    for a decline only), uncorrected; None where it cannot be run (one outcome only, or a single position)."""

    labels: int
    early: float | None
    late: float | None
    decline: float | None
    p: float | None
    # The curve to draw: [first position of the bucket, share agreeing, labels] for up to CURVE_BUCKETS equal
    # buckets of position (buckets without labels left out).
    curve: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class Fatigue:
    """One annotator's sessions and trends. ``agreement``: against position in the session (fatigue).
    ``drift``: against the label's place among all the annotator's labels. ``duration_rho``/``duration_p``:
    Spearman's correlation of time on task with position in the session, and its two-sided p (positive: slower
    later in a session)."""

    annotator: int
    sessions: int
    longest_session: int
    agreement: Trend
    drift: Trend
    duration_rho: float | None
    duration_p: float | None


def sessions(annotator: Ints, submitted_at: npt.NDArray[np.datetime64]) -> tuple[Ints, Ints]:
    """Per row (input order): a session number (distinct across annotators, in order of annotator then time)
    and the row's position in its session. Rows submitted at the same instant keep their input order."""
    order = np.lexsort((submitted_at, annotator))
    by_annotator, times = annotator[order], submitted_at[order]
    new = np.r_[True, (by_annotator[1:] != by_annotator[:-1]) | (np.diff(times) > SESSION_GAP)]
    session_sorted = np.cumsum(new) - 1
    position_sorted = np.arange(len(order)) - np.flatnonzero(new)[session_sorted]
    session = np.empty(len(order), dtype=np.int64)
    position = np.empty(len(order), dtype=np.int64)
    session[order] = session_sorted
    position[order] = position_sorted
    return session, position


def trend(position: Ints, agrees: Floats) -> Trend:
    """Agreement (1, 0, NaN for no majority) against position, for one annotator's labels."""
    known = np.isfinite(agrees)
    x, y = position[known], agrees[known]
    if len(x) == 0:
        return Trend(labels=0, early=None, late=None, decline=None, p=None)
    median = np.median(x)
    early, late = y[x <= median], y[x > median]
    early_share = float(early.mean())
    late_share = float(late.mean()) if len(late) else None
    p = None
    disagreeing, agreeing = x[y == 0], x[y == 1]
    if len(disagreeing) and len(agreeing) and x.min() < x.max():
        p = float(stats.mannwhitneyu(disagreeing, agreeing, alternative="greater").pvalue)
    return Trend(
        labels=len(x),
        early=early_share,
        late=late_share,
        decline=None if late_share is None else early_share - late_share,
        p=p,
        curve=_curve(x, y),
    )


def _curve(position: Ints, agrees: Floats) -> list[list[float]]:
    width = max(1, -(-(int(position.max()) + 1) // CURVE_BUCKETS))
    bucket = position // width
    labels = np.bincount(bucket)
    agreeing = np.bincount(bucket, weights=agrees)
    return [
        [float(index * width), float(agreeing[index] / labels[index]), float(labels[index])]
        for index in np.flatnonzero(labels)
    ]


def fatigue(
    annotator: Ints, submitted_at: npt.NDArray[np.datetime64], agrees: Floats, duration_ms: Floats
) -> list[Fatigue]:
    """Sessions and trends of every annotator, ascending by annotator id. ``agrees`` per row: 1 if the label
    gives the others' majority answer, 0 if not, NaN if the others have no majority."""
    if len(annotator) == 0:
        return []
    session, position = sessions(annotator, submitted_at)
    order = np.lexsort((submitted_at, annotator))  # as in ``sessions``: each annotator's labels in time order
    starts = np.flatnonzero(np.r_[True, annotator[order][1:] != annotator[order][:-1]])
    result = []
    for start, stop in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        rows = order[start:stop]
        in_session = position[rows]
        session_sizes = np.bincount(session[rows] - session[rows].min())
        result.append(
            Fatigue(
                annotator=int(annotator[rows[0]]),
                sessions=int(np.count_nonzero(session_sizes)),
                longest_session=int(session_sizes.max()),
                agreement=trend(in_session, agrees[rows]),
                drift=trend(np.arange(len(rows), dtype=np.int64), agrees[rows]),
                **_pace(in_session, duration_ms[rows]),
            )
        )
    return result


def _pace(position: Ints, duration_ms: Floats) -> dict[str, float | None]:
    known = np.isfinite(duration_ms)
    x, y = position[known], duration_ms[known]
    if len(x) < 3 or x.min() == x.max() or y.min() == y.max():
        return {"duration_rho": None, "duration_p": None}
    result = stats.spearmanr(x, y)
    return {"duration_rho": float(result.statistic), "duration_p": float(result.pvalue)}
