"""One question's agreement report: every figure the API and the quality dashboard show, from the question's
current labels as columns. Pure (numpy, scipy and the question definitions); no Django.

Which figures a question gets follows its kind: a value on a scale (label, rating, preference) gets Krippendorff's
alpha at the question's level with its bootstrap interval, percent agreement, the unanimous share, Fleiss' kappa,
Gwet's AC1 and Cohen's kappa per pair of annotators; a multi_label question gets those for each label as a yes/no
question, and their means; a ranking gets Kendall's W; a text answer the exact-match rate and the mean token F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from annotate.quality import concordance, kappa
from annotate.quality.alpha import Ints, Level, alpha_interval, krippendorff_alpha, pairable
from annotate.questions import PREFERENCE_SCALE, QuestionSpec

SCALE_KINDS = ("label", "rating", "preference")


class LabelColumns(Protocol):
    """What the report reads from the labels layer (annotate.labels.Labels has these)."""

    @property
    def example(self) -> Ints: ...
    @property
    def annotator(self) -> Ints: ...
    @property
    def code(self) -> Ints: ...
    @property
    def categories(self) -> list[Any]: ...


def report(spec: QuestionSpec, labels: LabelColumns, *, seed: int = 0) -> dict[str, Any]:
    """The agreement figures of one question. Cohen's kappas name annotators by id (``annotators``: [id, id])."""
    example, annotator = np.asarray(labels.example), np.asarray(labels.annotator)
    base = {
        "level": spec.level,
        "items": distinct_count(example),
        "annotators": distinct_count(annotator),
    }
    if spec.kind == "multi_label":
        return base | _multi_label(spec, labels, seed=seed)
    if spec.kind == "ranking":
        return base | _ranking(labels)
    if spec.kind == "text":
        return base | _text(labels)
    return base | _on_a_scale(spec, example, annotator, np.asarray(labels.code), labels.categories, seed=seed)


def distinct_count(values: Ints) -> int:
    """How many distinct ids: counted by runs when sorted (items, as the labels layer gives them), by a table of
    presence when the ids are small (people), else by sorting."""
    if len(values) == 0:
        return 0
    if np.all(values[1:] >= values[:-1]):
        return int(np.count_nonzero(values[1:] != values[:-1])) + 1
    if values.min() >= 0 and values.max() < 50_000_000:
        return int(np.count_nonzero(np.bincount(values)))
    return len(np.unique(values))


def scale_values(spec: QuestionSpec, categories: Sequence[Any]) -> npt.NDArray[np.float64] | None:
    """The value each category stands for on the question's declared scale (NaN for an answer off the scale), or
    None for a nominal question. Ratings are their own values; an ordered label is its place among the labels,
    counting from 1; a preference is A better (0), a tie (1), B better (2)."""
    if spec.level in (None, "nominal"):
        return None
    if spec.kind == "rating":
        return np.array([float(value) for value in categories])
    if spec.kind == "preference":
        return np.array([float(PREFERENCE_SCALE.get(value, np.nan)) for value in categories])
    places = {label: index + 1 for index, label in enumerate(spec.options["labels"])}
    return np.array([float(places.get(value, np.nan)) for value in categories])


def declared_size(spec: QuestionSpec) -> int:
    """How many answers the question's scale has (Gwet's q)."""
    if spec.kind == "rating":
        return int(spec.options["max"] - spec.options["min"] + 1)
    if spec.kind == "preference":
        return len(PREFERENCE_SCALE)
    if spec.kind in ("label", "multi_label"):
        return len(spec.options["labels"])
    return 0


def _on_a_scale(
    spec: QuestionSpec,
    example: Ints,
    annotator: Ints,
    code: Ints,
    categories: Sequence[Any],
    *,
    seed: int,
    n_categories: int | None = None,
) -> dict[str, Any]:
    level = cast(Level, spec.level or "nominal")
    values = scale_values(spec, categories)
    off_scale = 0
    if values is not None:
        # An answer no longer on the scale (the question was edited) has no place to measure distances from.
        on_scale = ~np.isnan(values[code]) if len(code) else np.zeros(0, dtype=bool)
        off_scale = int((~on_scale).sum())
        example, annotator, code = example[on_scale], annotator[on_scale], code[on_scale]
    counts = pairable(example, code, len(categories))
    alpha = krippendorff_alpha(counts, level, values if values is not None else None)
    interval = alpha_interval(counts, alpha, seed=seed)
    kappas = kappa.cohen_kappas(example, annotator, code, values)
    figures: dict[str, Any] = {
        "items_used": counts.units,
        "ratings": counts.ratings,
        "percent_agreement": kappa.percent_agreement(counts),
        "unanimous_share": kappa.unanimous_share(counts),
        "krippendorff_alpha": alpha.value,
        "alpha_interval": [interval.low, interval.high] if interval is not None else None,
        "alpha_interval_resamples": interval.resamples if interval is not None else None,
        "fleiss_kappa": kappa.fleiss_kappa(counts),
        "gwet_ac1": kappa.gwet_ac1(counts, n_categories or declared_size(spec) or len(categories)),
        "cohen_kappa": [
            {"annotators": [pair.first, pair.second], "items": pair.items, "kappa": pair.kappa} for pair in kappas
        ],
    }
    if off_scale:
        figures["ratings_off_scale"] = off_scale
    return figures


def _multi_label(spec: QuestionSpec, labels: LabelColumns, *, seed: int) -> dict[str, Any]:
    """Each label as its own yes/no question (chosen or not by each annotator), and the means over the labels."""
    yes_no = QuestionSpec(name=spec.name, kind="label", level="nominal", options={"labels": ["no", "yes"]})
    example, annotator, code = np.asarray(labels.example), np.asarray(labels.annotator), np.asarray(labels.code)
    per_label: dict[str, dict[str, Any]] = {}
    for label in spec.options["labels"]:
        chose = np.array([label in (answer or []) for answer in labels.categories], dtype=np.int64)
        chosen = chose[code] if len(code) else np.zeros(0, dtype=np.int64)
        per_label[label] = _on_a_scale(yes_no, example, annotator, chosen, ["no", "yes"], seed=seed, n_categories=2)
    figures: dict[str, Any] = {"labels": per_label}
    first = next(iter(per_label.values()), {})
    figures["items_used"] = first.get("items_used", 0)
    figures["ratings"] = first.get("ratings", 0)
    for name in ("percent_agreement", "unanimous_share", "krippendorff_alpha", "fleiss_kappa", "gwet_ac1"):
        figures[name] = _mean([figures_of[name] for figures_of in per_label.values()])
    figures["alpha_interval"] = None  # an interval per label, under "labels"; a mean of intervals is none
    figures["cohen_kappa"] = _mean_pair_kappas([figures_of["cohen_kappa"] for figures_of in per_label.values()])
    return figures


def _mean(values: Sequence[float | None]) -> float | None:
    defined = [value for value in values if value is not None]
    return float(np.mean(defined)) if defined else None


def _mean_pair_kappas(per_label: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per pair of annotators, the mean of their kappas over the labels where it is defined."""
    pairs: dict[tuple[int, int], tuple[int, list[float | None]]] = {}
    for entries in per_label:
        for entry in entries:
            key = (entry["annotators"][0], entry["annotators"][1])
            items, kappas = pairs.setdefault(key, (entry["items"], []))
            kappas.append(entry["kappa"])
    return [{"annotators": list(key), "items": items, "kappa": _mean(kappas)} for key, (items, kappas) in pairs.items()]


def _ranking(labels: LabelColumns) -> dict[str, Any]:
    example, code = np.asarray(labels.example), np.asarray(labels.code)
    counts = pairable(example, code, len(labels.categories))
    w, used = concordance.kendall_w(example, code, [list(ranking) for ranking in labels.categories])
    return {
        "items_used": counts.units,
        "ratings": counts.ratings,
        "kendall_w": w,
        "kendall_w_items": used,
        "percent_agreement": kappa.percent_agreement(counts),
        "unanimous_share": kappa.unanimous_share(counts),
    }


def _text(labels: LabelColumns) -> dict[str, Any]:
    example, code = np.asarray(labels.example), np.asarray(labels.code)
    counts = pairable(example, code, len(labels.categories))
    exact, similarity, used = concordance.text_agreement(example, code, [str(text) for text in labels.categories])
    return {
        "items_used": used,
        "ratings": counts.ratings,
        "exact_match_rate": exact,
        "mean_similarity": similarity,
    }
