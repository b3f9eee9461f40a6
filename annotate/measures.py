"""A project's agreement figures, read through the labels layer and cached until its labels change.

Computing them reads every current label of the project (a million at most a second or two), so the figures are
cached per project under a *labels version*: a counter that every change to the project's labels moves on once its
transaction commits (``labels_changed``, called where labels are written: the summaries refresh and rebuild). A
request reads the version before it reads the labels, so a cached entry is never older than the key it is stored
under. Annotator ids are turned into usernames when a result is served, not when it is cached.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from annotate import labels
from annotate.models import Project, Question
from annotate.quality.agreement import report
from annotate.questions import QuestionSpec

CACHE_SECONDS = 7 * 24 * 3600
MAX_SLICES = 50  # the slices with the most labelled items; the rest are counted, not measured
# A project whose figures took this long to compute is measured again by a background job when its labels change;
# meanwhile requests get the last figures, marked stale (``fresh=True`` waits for new ones instead).
SLOW_SECONDS = 1.0


def labels_changed(project_id: int) -> None:
    """Mark the project's cached figures stale once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _bump(project_id))


def _version_key(project_id: int) -> str:
    return f"labels-version:{project_id}"


def _bump(project_id: int) -> None:
    key = _version_key(project_id)
    try:
        cache.incr(key)  # one round trip: this runs after every submit
    except ValueError:  # never set, or evicted
        if not cache.add(key, _fresh_version(), timeout=None):
            cache.incr(key)


def labels_version(project_id: int) -> int:
    version = cache.get(_version_key(project_id))
    if version is None:
        cache.add(_version_key(project_id), _fresh_version(), timeout=None)
        version = cache.get(_version_key(project_id), 0)
    return int(version)


def _fresh_version() -> int:
    """A version to start from that no earlier one of the project can equal (the clock in nanoseconds), so that a
    counter lost from the cache never makes old cached figures look current."""
    return time.time_ns()


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


def _digest(questions: Iterable[Question], params: dict[str, Any]) -> str:
    specs = [question.as_spec().as_dict() for question in questions]
    return hashlib.sha256(orjson.dumps([specs, params], option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _keys(project: Project, digest: str, version: int) -> tuple[str, str]:
    """The cache key of the figures for one labels version, and of the latest figures computed at all."""
    return f"agreement:{project.pk}:{version}:{digest}", f"agreement-latest:{project.pk}:{digest}"


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
    guideline version the labels were made under (did a guideline change raise agreement?).

    Served from the cache while the labels are unchanged. When they changed and the last computation was slow
    (a large project), the last figures are served marked ``stale`` and a background job measures again, unless
    ``fresh``."""
    questions = list(project.questions.all())
    params = {"by": by, "guideline_version": guideline_version, "by_guideline_version": by_guideline_version}
    digest = _digest(questions, params)
    version = labels_version(project.pk)  # read before the labels, so an entry is never older than its key
    current_key, latest_key = _keys(project, digest, version)
    result = cache.get(current_key)
    if result is None:
        latest = cache.get(latest_key)
        if latest is not None and latest["seconds"] >= SLOW_SECONDS and not fresh:
            from curation.services.measure_jobs import agreement_refresh_schedule  # curation builds on annotate

            agreement_refresh_schedule(project=project, params=params, digest=digest)
            result = latest | {"stale": True}
        else:
            result = measure_and_store(project, params, version=version)
    return _with_usernames(result)


def measure_and_store(project: Project, params: dict[str, Any], *, version: int) -> dict[str, Any]:
    """Compute the figures as of labels ``version`` (read before calling) and cache them under it, and as the
    latest figures of these parameters."""
    questions = list(project.questions.all())
    began = time.monotonic()
    result = _compute(project, questions, **params)
    seconds = time.monotonic() - began
    result |= {"labels_version": version, "computed_at": timezone.now().isoformat(), "seconds": round(seconds, 3)}
    current_key, latest_key = _keys(project, _digest(questions, params), version)
    cache.set(current_key, result, CACHE_SECONDS)
    cache.set(latest_key, result, CACHE_SECONDS)
    return result


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
    items: dict[str | None, set[int]] = {}
    for columns in current.values():
        assert columns.slice is not None
        for value, example in zip(columns.slice.tolist(), columns.example.tolist(), strict=True):
            items.setdefault(value, set()).add(example)
    ranked = sorted(items, key=lambda value: (-len(items[value]), value is None, str(value)))
    slices = []
    for value in ranked[:MAX_SLICES]:
        rows = {name: _subset(columns, _equal(columns.slice, value)) for name, columns in current.items()}
        slices.append({"value": value, "examples": len(items[value]), "questions": _reports(specs, rows)})
    return {"slices": slices, "slices_not_shown": max(0, len(ranked) - MAX_SLICES)}


def _equal(values: npt.NDArray[np.object_] | None, wanted: str | None) -> npt.NDArray[np.bool_]:
    assert values is not None
    return np.fromiter((value == wanted for value in values), dtype=bool, count=len(values))


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
