"""Agreement beyond chance between raters, from the counts of each used item's values (see alpha.Pairable):
percent agreement, the unanimous share, Fleiss' kappa, Gwet's AC1, and Cohen's kappa for every pair of raters.
Pure numpy; ``None`` wherever a figure is undefined."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from annotate.quality.alpha import Floats, Ints, Pairable, weighted_counts

# Pairs of raters counted in a dense table up to this many cells, and rater ids compacted with one up to this id.
DENSE_PAIRS = 4_000_000
DENSE_IDS = 50_000_000


def _agreeing_pair_share(counts: Pairable) -> Floats:
    """Per used item: the share of its pairs of ratings that agree (Σ n_c(n_c − 1) / m(m − 1))."""
    if counts.table is not None:
        agreeing = (counts.table * (counts.table - 1)) @ np.ones(counts.n_codes)
    else:
        unit, _, count = counts.unit_code_count
        agreeing = weighted_counts(unit, count * (count - 1), counts.units)
    return agreeing / (counts.raters * (counts.raters - 1))


def percent_agreement(counts: Pairable) -> float | None:
    """The mean over used items of the share of rating pairs that agree."""
    if counts.units == 0:
        return None
    return float(_agreeing_pair_share(counts).mean())


def unanimous_share(counts: Pairable) -> float | None:
    """The share of used items on which every rating is the same."""
    if counts.units == 0:
        return None
    distinct = np.bincount(counts.unit_code_count[0], minlength=counts.units)
    return float((distinct == 1).mean())


def fleiss_kappa(counts: Pairable) -> float | None:
    """Fleiss' kappa (1971); defined only when every used item has the same number of ratings."""
    if counts.units == 0 or np.any(counts.raters != counts.raters[0]):
        return None
    observed = _agreeing_pair_share(counts).mean()
    shares = counts.value_totals / counts.raters.sum()
    expected = float((shares**2).sum())
    if expected >= 1.0:
        return None
    return float((observed - expected) / (1.0 - expected))


def gwet_ac1(counts: Pairable, n_categories: int) -> float | None:
    """Gwet's AC1 (2008) over the used items: observed agreement as Fleiss', chance agreement
    Σ π_c(1 − π_c) / (q − 1) with π_c the mean share of an item's ratings that are c and q the number of categories
    the question declares. It stays high when raw agreement is high and one category dominates, where kappa
    collapses (the kappa paradox)."""
    if counts.units == 0 or n_categories < 2:
        return None
    observed = _agreeing_pair_share(counts).mean()
    if counts.table is not None:
        share = (counts.table / counts.raters[:, None]).sum(axis=0)
    else:
        unit, code, count = counts.unit_code_count
        share = np.bincount(code, weights=count / counts.raters[unit], minlength=counts.n_codes)
    share = share / counts.units
    chance = float((share * (1 - share)).sum() / (n_categories - 1))
    if chance >= 1.0:
        return None
    return float((observed - chance) / (1 - chance))


@dataclass(frozen=True)
class PairKappa:
    first: int
    second: int
    items: int
    kappa: float | None


def cohen_kappas(
    item: npt.ArrayLike, rater: npt.ArrayLike, code: npt.ArrayLike, values: npt.ArrayLike | None = None
) -> list[PairKappa]:
    """Cohen's kappa for every pair of raters with items in common (first < second). With ``values`` (the value of
    each code on the question's declared scale) the kappa is quadratic-weighted by those values, so two ratings of
    1 and 5 weigh by 4² however many of the scale's points happened to be used; without, unweighted."""
    items = np.asarray(item, dtype=np.int64)
    raters = np.asarray(rater, dtype=np.int64)
    codes = np.asarray(code, dtype=np.int64)
    if len(items) == 0:
        return []
    if np.any(items[1:] < items[:-1]):  # the labels layer gives rows by item already
        order = np.argsort(items, kind="stable")
        items, raters, codes = items[order], raters[order], codes[order]
    rater_ids, who = _compact(raters)
    starts = np.flatnonzero(np.r_[True, items[1:] != items[:-1]])
    sizes = np.diff(np.r_[starts, len(items)])
    firsts, seconds, first_codes, second_codes = [], [], [], []
    for offset in range(1, int(sizes.max(initial=1))):
        same = items[offset:] == items[:-offset]
        if not same.any():
            break
        firsts.append(who[:-offset][same])
        seconds.append(who[offset:][same])
        first_codes.append(codes[:-offset][same])
        second_codes.append(codes[offset:][same])
    if not firsts:
        return []
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    a, b = np.concatenate(first_codes), np.concatenate(second_codes)
    swap = first > second  # each pair of raters once, the lower id first
    first, second = np.where(swap, second, first), np.where(swap, first, second)
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    width = len(rater_ids)
    keys = first * width + second
    unique_keys, pair = _numbered(keys, width * width)
    pair_keys = np.stack([rater_ids[unique_keys // width], rater_ids[unique_keys % width]], axis=1)
    shared = np.bincount(pair, minlength=len(pair_keys)).astype(np.float64)
    if values is None:
        kappas = _unweighted_kappas(pair, a, b, shared)
    else:
        value = np.asarray(values, dtype=np.float64)
        kappas = _quadratic_kappas(pair, value[a], value[b], shared)
    return [
        PairKappa(int(f), int(s), int(n), None if not np.isfinite(k) else float(k))
        for (f, s), n, k in zip(pair_keys, shared, kappas, strict=True)
    ]


def _numbered(keys: Ints, size: int) -> tuple[Ints, Ints]:
    """The distinct keys (all below ``size``) ascending, and each key's place among them."""
    if size <= DENSE_PAIRS:
        present = np.bincount(keys, minlength=size) > 0
        return np.flatnonzero(present).astype(np.int64), (np.cumsum(present) - 1)[keys]
    distinct, place = np.unique(keys, return_inverse=True)
    return distinct, place.ravel()


def _compact(ids: Ints) -> tuple[Ints, Ints]:
    """The distinct ids ascending, and each row's place among them (without sorting the rows when ids are small)."""
    if ids.min() >= 0 and ids.max() < DENSE_IDS:
        present = np.bincount(ids) > 0
        return np.flatnonzero(present).astype(np.int64), (np.cumsum(present) - 1)[ids]
    distinct, place = np.unique(ids, return_inverse=True)
    return distinct, place.ravel()


def _unweighted_kappas(pair: Ints, a: Ints, b: Ints, shared: Floats) -> Floats:
    pairs, size = len(shared), int(max(a.max(), b.max())) + 1
    observed = np.bincount(pair, weights=(a == b).astype(np.float64), minlength=pairs) / shared
    first = np.bincount(pair * size + a, minlength=pairs * size).reshape(pairs, size)
    second = np.bincount(pair * size + b, minlength=pairs * size).reshape(pairs, size)
    expected = (first * second).sum(axis=1) / shared**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected < 1.0, (observed - expected) / (1.0 - expected), np.nan)


def _quadratic_kappas(pair: Ints, a: Floats, b: Floats, shared: Floats) -> Floats:
    """1 − Σ(a − b)² / E, where E = Σ_i Σ_j first_i second_j (v_i − v_j)² / n expands into sums of values and
    squares, so no V × V table per pair is needed."""
    pairs = len(shared)

    def total(weights: Floats) -> Floats:
        return weighted_counts(pair, weights, pairs)

    observed = total((a - b) ** 2)
    expected = total(a**2) + total(b**2) - 2 * total(a) * total(b) / shared
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 1e-12, 1.0 - observed / expected, np.nan)
