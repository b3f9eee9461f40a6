"""Figures computed from a project's labels (agreement, annotators), cached until its labels change.

Computing them reads every current label of the project (at a million labels a second or more), so the figures
are cached per project under a *labels version*: a counter that every change to the project's labels moves on once
its transaction commits (``labels_changed``, called where labels are written: the summaries refresh and rebuild).
A request reads the version before it reads the labels, so a cached entry is never older than the key it is stored
under.

When the labels changed and the figures last took ``SLOW_SECONDS`` or more to compute (a large project), a request
gets the last figures at once, marked ``stale``, and one background job (curation.services.measure_jobs) computes
them again; ``fresh=True`` waits for new figures instead.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import orjson
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from annotate.models import Project

CACHE_SECONDS = 7 * 24 * 3600
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


def _computer(kind: str) -> Callable[[Project, dict[str, Any]], dict[str, Any]]:
    """What computes each kind of figures (imported here: those modules read their figures through this one)."""
    if kind == "agreement":
        from annotate.measures import compute_agreement

        return compute_agreement
    if kind == "annotators":
        from annotate.annotator_report import compute_annotators

        return compute_annotators
    raise ValueError(f"no figures of kind {kind!r}")


def _digest(project: Project, kind: str, params: dict[str, Any]) -> str:
    """The figures' identity: their kind, their parameters and the project's questions as they are now."""
    specs = [question.as_spec().as_dict() for question in project.questions.all()]
    return hashlib.sha256(orjson.dumps([kind, specs, params], option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _keys(project: Project, digest: str, version: int) -> tuple[str, str]:
    """The cache key of the figures for one labels version, and of the latest figures computed at all."""
    return f"figures:{project.pk}:{version}:{digest}", f"figures-latest:{project.pk}:{digest}"


def cached(project: Project, kind: str, params: dict[str, Any], *, fresh: bool = False) -> dict[str, Any]:
    """The figures, from the cache while the labels are unchanged (see the module's docstring)."""
    digest = _digest(project, kind, params)
    version = labels_version(project.pk)  # before the labels are read
    current_key, latest_key = _keys(project, digest, version)
    result: dict[str, Any] | None = cache.get(current_key)
    if result is None:
        latest = cache.get(latest_key)
        if latest is not None and latest["seconds"] >= SLOW_SECONDS and not fresh:
            from curation.services.measure_jobs import figures_refresh_schedule  # curation builds on annotate

            figures_refresh_schedule(project=project, kind=kind, params=params, digest=digest)
            result = latest | {"stale": True}
        else:
            result = measure_and_store(project, kind, params, version=version)
    return result


def measure_and_store(project: Project, kind: str, params: dict[str, Any], *, version: int) -> dict[str, Any]:
    """Compute the figures as of labels ``version`` (read before calling) and cache them under it, and as the
    latest figures of these parameters."""
    began = time.monotonic()
    result = _computer(kind)(project, params)
    seconds = time.monotonic() - began
    result |= {"labels_version": version, "computed_at": timezone.now().isoformat(), "seconds": round(seconds, 3)}
    current_key, latest_key = _keys(project, _digest(project, kind, params), version)
    cache.set(current_key, result, CACHE_SECONDS)
    cache.set(latest_key, result, CACHE_SECONDS)
    return result
