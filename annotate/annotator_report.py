"""Each annotator's figures on one question (API.md, ``annotators``): read through the labels layer, measured by the
pure kernels of annotate/quality/bias.py and consistency.py, named for people, and cached like the agreement
figures (annotate/measures.py) until the project's labels change.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
from django.contrib.auth import get_user_model
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import MD5

from annotate import figures, fingerprints, labels
from annotate.models import Example, Project, Question
from annotate.quality.agreement import scale_values
from annotate.quality.bias import BiasInput, annotator_bias
from annotate.quality.consistency import inconsistent_answers, preference_cycles

UNKNOWN = -1


def project_annotators(
    project: Project, question: Question, *, by: str | None = None, fresh: bool = False
) -> dict[str, Any]:
    """The annotators report of one question, optionally per value of the metadata key ``by``; cached, and stale
    while a job measures a large project again, as annotate.figures says (``fresh``: wait for new figures)."""
    return _named(figures.cached(project, "annotators", {"question": question.name, "by": by}, fresh=fresh))


def compute_annotators(project: Project, params: dict[str, Any]) -> dict[str, Any]:
    return _compute(project, project.questions.get(name=params["question"]), by=params["by"])


def _compute(project: Project, question: Question, *, by: str | None) -> dict[str, Any]:
    spec = question.as_spec()
    current = labels.load(project, [question], slice_by=by, with_shown_first=spec.kind == "preference")[spec.name]
    slice_codes, slice_values = _slices(current.slice)
    values = scale_values(spec, current.categories) if spec.kind in ("label", "rating", "preference") else None
    on_scale = np.ones(len(current), dtype=bool)
    if values is not None:
        on_scale = ~np.isnan(values[current.code]) if len(current) else on_scale
    rows = np.flatnonzero(on_scale)
    data = BiasInput(
        example=current.example[rows],
        annotator=current.annotator[rows],
        code=current.code[rows],
        n_categories=len(current.categories),
        submitted_at=current.submitted_at[rows],
        duration_ms=current.duration_ms[rows],
        positions=np.nan_to_num(values, nan=0.0) if values is not None else None,
        shown_left=_shown_left(current)[rows] if spec.kind == "preference" else None,
        tie_code=_code_of(current.categories, "tie") if spec.kind == "preference" else None,
        text_length=_text_lengths(current)[rows] if spec.kind == "text" else None,
        slice=slice_codes[rows] if slice_codes is not None else None,
    )
    report = annotator_bias(data)
    shown = [_shown(answer) for answer in current.categories]
    return {
        "question": spec.name,
        "by": by,
        "annotators": [_row(dataclasses.asdict(row), shown, slice_values) for row in report.annotators],
        "flags": [
            {"annotator": flag.annotator, "slice": _slice_value(flag.slice, slice_values), "kind": flag.kind}
            | {"detail": flag.detail}
            for flag in report.flags
        ],
        "fatigue": [dataclasses.asdict(entry) for entry in report.fatigue],
        "median_duration_ms": report.median_duration_ms,
        "fast_below_ms": report.fast_below_ms,
        "tests": report.tests,
        "consistency": _consistency(project, current, spec.kind, shown),
    }


def _slices(column: npt.NDArray[np.object_] | None) -> tuple[npt.NDArray[np.int64] | None, list[Any]]:
    return (None, []) if column is None else labels.slice_codes(column)


def _slice_value(code: int | None, values: list[Any]) -> Any:
    return None if code is None else values[code]


def _code_of(categories: list[Any], answer: Any) -> int | None:
    return categories.index(answer) if answer in categories else None


def _shown_left(current: labels.Labels) -> npt.NDArray[np.int64]:
    """Per label, the code of the answer that prefers the response shown on the left: "a" (responses[0]) when the
    page showed responses[0] first, "b" when it showed responses[1] first; unknown without a display order."""
    a, b = _code_of(current.categories, "a"), _code_of(current.categories, "b")
    first = current.shown_first if current.shown_first is not None else np.full(len(current), UNKNOWN)
    shown_left = np.full(len(current), UNKNOWN, dtype=np.int64)
    if a is not None:
        shown_left[first == 0] = a
    if b is not None:
        shown_left[first == 1] = b
    return shown_left


def _text_lengths(current: labels.Labels) -> npt.NDArray[np.float64]:
    lengths = np.array([len(str(answer)) for answer in current.categories], dtype=np.float64)
    return lengths[current.code] if len(current) else np.zeros(0)


def _shown(answer: Any) -> str:
    """An answer as a key of the label distribution (lists and numbers as JSON)."""
    return answer if isinstance(answer, str) else orjson.dumps(answer).decode()


def _row(row: dict[str, Any], shown: list[str], slice_values: list[Any]) -> dict[str, Any]:
    for name in ("label_distribution", "others_distribution"):
        if row[name] is not None:
            row[name] = {shown[code]: share for code, share in enumerate(row[name]) if share}
    row["slice"] = _slice_value(row["slice"], slice_values)
    return row


def _consistency(project: Project, current: labels.Labels, kind: str, shown: list[str]) -> dict[str, Any]:
    """An annotator who answered the same item twice differently (examples whose content is the same once
    normalised: their fingerprints, annotate/fingerprints.py), and circular preferences among the responses to one
    prompt (prompts and responses compared exactly, by digests computed in the database)."""
    if len(current) == 0 or kind == "text":
        return {"inconsistent": [], "cycles": []}
    example_ids = np.unique(current.example)
    hashes = fingerprints.normalized_hashes(project, example_ids)
    item = _numbered(pd.Series(hashes, dtype=object).reindex(current.example).to_numpy())
    inconsistent = [
        {
            "annotator": entry.annotator,
            "examples": entry.examples,
            "answers": [shown[code] for code in entry.answers],
        }
        for entry in inconsistent_answers(
            example=current.example, annotator=current.annotator, code=current.code, prompt=item
        )
    ]
    cycles: list[dict[str, Any]] = []
    if kind == "preference":
        digests = pd.DataFrame(
            _example_rows(
                project,
                example_ids,
                prompt_digest=MD5(KeyTextTransform("prompt", "content")),
                first_digest=MD5(KeyTextTransform("0", KeyTransform("responses", "content"))),
                second_digest=MD5(KeyTextTransform("1", KeyTransform("responses", "content"))),
            ),
            columns=["pk", "prompt", "first", "second"],
            dtype=object,
        ).set_index("pk")
        found = digests.reindex(current.example)  # a row per label
        # One numbering for both sides: a response is the same one whether it was shown as a or as b.
        responses = _numbered(np.concatenate([found["first"].to_numpy(), found["second"].to_numpy()]))
        found_cycles = preference_cycles(
            example=current.example,
            annotator=current.annotator,
            prompt=_numbered(found["prompt"].to_numpy()),
            response_a=responses[: len(found)],
            response_b=responses[len(found) :],
            answer=current.code,
        )
        prompts = dict(
            Example.objects.filter(pk__in=[entry.examples[0] for entry in found_cycles])
            .annotate(prompt_text=KeyTextTransform("prompt", "content"))
            .values_list("pk", "prompt_text")
        )
        cycles = [
            {
                "annotator": entry.annotator,
                "prompt": (prompts.get(entry.examples[0]) or "")[:300],
                "examples": entry.examples,
            }
            for entry in found_cycles
        ]
    return {"inconsistent": inconsistent, "cycles": cycles}


def _numbered(keys: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    """The keys as ints (equal keys, equal ints; None or NaN unknown)."""
    codes, _ = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=True)
    return np.where(codes >= 0, codes, UNKNOWN).astype(np.int64)


def _example_rows(project: Project, example_ids: npt.NDArray[np.int64], *fields: str, **computed: Any) -> Any:
    """(pk, …) of the project's examples among these ids: by a list of ids when they are few, else the whole
    project (a list of a hundred thousand ids would cost more than the rows it saves)."""
    rows = Example.objects.for_project(project)
    if len(example_ids) <= 1000:
        rows = rows.filter(pk__in=example_ids.tolist())
    wanted = set(example_ids.tolist())
    names = [*fields, *computed]
    chunks = labels.raw_chunks(rows.annotate(**computed).values_list("pk", *names))
    return (row for chunk in chunks for row in chunk if row[0] in wanted)


def _named(result: dict[str, Any]) -> dict[str, Any]:
    """The report with annotators named by username."""
    ids = {row["annotator"] for row in result["annotators"]}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))

    def name(entry: dict[str, Any]) -> dict[str, Any]:
        return entry | {"annotator": names.get(entry["annotator"], str(entry["annotator"]))}

    consistency = result["consistency"]
    return result | {
        "annotators": [name(row) for row in result["annotators"]],
        "flags": [name(flag) for flag in result["flags"]],
        "fatigue": [name(entry) for entry in result["fatigue"]],
        "consistency": {
            "inconsistent": [name(entry) for entry in consistency["inconsistent"]],
            "cycles": [name(entry) for entry in consistency["cycles"]],
        },
    }
