"""Each annotator's figures on one question, compared with the other annotators. Pure numpy and scipy: no Django.

An annotator is compared with the *other* annotators: on the same items (agreement, offset, spread, length), or
with everyone else's labels in the same slice (distribution, time on task). ``AnnotatorStats`` says what each
figure means. Every figure is computed for all annotators at once, as arrays with one entry per annotator (or per
annotator and slice), with no loop over labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import rel_entr

from annotate.quality.others import Others, annotator_effects, others_mean
from annotate.quality.significance import (
    binomial_half,
    chi_squared_homogeneity,
    fisher_greater,
    fisher_less,
    t_test,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
# A very fast answer took less than this share of the project's median time on task.
FAST_FRACTION = 0.25
# Label distributions are kept (annotators × slices × answers) only up to this many cells: free text has as many
# answers as labels, and a distribution of those says nothing.
MAX_DISTRIBUTION_CELLS = 1_000_000


@dataclass(frozen=True)
class BiasInput:
    """The labels of one question, one row per label (at most one per example and annotator), as columns.

    ``code`` indexes the question's ``n_categories`` answers. ``submitted_at`` is when the label was submitted
    and ``duration_ms`` the time on task (NaN where unknown). The optional columns switch on the figures that need
    them:
    - ``positions``: per answer code, its value on the scale (the rating itself for rating questions, the index of
      the label for ordinal labels); gives mean, offset and spread. None for nominal questions.
    - ``shown_left`` and ``tie_code`` (preference questions): per row, the code of the answer that prefers the
      response the page showed on the left, -1 where unknown (no display order recorded, or the order was not
      randomised: then "left" and "a" are one and the same, and a better response on the left is no bias); and the
      code of a tie, None if ties cannot be given.
    - ``text_length``: per row, the length of a text answer (NaN where unknown).
    - ``slice``: per row, an int standing for a metadata value of the example (e.g. its topic); the report then has
      one row per annotator and slice.
    """

    example: Ints
    annotator: Ints
    code: Ints
    n_categories: int
    submitted_at: npt.NDArray[np.datetime64]
    duration_ms: Floats
    positions: Floats | None = None
    shown_left: Ints | None = None
    tie_code: int | None = None
    text_length: Floats | None = None
    slice: Ints | None = None

    def __post_init__(self) -> None:
        rows = len(self.example)
        columns = {
            "annotator": self.annotator,
            "code": self.code,
            "submitted_at": self.submitted_at,
            "duration_ms": self.duration_ms,
            "shown_left": self.shown_left,
            "text_length": self.text_length,
            "slice": self.slice,
        }
        for name, column in columns.items():
            if column is not None and len(column) != rows:
                raise ValueError(f"{name} has {len(column)} rows, example has {rows}")
        if rows and (self.code.min() < 0 or self.code.max() >= self.n_categories):
            raise ValueError(f"codes must lie in 0..{self.n_categories - 1}")
        if self.positions is not None and len(self.positions) != self.n_categories:
            raise ValueError(f"positions has {len(self.positions)} entries for {self.n_categories} answers")
        order = np.lexsort((self.annotator, self.example))
        same = (np.diff(self.example[order]) == 0) & (np.diff(self.annotator[order]) == 0)
        if same.any():
            row = order[1:][same][0]
            raise ValueError(f"annotator {self.annotator[row]} has two labels of example {self.example[row]}")


@dataclass(frozen=True)
class AnnotatorStats:
    """One annotator's figures (within one slice when the report is by slice, else ``slice`` is None). None where a
    figure does not apply to the question or there is nothing to compute it from. The ``*_p`` are the tests' own
    p-values, uncorrected: a flag carries the corrected one.

    - ``annotations``: the annotator's labels.
    - ``agreement_with_others``: of all pairs (own label, another annotator's label of the same item), the share
      giving the same answer; ``pairs`` counts them (an item with more annotators makes more pairs).
    - The leave-one-out majority of a label is the single most common answer of the *other* annotators of its item.
      Labels whose others tie, or that have no others, have none and are left out of the next figures;
      ``majority_items`` counts the rest. ``majority_agreement``: the share of them giving the majority answer;
      ``others_majority_agreement``: the same share over the other annotators' labels (in the same slice).
      ``kappa_vs_majority``: Cohen's kappa (unweighted) between own answers and those majorities.
      ``agreement_p``: one-sided Fisher's exact test that majority_agreement is below the others'.
    - Ordered questions: ``mean``, the mean answer on the scale. ``offset``: over the items shared with others
      (``offset_items``), the mean of (own answer − the mean of the others' answers to the item); ``offset_ci`` its
      95% t interval over those items, ``offset_p`` the two-sided one-sample t-test against 0. ``adjusted_offset``
      (with ``_ci`` and ``_p``): the same against the others' answers each corrected for its own annotator's
      effect (others.annotator_effects), so that a lenient co-annotator does not make an honest annotator look
      severe; the lenient and severe flags use it. ``spread_ratio``:
      on the same items, sqrt(mean (own − c)² / mean of the others' mean (answer − c)²), c the mean of all answers
      to the question: 1 is as spread out as the others, 0 the same answer every time. ``spread_p``: the two-sided
      paired t-test that the per-item difference of squared deviations is 0 (annotators of an item are
      interchangeable, so it is 0 on average for an honest one).
    - ``label_distribution``: the share of each answer code among own labels; ``others_distribution``: among the
      other annotators' labels (in the same slice); ``jsd``: the Jensen–Shannon divergence between the two, base 2
      (0 the same, 1 no answer in common); ``distribution_p``: the chi-squared test of homogeneity of the two
      (answers with expected counts under 5 pooled). None when annotators × slices × answers exceed
      MAX_DISTRIBUTION_CELLS (free text: as many answers as labels).
    - ``median_duration_ms``: median time on task over the ``timed`` labels (known duration). ``fast_share``: the
      share of those under FAST_FRACTION of the project's median time on task (``BiasReport.fast_below_ms``);
      ``others_fast_share`` the same for the other annotators (in the same slice); ``fast_p`` the one-sided
      Fisher's exact test that the annotator's share is higher.
    - Text questions: ``length_ratio``, over the items shared with others, the sum of own lengths over the sum
      of the others' mean lengths (1: as long as the others, 0.5: half as long).
    - Preference questions: ``left_share``, the share choosing the response shown on the left among the ``sided``
      answers (not ties, display order known); ``left_p`` the exact two-sided binomial test against 1/2.
    """

    annotator: int
    slice: int | None
    annotations: int
    agreement_with_others: float | None
    pairs: int
    majority_items: int
    majority_agreement: float | None
    others_majority_agreement: float | None
    kappa_vs_majority: float | None
    agreement_p: float | None
    mean: float | None
    offset: float | None
    offset_ci: list[float] | None
    offset_items: int
    offset_p: float | None
    adjusted_offset: float | None
    adjusted_offset_ci: list[float] | None
    adjusted_offset_p: float | None
    spread_ratio: float | None
    spread_p: float | None
    label_distribution: list[float] | None
    others_distribution: list[float] | None
    jsd: float | None
    distribution_p: float | None
    median_duration_ms: float | None
    timed: int
    fast_share: float | None
    others_fast_share: float | None
    fast_p: float | None
    length_ratio: float | None
    left_share: float | None
    sided: int
    left_p: float | None


@dataclass(frozen=True)
class _Groups:
    """Annotators, or (annotator, slice) pairs, numbered 0..n-1 ascending; ``row`` numbers each label's."""

    row: Ints
    annotator: Ints
    slice: Ints | None
    slice_index: Ints  # per group, which slice it is in (all 0 without slices)
    slices: int

    def total(self, weights: npt.ArrayLike | None = None, where: npt.NDArray[np.bool_] | None = None) -> Floats:
        """Per group, the sum of ``weights`` (or the count of rows) over the rows ``where`` holds."""
        row = self.row if where is None else self.row[where]
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            weights = weights if where is None else weights[where]
        return np.bincount(row, weights=weights, minlength=len(self.annotator)).astype(np.float64)

    def rest(self, own: Floats) -> Floats:
        """Per group, the sum of ``own`` over the other groups of its slice: everyone else's."""
        per_slice = np.zeros((self.slices, *own.shape[1:]))
        np.add.at(per_slice, self.slice_index, own)
        return per_slice[self.slice_index] - own


def _groups(data: BiasInput) -> _Groups:
    annotators, annotator_row = np.unique(data.annotator, return_inverse=True)
    if data.slice is None:
        return _Groups(annotator_row.astype(np.int64), annotators, None, np.zeros(len(annotators), np.int64), 1)
    slices, slice_row = np.unique(data.slice, return_inverse=True)
    keys, row = np.unique(annotator_row * len(slices) + slice_row, return_inverse=True)
    return _Groups(
        row.astype(np.int64),
        annotators[keys // len(slices)],
        slices[keys % len(slices)],
        keys % len(slices),
        len(slices),
    )


def _share(part: Floats, whole: Floats) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / whole, np.nan)


def _kappa(group: Ints, own: Ints, majority: Ints, groups: int, categories: int) -> Floats:
    """Cohen's kappa between two codings of each group's rows: (observed − chance) / (1 − chance), chance being
    the sum over answers of the product of the two codings' shares. NaN where chance is 1 (one answer only)."""
    n = np.bincount(group, minlength=groups).astype(np.float64)
    agreeing = np.bincount(group, weights=(own == majority).astype(np.float64), minlength=groups)
    observed = _share(agreeing.astype(np.float64), n)
    own_keys, own_counts = np.unique(group * categories + own, return_counts=True)
    majority_keys, majority_counts = np.unique(group * categories + majority, return_counts=True)
    common, in_own, in_majority = np.intersect1d(own_keys, majority_keys, assume_unique=True, return_indices=True)
    products = own_counts[in_own].astype(np.float64) * majority_counts[in_majority]
    chance = _share(np.bincount(common // categories, weights=products, minlength=groups).astype(np.float64), n**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1, (observed - chance) / (1 - chance), np.nan)


def _agreement(data: BiasInput, others: Others, groups: _Groups) -> dict[str, Floats]:
    has_majority = others.majority >= 0
    agrees = has_majority & (data.code == others.majority)
    pairs = groups.total(others.count)
    items = groups.total(where=has_majority)
    agreeing = groups.total(agrees)
    rest_items, rest_agreeing = groups.rest(items), groups.rest(agreeing)
    return {
        "agreement_with_others": _share(groups.total(others.agreeing), pairs),
        "pairs": pairs,
        "majority_items": items,
        "majority_agreement": _share(agreeing, items),
        "others_majority_agreement": _share(rest_agreeing, rest_items),
        "kappa_vs_majority": _kappa(
            groups.row[has_majority],
            data.code[has_majority],
            others.majority[has_majority],
            len(groups.annotator),
            data.n_categories,
        ),
        "agreement_p": fisher_less(agreeing, items, rest_agreeing, rest_items),
    }


def _mean_test(groups: _Groups, values: Floats, where: npt.NDArray[np.bool_]) -> tuple[Floats, ...]:
    """Per group: items, mean, 95% t interval and two-sided p of ``values`` over the rows ``where`` holds."""
    n = groups.total(where=where)
    total = groups.total(values, where)
    mean = _share(total, n)
    squares = groups.total((values - mean[groups.row]) ** 2, where)
    test = t_test(n, total, squares)
    return n, test.mean, test.low, test.high, test.p


def _ratings(data: BiasInput, others: Others, groups: _Groups) -> dict[str, Floats]:
    assert data.positions is not None
    value = data.positions[data.code]
    shared = others.count > 0
    items, offset, low, high, offset_p = _mean_test(groups, value - others_mean(others, value), shared)
    # The same offset against the others' answers once each is corrected for its own annotator's effect.
    effect = annotator_effects(others.item, data.annotator, value)
    _, adjusted, adjusted_low, adjusted_high, adjusted_p = _mean_test(
        groups, value - others_mean(others, value - effect), shared
    )
    squared = (value - value.mean()) ** 2
    others_squared = others_mean(others, squared)
    *_, spread_p = _mean_test(groups, squared - others_squared, shared)
    return {
        "mean": _share(groups.total(value), groups.total()),
        "offset": offset,
        "offset_low": low,
        "offset_high": high,
        "offset_items": items,
        "offset_p": offset_p,
        "adjusted_offset": adjusted,
        "adjusted_offset_low": adjusted_low,
        "adjusted_offset_high": adjusted_high,
        "adjusted_offset_p": adjusted_p,
        "spread_ratio": np.sqrt(_share(groups.total(squared, shared), groups.total(others_squared, shared))),
        "spread_p": spread_p,
    }


def jensen_shannon(p: Floats, q: Floats) -> Floats:
    """The Jensen–Shannon divergence in bits between the rows of two arrays of distributions, 0..1. (SciPy's
    ``jensenshannon`` is its square root, a distance.)"""
    middle = (p + q) / 2
    divergence: Floats = (rel_entr(p, middle).sum(axis=-1) + rel_entr(q, middle).sum(axis=-1)) / (2 * np.log(2))
    return np.clip(divergence, 0.0, 1.0)


def _distribution(data: BiasInput, groups: _Groups) -> dict[str, Floats]:
    n_groups, categories = len(groups.annotator), data.n_categories
    if n_groups * categories > MAX_DISTRIBUTION_CELLS:
        return {}
    counts = np.bincount(groups.row * categories + data.code, minlength=n_groups * categories)
    own = counts.reshape(n_groups, categories).astype(np.float64)
    rest = groups.rest(own)
    with np.errstate(divide="ignore", invalid="ignore"):
        own_share = own / own.sum(axis=1, keepdims=True)
        rest_share = rest / rest.sum(axis=1, keepdims=True)
    return {
        "label_distribution": own_share,
        "others_distribution": rest_share,
        "jsd": jensen_shannon(own_share, rest_share),
        "distribution_p": chi_squared_homogeneity(own, rest),
    }


def _group_median(group: Ints, values: Floats, groups: int) -> Floats:
    order = np.lexsort((values, group))
    ordered = values[order]
    counts = np.bincount(group, minlength=groups)
    starts = np.cumsum(counts) - counts
    low = ordered[np.minimum(starts + (counts - 1) // 2, len(ordered) - 1)] if len(ordered) else np.zeros(groups)
    high = ordered[np.minimum(starts + counts // 2, len(ordered) - 1)] if len(ordered) else np.zeros(groups)
    return np.where(counts > 0, (low + high) / 2, np.nan)


def _time_on_task(data: BiasInput, groups: _Groups, fast_below: float) -> dict[str, Floats]:
    known = np.isfinite(data.duration_ms)
    fast = known & (data.duration_ms < fast_below)
    timed, fast_count = groups.total(where=known), groups.total(where=fast)
    rest_timed, rest_fast = groups.rest(timed), groups.rest(fast_count)
    return {
        "median_duration_ms": _group_median(groups.row[known], data.duration_ms[known], len(groups.annotator)),
        "timed": timed,
        "fast_share": _share(fast_count, timed),
        "others_fast_share": _share(rest_fast, rest_timed),
        "fast_p": fisher_greater(fast_count, timed, rest_fast, rest_timed),
    }


def _length(data: BiasInput, others: Others, groups: _Groups) -> dict[str, Floats]:
    assert data.text_length is not None
    others_length = others_mean(others, data.text_length)
    both = np.isfinite(data.text_length) & np.isfinite(others_length)
    return {"length_ratio": _share(groups.total(data.text_length, both), groups.total(others_length, both))}


def _sides(data: BiasInput, groups: _Groups) -> dict[str, Floats]:
    assert data.shown_left is not None
    sided = data.shown_left >= 0
    if data.tie_code is not None:
        sided &= data.code != data.tie_code
    left = sided & (data.code == data.shown_left)
    answers, left_count = groups.total(where=sided), groups.total(where=left)
    return {"left_share": _share(left_count, answers), "sided": answers, "left_p": binomial_half(left_count, answers)}


def annotator_stats(data: BiasInput, others: Others) -> tuple[list[AnnotatorStats], float | None, float | None]:
    """Every annotator's figures, ascending by annotator (then slice); the project's median time on task; and the
    time under which an answer counts as very fast (both None when no time on task is known). ``others`` compares
    the rows of ``data`` with their items' other rows."""
    groups = _groups(data)
    known = np.isfinite(data.duration_ms)
    median = float(np.median(data.duration_ms[known])) if known.any() else None
    fast_below = None if median is None else FAST_FRACTION * median
    columns = {"annotations": groups.total()} | _agreement(data, others, groups) | _distribution(data, groups)
    if data.positions is not None:
        columns |= _ratings(data, others, groups)
    if fast_below is not None:
        columns |= _time_on_task(data, groups, fast_below)
    if data.text_length is not None:
        columns |= _length(data, others, groups)
    if data.shown_left is not None:
        columns |= _sides(data, groups)
    return [_row(columns, groups, index) for index in range(len(groups.annotator))], median, fast_below


def _row(columns: dict[str, Floats], groups: _Groups, index: int) -> AnnotatorStats:
    """One group's entries of the columns as plain Python numbers; None for NaN and for columns not computed."""

    def number(name: str) -> float | None:
        value = float(columns[name][index]) if name in columns else np.nan
        return value if np.isfinite(value) else None

    def count(name: str) -> int:
        return int(columns[name][index]) if name in columns else 0

    def shares(name: str) -> list[float] | None:
        if name not in columns or not np.isfinite(columns[name][index]).all():
            return None
        return [float(share) for share in columns[name][index]]

    def interval(name: str) -> list[float] | None:
        low, high = number(f"{name}_low"), number(f"{name}_high")
        return None if low is None or high is None else [low, high]

    return AnnotatorStats(
        annotator=int(groups.annotator[index]),
        slice=None if groups.slice is None else int(groups.slice[index]),
        annotations=count("annotations"),
        agreement_with_others=number("agreement_with_others"),
        pairs=count("pairs"),
        majority_items=count("majority_items"),
        majority_agreement=number("majority_agreement"),
        others_majority_agreement=number("others_majority_agreement"),
        kappa_vs_majority=number("kappa_vs_majority"),
        agreement_p=number("agreement_p"),
        mean=number("mean"),
        offset=number("offset"),
        offset_ci=interval("offset"),
        offset_items=count("offset_items"),
        offset_p=number("offset_p"),
        adjusted_offset=number("adjusted_offset"),
        adjusted_offset_ci=interval("adjusted_offset"),
        adjusted_offset_p=number("adjusted_offset_p"),
        spread_ratio=number("spread_ratio"),
        spread_p=number("spread_p"),
        label_distribution=shares("label_distribution"),
        others_distribution=shares("others_distribution"),
        jsd=number("jsd"),
        distribution_p=number("distribution_p"),
        median_duration_ms=number("median_duration_ms"),
        timed=count("timed"),
        fast_share=number("fast_share"),
        others_fast_share=number("others_fast_share"),
        fast_p=number("fast_p"),
        length_ratio=number("length_ratio"),
        left_share=number("left_share"),
        sided=count("sided"),
        left_p=number("left_p"),
    )
