"""Agreement on answers that are not a value on a scale: rankings (Kendall's W) and free text (exact matches and
token-level F1). Pure Python and numpy."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def kendall_w(item: npt.ArrayLike, code: npt.ArrayLike, rankings: Sequence[Sequence[int]]) -> tuple[float | None, int]:
    """Kendall's coefficient of concordance W per item (the item's raters ranking its responses), averaged over the
    items ranked by two or more raters who all ranked the same responses; returns (mean W, items used). No
    correction for ties: a ranking here is a strict order."""
    items = np.asarray(item, dtype=np.int64)
    codes = np.asarray(code, dtype=np.int64)
    if len(items) == 0 or not rankings:
        return None, 0
    width = max(len(r) for r in rankings)
    # Rank (1 = best) of every response in every distinct ranking; responses a ranking leaves out stay 0.
    ranks = np.zeros((len(rankings), width))
    for index, ranking in enumerate(rankings):
        ranks[index, list(ranking)] = np.arange(1, len(ranking) + 1)
    lengths = np.array([len(r) for r in rankings])
    response_sets: dict[frozenset[int], int] = {}
    set_code = np.array([response_sets.setdefault(frozenset(r), len(response_sets)) for r in rankings])
    ids, unit = np.unique(items, return_inverse=True)
    raters = np.bincount(unit).astype(np.float64)
    # An item counts when two or more raters ranked it and all its rankings cover the same responses.
    lowest = np.full(len(ids), len(response_sets))
    highest = np.full(len(ids), -1)
    np.minimum.at(lowest, unit, set_code[codes])
    np.maximum.at(highest, unit, set_code[codes])
    n = np.zeros(len(ids))
    np.maximum.at(n, unit, lengths[codes])
    used = (raters >= 2) & (lowest == highest) & (n >= 2)
    if not used.any():
        return None, 0
    totals = np.zeros((len(ids), width))
    np.add.at(totals, unit, ranks[codes])
    m, n, totals = raters[used], n[used], totals[used]
    # S: the squared deviations of each response's rank sum from its mean m(n + 1)/2 (responses not ranked in an
    # item have a rank sum of 0 and are left out).
    deviation = np.where(totals > 0, totals - (m * (n + 1) / 2)[:, None], 0.0)
    w = 12 * (deviation**2).sum(axis=1) / (m**2 * (n**3 - n))
    return float(w.mean()), int(used.sum())


_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)


def normalise_text(text: str) -> str:
    """Case-folded, NFKC, whitespace collapsed: two answers that differ only in these are the same answer."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def tokens(text: str) -> list[str]:
    """The words of a text for token-level F1: normalised, punctuation removed. (Unlike SQuAD's normalisation,
    English articles are kept: answers here may be in any language.)"""
    return _PUNCTUATION.sub(" ", normalise_text(text)).split()


def token_f1(first: str, second: str) -> float:
    """The F1 of the two texts' word multisets: 2 · shared words / (words of one + words of the other); two empty
    texts agree fully."""
    a, b = tokens(first), tokens(second)
    if not a and not b:
        return 1.0
    shared = sum((Counter(a) & Counter(b)).values())
    return 2 * shared / (len(a) + len(b))


def text_agreement(
    item: npt.ArrayLike, code: npt.ArrayLike, texts: Sequence[str]
) -> tuple[float | None, float | None, int]:
    """For items with two or more text answers: (the share of answer pairs that match exactly after normalising,
    the mean over items of the mean pairwise token F1, items used). ``texts[code]`` is each code's answer; each
    distinct pair of answers is compared once."""
    items = np.asarray(item, dtype=np.int64)
    codes = np.asarray(code, dtype=np.int64)
    order = np.argsort(items, kind="stable")
    items, codes = items[order], codes[order]
    normalised = [normalise_text(text) for text in texts]
    ids, unit = np.unique(items, return_inverse=True)
    sizes = np.bincount(unit)
    pairs_per_unit = sizes * (sizes - 1) / 2
    matching = np.zeros(len(ids))
    similarity = np.zeros(len(ids))
    known: dict[tuple[int, int], tuple[bool, float]] = {}
    for offset in range(1, int(sizes.max(initial=1))):
        same = items[offset:] == items[:-offset]
        for row in np.flatnonzero(same):
            a, b = int(codes[row]), int(codes[row + offset])
            key = (min(a, b), max(a, b))
            if key not in known:
                known[key] = (normalised[a] == normalised[b], token_f1(texts[a], texts[b]))
            equal, f1 = known[key]
            matching[unit[row]] += equal
            similarity[unit[row]] += f1
    used = sizes >= 2
    if not used.any():
        return None, None, 0
    exact = float(matching[used].sum() / pairs_per_unit[used].sum())
    mean_similarity = float((similarity[used] / pairs_per_unit[used]).mean())
    return exact, mean_similarity, int(used.sum())
