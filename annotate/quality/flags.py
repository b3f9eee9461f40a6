"""Which annotators stand out, and why: rules over the figures of annotate/quality/annotator_stats.py and fatigue.py.

A flag must be earned three ways at once:
- enough evidence: the test behind it used at least MIN_ITEMS items (or answers, or labels);
- significance: its p-value, Holm-corrected over every test this report ran (every kind, every annotator, every
  slice), is below ALPHA, so a project of honest annotators raises a flag of any kind at most ALPHA of the time
  (a flag names a person: 1%, not the customary 5%);
- a difference worth acting on: the figure passes the kind's minimum effect below, whatever its p. A small bias
  measured very precisely on a large project is still small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from annotate.quality.annotator_stats import AnnotatorStats
from annotate.quality.fatigue import Fatigue
from annotate.quality.significance import holm

ALPHA = 0.01
MIN_ITEMS = 30
# lenient / severe: the mean offset from the others is at least this share of the scale (0.4 on a 1–5 scale).
MIN_OFFSET_SHARE = 0.1
# central_tendency: the annotator's spread around the question's mean is at most this share of the others'.
MAX_SPREAD_RATIO = 0.6
# outlying_distribution: the Jensen–Shannon divergence (bits, 0..1) from everyone else's answers is at least this.
MIN_JSD = 0.05
# too_fast: at least this share of the annotator's answers is very fast (see annotator_stats.FAST_FRACTION).
MIN_FAST_SHARE = 0.2
# fatigue: agreement late in sessions is at least this much below agreement early in them (0.1 = ten points).
MIN_DECLINE = 0.1
# position_bias: the share choosing the response shown on the left is at least this far from one half.
MIN_LEFT_SKEW = 0.15
# low_agreement: the annotator agrees with the others' majority at least this much less often than they do.
MIN_AGREEMENT_GAP = 0.15


@dataclass(frozen=True)
class Flag:
    """An annotator who stands out (in a slice, when the report is by slice; ``slice`` None otherwise). ``detail``
    holds the figures that earned it and the test: ``p`` is the Holm-corrected p-value, ``p_uncorrected`` the
    test's own, ``test`` says which test in words."""

    annotator: int
    slice: int | None
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Evidence:
    """One test run on one annotator: ``kind`` is the flag it raises when significant, None when its figure
    falls short of the minimum effect (it is still counted in the correction: it was run)."""

    annotator: int
    slice: int | None
    kind: str | None
    p: float
    test: str
    detail: dict[str, Any]


def offset_kind(offset: float, span: float) -> str | None:
    if offset >= MIN_OFFSET_SHARE * span:
        return "lenient"
    if offset <= -MIN_OFFSET_SHARE * span:
        return "severe"
    return None


def spread_kind(ratio: float) -> str | None:
    return "central_tendency" if ratio <= MAX_SPREAD_RATIO else None


def distribution_kind(jsd: float) -> str | None:
    return "outlying_distribution" if jsd >= MIN_JSD else None


def fast_kind(share: float) -> str | None:
    return "too_fast" if share >= MIN_FAST_SHARE else None


def fatigue_kind(decline: float | None) -> str | None:
    return "fatigue" if decline is not None and decline >= MIN_DECLINE else None


def position_kind(left_share: float) -> str | None:
    return "position_bias" if abs(left_share - 0.5) >= MIN_LEFT_SKEW else None


def agreement_kind(own: float, others: float) -> str | None:
    return "low_agreement" if own <= others - MIN_AGREEMENT_GAP else None


def annotator_tests(row: AnnotatorStats, span: float) -> list[Evidence]:
    """The tests run on one annotator (in one slice): those whose figures apply to the question and that have
    enough items. ``span`` is the length of the question's scale (highest − lowest value), for the offset."""
    tests = []

    def add(kind: str | None, p: float | None, items: int, test: str, **detail: Any) -> None:
        if p is not None and items >= MIN_ITEMS:
            tests.append(Evidence(row.annotator, row.slice, kind, p, test, {**detail, "items": items}))

    if row.adjusted_offset is not None:
        add(
            offset_kind(row.adjusted_offset, span),
            row.adjusted_offset_p,
            row.offset_items,
            "two-sided one-sample t-test against 0 of the per-item offset from the others' mean, each of the others "
            "corrected for their own leniency or severity",
            offset=row.adjusted_offset,
            ci=row.adjusted_offset_ci,
            raw_offset=row.offset,
            mean=row.mean,
        )
    if row.spread_ratio is not None:
        add(
            spread_kind(row.spread_ratio),
            row.spread_p,
            row.offset_items,
            "two-sided paired t-test of the per-item squared deviation from the question's mean, own against the "
            "others' mean",
            spread_ratio=row.spread_ratio,
        )
    if row.jsd is not None:
        add(
            distribution_kind(row.jsd),
            row.distribution_p,
            row.annotations,
            "chi-squared test of homogeneity of own answers and everyone else's (rare answers pooled)",
            jsd=row.jsd,
            label_distribution=row.label_distribution,
            others_distribution=row.others_distribution,
        )
    if row.fast_share is not None:
        add(
            fast_kind(row.fast_share),
            row.fast_p,
            row.timed,
            "one-sided Fisher's exact test that own share of very fast answers is above everyone else's",
            fast_share=row.fast_share,
            others_fast_share=row.others_fast_share,
            median_duration_ms=row.median_duration_ms,
        )
    if row.left_share is not None:
        add(
            position_kind(row.left_share),
            row.left_p,
            row.sided,
            "exact two-sided binomial test of the share choosing the response shown on the left against 1/2, "
            "ties left out",
            left_share=row.left_share,
        )
    if row.majority_agreement is not None and row.others_majority_agreement is not None:
        add(
            agreement_kind(row.majority_agreement, row.others_majority_agreement),
            row.agreement_p,
            row.majority_items,
            "one-sided Fisher's exact test that own agreement with the others' majority is below everyone else's",
            majority_agreement=row.majority_agreement,
            others_majority_agreement=row.others_majority_agreement,
            kappa_vs_majority=row.kappa_vs_majority,
        )
    return tests


def fatigue_tests(rows: list[Fatigue]) -> list[Evidence]:
    """The fatigue test of every annotator with enough labels to judge (see fatigue.Trend)."""
    return [
        Evidence(
            annotator=row.annotator,
            slice=None,
            kind=fatigue_kind(row.agreement.decline),
            p=row.agreement.p,
            test="one-sided Mann–Whitney U test that labels disagreeing with the others' majority come later in "
            "their session than agreeing ones",
            detail={
                "early_agreement": row.agreement.early,
                "late_agreement": row.agreement.late,
                "decline": row.agreement.decline,
                "items": row.agreement.labels,
                "sessions": row.sessions,
                "longest_session": row.longest_session,
            },
        )
        for row in rows
        if row.agreement.p is not None and row.agreement.labels >= MIN_ITEMS
    ]


def raise_flags(tests: list[Evidence]) -> list[Flag]:
    """The flags the tests earn, after the Holm correction over all of them; in the order of the tests."""
    adjusted = holm(np.array([test.p for test in tests], dtype=np.float64))
    flags = []
    for test, p in zip(tests, adjusted, strict=True):
        if test.kind is None or not p < ALPHA:
            continue
        detail = {
            **test.detail,
            "p": float(p),
            "p_uncorrected": test.p,
            "test": f"{test.test}; Holm-corrected over the report's {len(tests)} tests: p={p:.3g}",
        }
        flags.append(Flag(annotator=test.annotator, slice=test.slice, kind=test.kind, detail=detail))
    return flags
