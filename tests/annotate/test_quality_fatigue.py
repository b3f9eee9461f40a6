"""Sessions, fatigue and drift (annotate/quality/fatigue.py) on hand-made timelines."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from annotate.quality.fatigue import fatigue, sessions, trend

START = np.datetime64("2025-03-03T09:00:00", "us")
MINUTE = np.timedelta64(60_000_000, "us")


def test_a_gap_of_exactly_thirty_minutes_stays_in_the_session():
    microsecond = np.timedelta64(1, "us")
    times = START + np.array([0 * MINUTE, 30 * MINUTE, 60 * MINUTE + microsecond, 61 * MINUTE, 0 * MINUTE])
    annotator = np.array([1, 1, 1, 1, 2])
    session, position = sessions(annotator, times)
    assert list(position) == [0, 1, 0, 1, 0]
    assert session[0] == session[1] != session[2] == session[3] != session[4]


def test_sessions_follow_submission_time_not_row_order():
    times = START + np.array([50, 0, 10, 200], dtype=np.int64) * MINUTE
    session, position = sessions(np.zeros(4, np.int64), times)
    assert list(position) == [0, 0, 1, 0]
    assert len(set(session)) == 3


def test_a_trend_compares_agreement_early_and_late_in_sessions():
    position = np.array([0, 1, 2, 3, 4, 5, 0, 1, 2, 3])
    agrees = np.array([1, 1, 1, 0, 0, np.nan, 1, 1, 0, 0])
    found = trend(position, agrees)
    known = np.isfinite(agrees)
    # The median position of the 9 labels with a majority is 2: positions 0..2 are early.
    assert (found.labels, found.early, found.late) == (9, pytest.approx(5 / 6), 0.0)
    assert found.decline == pytest.approx(5 / 6)
    expected = stats.mannwhitneyu(
        position[known][agrees[known] == 0], position[known][agrees[known] == 1], alternative="greater"
    )
    assert found.p == pytest.approx(expected.pvalue)


def test_each_annotator_has_their_own_sessions_and_trends():
    annotator = np.array([4, 4, 4, 4, 9, 9])
    times = START + np.array([0, 5, 50, 55, 0, 5]) * MINUTE
    agrees = np.array([1, 1, 1, 0, np.nan, np.nan])
    duration = np.array([10.0, 20.0, 30.0, 40.0, np.nan, 5.0])
    first, second = fatigue(annotator, times, agrees, duration)
    assert (first.annotator, first.sessions, first.longest_session) == (4, 2, 2)
    assert (second.annotator, second.sessions, second.longest_session) == (9, 1, 2)
    assert first.agreement.labels == 4 and second.agreement.labels == 0 and second.agreement.p is None
    # Drift: the last of the four labels disagrees; the first two agree, the last two half the time.
    assert (first.drift.early, first.drift.late) == (1.0, 0.5)
    assert second.duration_rho is None, "one known time on task says nothing about pace"
    assert fatigue(np.array([], np.int64), np.array([], "datetime64[us]"), np.array([]), np.array([])) == []


def test_the_curve_gives_the_share_agreeing_per_bucket_of_position():
    from annotate.quality.fatigue import trend

    position = np.arange(20, dtype=np.int64)
    agrees = np.r_[np.ones(10), np.zeros(10)]
    agrees[0] = np.nan  # no majority to agree with: left out

    curve = trend(position, agrees).curve

    assert [bucket for bucket, _, _ in curve] == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert curve[0] == [0.0, 1.0, 1.0]
    assert curve[4][1:] == [1.0, 2.0] and curve[5][1:] == [0.0, 2.0]
