"""Each example's settled answer to a question, as the curation pipeline and export read it: the reviewer's or
the consensus resolution where there is one, else the majority of the current labels (or, for a score, their
mean). Read through the labels layer, like every other use of labels."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from annotate import labels
from annotate.models import Project, Question, Resolution


def _questions(project_id: int, names: Sequence[str]) -> list[Question]:
    return list(Question.objects.filter(project_id=project_id, name__in=list(names)).order_by("position", "pk"))


def _resolutions(project_id: int, question: Question, examples: Iterable[int] | None) -> dict[int, Any]:
    rows = Resolution.objects.filter(project_id=project_id, question=question)
    if examples is not None:
        rows = rows.filter(example_id__in=[int(e) for e in examples])
    return dict(rows.values_list("example_id", "value"))


def _frame(current: labels.Labels) -> pd.DataFrame:
    return pd.DataFrame({"example": current.example, "code": current.code})


def label_context(project_id: int, names: Sequence[str], examples: np.ndarray) -> dict[int, dict[str, Any]]:
    """For the filter rules on labels: by example id, by question name, ``{"value", "agreement", "source"}``.

    ``value`` is the resolution, else the answer most annotators gave (None on a tie); ``agreement`` is the share
    of pairs of the example's annotators who gave the same answer (None with fewer than two labels); ``source`` is
    ``resolution`` or ``majority``. Examples with neither are absent."""
    project = Project.objects.get(pk=project_id)
    questions = _questions(project_id, names)
    ids = [int(e) for e in examples]
    loaded = labels.load(project, questions, examples=ids, with_times=False) if questions else {}
    context: dict[int, dict[str, Any]] = {}
    for question in questions:
        resolved = _resolutions(project_id, question, ids)
        current = loaded.get(question.name)
        if current is not None and len(current):
            for example, value, agreement in _majorities(current):
                context.setdefault(example, {})[question.name] = {
                    "value": value,
                    "agreement": agreement,
                    "source": "majority",
                }
        for example, value in resolved.items():
            entry = context.setdefault(int(example), {}).setdefault(question.name, {"agreement": None})
            entry.update(value=value, source="resolution")
    return context


def _majorities(current: labels.Labels) -> Iterator[tuple[int, Any, float | None]]:
    """Per example: the answer most of its labels gave (None on a tie) and the share of agreeing pairs (None with
    fewer than two labels), counted in pandas for every example at once."""
    counts = _frame(current).groupby(["example", "code"]).size().rename("n").reset_index()
    per_example = counts.groupby("example")["n"]
    counts["total"] = per_example.transform("sum")
    counts["top"] = per_example.transform("max")
    counts["pairs"] = counts["n"] * (counts["n"] - 1)
    winners = counts[counts["n"] == counts["top"]]
    single = winners.groupby("example")["code"].agg(["first", "size"])
    totals = counts.groupby("example").agg(total=("total", "first"), pairs=("pairs", "sum"))
    for example, code, size, total, pairs in zip(
        single.index, single["first"], single["size"], totals.loc[single.index, "total"],
        totals.loc[single.index, "pairs"], strict=True,
    ):  # fmt: skip
        value = current.categories[int(code)] if size == 1 else None
        agreement = float(pairs / (total * (total - 1))) if total >= 2 else None
        yield int(example), value, agreement


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def scores(project_id: int, name: str, examples: Iterable[int] | None = None) -> dict[int, float]:
    """Each example's score on a rating question: the resolution, else the mean of the current labels."""
    project = Project.objects.get(pk=project_id)
    questions = _questions(project_id, [name])
    if not questions:
        return {}
    question = questions[0]
    ids = None if examples is None else [int(e) for e in examples]
    current = labels.load(project, [question], examples=ids, with_times=False).get(question.name)
    result: dict[int, float] = {}
    if current is not None and len(current):
        numbers = np.array([_number(c) if _number(c) is not None else np.nan for c in current.categories])
        values = numbers[current.code]
        frame = pd.DataFrame({"example": current.example, "value": values}).dropna()
        for example, mean in frame.groupby("example")["value"].mean().items():
            result[cast(int, example)] = float(mean)
    for example, value in _resolutions(project_id, question, ids).items():
        number = _number(value)
        if number is not None:
            result[int(example)] = number
    return result
