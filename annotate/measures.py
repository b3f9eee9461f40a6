"""A project's agreement figures, read through the labels layer, cached by annotate.figures until its labels change.
Annotator ids are turned into usernames when a result is served, not when it is cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from django.contrib.auth import get_user_model

from annotate import figures as cached_figures
from annotate import labels
from annotate.models import Project, Question
from annotate.quality.agreement import report
from annotate.questions import QuestionSpec

MAX_SLICES = 50  # the slices with the most labelled items; the rest are counted, not measured


@dataclass(frozen=True)
class Rows:
    """A subset of one question's label columns, for the pure report."""

    example: npt.NDArray[np.int64]
    annotator: npt.NDArray[np.int64]
    code: npt.NDArray[np.int64]
    categories: list[Any]


def _subset(columns: labels.Labels, keep: npt.NDArray[np.bool_]) -> Rows:
    return Rows(columns.example[keep], columns.annotator[keep], columns.code[keep], columns.categories)


def _whole(columns: labels.Labels) -> Rows:
    return Rows(columns.example, columns.annotator, columns.code, columns.categories)


def _reports(specs: dict[str, QuestionSpec], rows: dict[str, Rows]) -> dict[str, Any]:
    return {name: report(specs[name], rows[name]) for name in specs}


def project_agreement(
    project: Project,
    *,
    by: str | None = None,
    guideline_version: int | None = None,
    by_guideline_version: bool = False,
    fresh: bool = False,
) -> dict[str, Any]:
    """Every question's agreement (API.md, Agreement): over all current labels, or only those made under one
    guideline version; with ``by``, also per value of that metadata key; with ``by_guideline_version``, also per
    guideline version the labels were made under (did a guideline change raise agreement?). Cached, and stale
    while a job measures a large project again, as annotate.figures says (``fresh``: wait for new figures)."""
    params = {"by": by, "guideline_version": guideline_version, "by_guideline_version": by_guideline_version}
    return _with_usernames(cached_figures.cached(project, "agreement", params, fresh=fresh))


def compute_agreement(project: Project, params: dict[str, Any]) -> dict[str, Any]:
    return _compute(project, list(project.questions.all()), **params)


def _compute(
    project: Project,
    questions: list[Question],
    *,
    by: str | None,
    guideline_version: int | None,
    by_guideline_version: bool,
) -> dict[str, Any]:
    specs = {question.name: question.as_spec() for question in questions}
    current = labels.load(project, questions, guideline_version=guideline_version, slice_by=by, with_times=False)
    result: dict[str, Any] = {"questions": _reports(specs, {name: _whole(c) for name, c in current.items()})}
    if guideline_version is not None:
        result["guideline_version"] = guideline_version
    if by is not None:
        result["by"] = by
        result.update(_slices(specs, current))
    if by_guideline_version:
        versions = sorted({int(v) for columns in current.values() for v in np.unique(columns.guideline_version)})
        result["guideline_versions"] = [
            {
                "version": version,
                "questions": _reports(
                    specs, {name: _subset(c, c.guideline_version == version) for name, c in current.items()}
                ),
            }
            for version in versions
        ]
    return result


def _slices(specs: dict[str, QuestionSpec], current: dict[str, labels.Labels]) -> dict[str, Any]:
    """Figures per value of the slicing key, the values with the most labelled examples first."""
    names = list(current)
    columns = [column for name in names if (column := current[name].slice) is not None]
    codes, values = labels.slice_codes(np.concatenate(columns) if columns else np.zeros(0, dtype=object))
    examples = np.concatenate([current[name].example for name in names]) if names else np.zeros(0, dtype=np.int64)
    pairs = pd.DataFrame({"code": codes, "example": examples}).drop_duplicates()
    slice_code, labelled = np.unique(pairs["code"].to_numpy(), return_counts=True)  # examples labelled per value
    count = {int(code): int(n) for code, n in zip(slice_code, labelled, strict=True)}
    ranked = sorted(count, key=lambda code: (-count[code], values[code] is None, str(values[code])))
    by_question = dict(zip(names, np.split(codes, np.cumsum([len(current[name]) for name in names])[:-1]), strict=True))
    slices = []
    for code in ranked[:MAX_SLICES]:
        rows = {name: _subset(current[name], by_question[name] == code) for name in names}
        slices.append({"value": values[code], "examples": count[code], "questions": _reports(specs, rows)})
    return {"slices": slices, "slices_not_shown": max(0, len(ranked) - MAX_SLICES)}


def _with_usernames(result: dict[str, Any]) -> dict[str, Any]:
    """A copy of the figures with each Cohen's kappa pair named by username."""
    ids: set[int] = set()
    for figures in _question_figures(result):
        ids.update(i for pair in figures.get("cohen_kappa", ()) for i in pair["annotators"])
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))

    def renamed(figures: dict[str, Any]) -> dict[str, Any]:
        if "cohen_kappa" not in figures:
            return figures
        pairs = [
            pair | {"annotators": [names.get(i, str(i)) for i in pair["annotators"]]} for pair in figures["cohen_kappa"]
        ]
        figures = figures | {"cohen_kappa": pairs}
        if "labels" in figures:  # a multi_label question's labels, each measured as its own question
            figures["labels"] = {label: renamed(each) for label, each in figures["labels"].items()}
        return figures

    def questions(block: dict[str, Any]) -> dict[str, Any]:
        return {name: renamed(figures) for name, figures in block.items()}

    named = result | {"questions": questions(result["questions"])}
    if "slices" in result:
        named["slices"] = [entry | {"questions": questions(entry["questions"])} for entry in result["slices"]]
    if "guideline_versions" in result:
        named["guideline_versions"] = [
            entry | {"questions": questions(entry["questions"])} for entry in result["guideline_versions"]
        ]
    return named


def _question_figures(result: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for block in (result, *result.get("slices", ()), *result.get("guideline_versions", ())):
        for figures in block["questions"].values():
            yield figures
            yield from figures.get("labels", {}).values()
