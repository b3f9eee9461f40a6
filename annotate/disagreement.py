"""How much the annotators of one example disagree on one question, and what most of them said. Pure Python.

Nominal questions: 1 − the share of annotator pairs that gave the same answer. Ordinal, interval and ratio
questions: the spread of the answers (highest − lowest) as a share of the scale. Rankings: the mean normalised
Kendall distance between pairs of rankings. 0 is full agreement, 1 the most disagreement there can be.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from itertools import combinations
from typing import Any

from annotate.questions import QuestionSpec

PREFERENCE_SCALE = {"a": 0, "tie": 1, "b": 2}


def comparable(value: Any) -> Hashable:
    """A hashable stand-in for an answer, equal exactly when the answers are the same."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _scale(spec: QuestionSpec, value: Any) -> tuple[float, float]:
    """An ordered answer as (position, span of the scale)."""
    if spec.kind == "rating":
        return float(value - spec.options["min"]), float(spec.options["max"] - spec.options["min"])
    if spec.kind == "label":
        labels = spec.options["labels"]
        return float(labels.index(value)), float(len(labels) - 1)
    if spec.kind == "preference":
        return float(PREFERENCE_SCALE[value]), 2.0
    raise ValueError(f"{spec.kind} answers have no scale")


def _kendall_distance(first: Sequence[int], second: Sequence[int]) -> float:
    position = {item: index for index, item in enumerate(second)}
    pairs = list(combinations(first, 2))
    if not pairs:
        return 0.0
    discordant = sum(1 for x, y in pairs if position[x] > position[y])
    return discordant / len(pairs)


def disagreement(spec: QuestionSpec, values: Sequence[Any]) -> float:
    """0..1 for two or more answers; 0 for fewer."""
    answers = [value for value in values if value is not None]
    if len(answers) < 2:
        return 0.0
    if spec.kind == "ranking":
        distances = [_kendall_distance(a, b) for a, b in combinations(answers, 2)]
        return sum(distances) / len(distances)
    if spec.level in (None, "nominal") or spec.kind in ("multi_label", "text"):
        keys = [comparable(value) for value in answers]
        pairs = len(keys) * (len(keys) - 1) / 2
        agreeing = sum(count * (count - 1) / 2 for count in Counter(keys).values())
        return 1.0 - agreeing / pairs
    positions = [_scale(spec, value) for value in answers]
    span = positions[0][1]
    if span == 0:
        return 0.0
    low, high = min(p for p, _ in positions), max(p for p, _ in positions)
    return (high - low) / span


def consensus(values: Sequence[Any]) -> tuple[Any, float]:
    """The most common answer and the share of annotators who gave it (ties: the answer given first)."""
    answers = [value for value in values if value is not None]
    if not answers:
        return None, 0.0
    counts = Counter(comparable(value) for value in answers)
    best_key, best_count = counts.most_common(1)[0]
    for value in answers:
        if comparable(value) == best_key:
            return value, best_count / len(answers)
    raise AssertionError("unreachable")
