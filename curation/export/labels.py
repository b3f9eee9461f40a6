"""Each example's settled label for an export, read through the labels layer (annotate.labels), with the reason
an example has none.

``mode``: ``auto`` (the default, as API.md says) takes the resolution where there is one, else what the
annotators said: the majority answer of a preference question, the mean score of a rating question. ``gold``
takes resolutions only; ``majority`` ignores them. ``min_annotations`` and ``min_agreement`` apply to labels
settled from annotators (a reviewer's resolution is gold however few labels it settled). ``zscore`` (rating
questions) first puts each annotator's scores on a common footing, (score − their mean) / their deviation, and
maps the mean of those back onto the question's scale (× the deviation of all labels + their mean): lenient and
severe annotators then count alike, and a resolved score stays comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate import labels as labels_layer
from annotate.models import Project, Question, Resolution

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
MODES = ("auto", "gold", "majority")
PREFERENCE_CODES = {"a": 0, "b": 1, "tie": 2}
PREFERENCE_VALUES = ("a", "b", "tie")

# Why an example has no usable label (0: it has one). The names are the skip reasons an export reports.
USABLE, NO_LABEL, TIE, TOO_FEW, LOW_AGREEMENT = 0, 1, 2, 3, 4
REASONS = {NO_LABEL: "no_label", TIE: "tie", TOO_FEW: "too_few_annotations", LOW_AGREEMENT: "low_agreement"}
REASON_TEXT = {
    "no_label": "the example has no label for the question (no resolution, or no annotation)",
    "tie": "the annotators' answers tie, and no reviewer resolved it",
    "too_few_annotations": "fewer annotations than min_annotations",
    "low_agreement": "the annotators agree less than min_agreement",
}


@dataclass(frozen=True)
class LabelRules:
    question: Question
    mode: str = "auto"
    min_annotations: int = 1
    min_agreement: float = 0.0
    zscore: bool = False


@dataclass
class Settled:
    """Settled labels of the examples that have any, by example id (ascending). ``value`` holds a preference code
    (PREFERENCE_CODES) or a score; ``reason`` is USABLE or why the label can't be used."""

    kind: str
    ids: I64
    value: F64
    reason: npt.NDArray[np.int8]
    source: npt.NDArray[np.int8]  # 1: resolution, 0: annotators
    guideline_versions: list[int] = field(default_factory=list)
    annotations: int = 0
    resolutions: int = 0

    def lookup(self, example_ids: I64) -> tuple[F64, npt.NDArray[np.int8]]:
        """The value and reason for each of these example ids (NO_LABEL where there is none)."""
        values = np.full(example_ids.size, np.nan)
        reasons = np.full(example_ids.size, NO_LABEL, dtype=np.int8)
        if self.ids.size and example_ids.size:
            at = np.searchsorted(self.ids, example_ids)
            at_ok = np.minimum(at, self.ids.size - 1)
            found = self.ids[at_ok] == example_ids
            values[found] = self.value[at_ok[found]]
            reasons[found] = self.reason[at_ok[found]]
        return values, reasons


def settle(project: Project, rules: LabelRules, *, members: I64) -> Settled:
    """Settle the labels of ``members`` (the version's example ids, ascending)."""
    question = rules.question
    current = labels_layer.load(project, [question], with_times=False).get(question.name)
    resolved = _resolutions(project, question, members)
    kind = question.kind
    frame = _frame(current, members, kind, rules.zscore)
    from_annotators = _from_annotators(frame, kind, rules) if rules.mode != "gold" else _empty()
    ids, value, reason, source = _combine(from_annotators, resolved, rules.mode, kind)
    used = frame[frame["example"].isin(ids[(source == 0) & (reason == USABLE)])] if len(frame) else frame
    versions = set(used["guideline_version"].tolist()) if len(used) else set()
    return Settled(
        kind=kind,
        ids=ids,
        value=value,
        reason=reason,
        source=source,
        guideline_versions=sorted(int(v) for v in versions),
        annotations=len(used),
        resolutions=int(((source == 1) & (reason == USABLE)).sum()),
    )


def _resolutions(project: Project, question: Question, members: I64) -> dict[int, float]:
    rows = Resolution.objects.filter(project=project, question=question).values_list("example_id", "value")
    wanted = set(members.tolist()) if members.size < 50_000 else None
    numbers: dict[int, float] = {}
    for example, value in rows.iterator(chunk_size=10_000):
        if wanted is not None and example not in wanted:
            continue
        number = _code(question.kind, value)
        if number is not None:
            numbers[int(example)] = number
    if wanted is None and numbers:
        keep = np.isin(np.fromiter(numbers, dtype=np.int64), members)
        numbers = {e: v for (e, v), k in zip(numbers.items(), keep, strict=True) if k}
    return numbers


def _code(kind: str, value: object) -> float | None:
    if kind == "preference":
        return float(PREFERENCE_CODES[value]) if isinstance(value, str) and value in PREFERENCE_CODES else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _frame(current: labels_layer.Labels | None, members: I64, kind: str, zscore: bool) -> pd.DataFrame:
    """One row per current label of a member: example, annotator, guideline version and the value's number."""
    columns = ["example", "annotator", "guideline_version", "value"]
    if current is None or not len(current.example):
        return pd.DataFrame({name: np.array([], dtype=np.float64) for name in columns})
    numbers = np.array([_code(kind, c) if _code(kind, c) is not None else np.nan for c in current.categories])
    frame = pd.DataFrame(
        {
            "example": current.example,
            "annotator": current.annotator,
            "guideline_version": current.guideline_version,
            "value": numbers[current.code] if numbers.size else np.array([], dtype=np.float64),
        }
    )
    frame = frame[frame["example"].isin(members) & frame["value"].notna()]
    if zscore and kind == "rating" and len(frame):
        frame = frame.assign(value=_zscored(frame))
    return frame


def _zscored(frame: pd.DataFrame) -> pd.Series:
    """Each label as (value − its annotator's mean) / their deviation, mapped back onto the labels' own scale. An
    annotator who always gives the same score (no deviation) says nothing about differences: their labels count
    as their scale's middle, the overall mean."""
    by_annotator = frame.groupby("annotator")["value"]
    mean, deviation = by_annotator.transform("mean"), by_annotator.transform("std", ddof=0)
    z = ((frame["value"] - mean) / deviation.where(deviation > 0)).fillna(0.0)
    overall_mean, overall_deviation = float(frame["value"].mean()), float(frame["value"].std(ddof=0))
    return overall_mean + z * overall_deviation


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"value": [], "reason": [], "n": []}, index=pd.Index([], dtype=np.int64, name="example"))


def _from_annotators(frame: pd.DataFrame, kind: str, rules: LabelRules) -> pd.DataFrame:
    """Per example: the annotators' settled value, how many labels, and why it can't be used (if so)."""
    if not len(frame):
        return _empty()
    counts = frame.groupby(["example", "value"]).size().rename("n").reset_index()
    per_example = counts.groupby("example")["n"]
    total = per_example.sum()
    pairs = (counts["n"] * (counts["n"] - 1)).groupby(counts["example"]).sum()
    agreement = (pairs / (total * (total - 1))).where(total >= 2, 1.0)
    if kind == "preference":
        top = counts[counts["n"] == per_example.transform("max")]
        winners = top.groupby("example")["value"].agg(["first", "size"])
        value = winners["first"].where(winners["size"] == 1, float(PREFERENCE_CODES["tie"]))
        tie = (winners["size"] > 1) | (winners["first"] == PREFERENCE_CODES["tie"])
    else:
        value = frame.groupby("example")["value"].mean()
        tie = pd.Series(False, index=value.index)
    result = pd.DataFrame({"value": value, "n": total})
    reason = np.where(tie.reindex(result.index, fill_value=False), TIE, USABLE)
    reason = np.where(result["n"] < rules.min_annotations, TOO_FEW, reason)
    low = agreement.reindex(result.index).to_numpy() < rules.min_agreement
    reason = np.where((reason == USABLE) & low, LOW_AGREEMENT, reason)
    result["reason"] = reason.astype(np.int8)
    return result


def _combine(
    annotators: pd.DataFrame, resolved: dict[int, float], mode: str, kind: str
) -> tuple[I64, F64, npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    table = annotators[["value", "reason"]].copy()
    table["source"] = np.int8(0)
    if mode != "majority" and resolved:
        gold = pd.DataFrame(
            {"value": list(resolved.values()), "reason": np.int8(USABLE), "source": np.int8(1)},
            index=pd.Index(list(resolved), dtype=np.int64, name="example"),
        )
        if kind == "preference":  # a resolved tie is still a tie: nothing to prefer
            gold.loc[gold["value"] == PREFERENCE_CODES["tie"], "reason"] = np.int8(TIE)
        table = pd.concat([table[~table.index.isin(gold.index)], gold])
    table = table.sort_index()
    return (
        table.index.to_numpy(dtype=np.int64),
        table["value"].to_numpy(dtype=np.float64),
        table["reason"].to_numpy(dtype=np.int8),
        table["source"].to_numpy(dtype=np.int8),
    )
