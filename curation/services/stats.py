"""The inspection statistics of a version or a whole project (curation/stats): reading the request, serving stored
statistics, computing small ones in the request and large ones in a job.

A version or project of at most ``WINNOW_STATS_INLINE_MAX`` examples is measured in the request; a larger one by
a ``stats`` job, at most one at a time per version (or project) and slice key. Either way the result is stored
(``VersionStats``): a version's statistics never go stale (versions never change), a project's are measured again
once its number of examples changed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotate import metadata
from annotate.models import Example, Project
from curation import stats as inspection
from curation.models import DatasetVersion, Job, Removal, VersionStats
from curation.pipeline import store
from curation.services.jobs import job_enqueue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TARGET_PREFIX = "target."
MAX_TARGETS = 100
RETRY_AFTER_SECONDS = 300
Progress = Callable[[int, int, str], None]


class StatsRequestError(ValueError):
    """A query parameter is wrong; ``param`` names it. ``code`` ``not_found``: a version the user may not see."""

    def __init__(self, message: str, *, param: str, code: str = "invalid"):
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


class StatsStopped(Exception):
    """The job was cancelled or taken from this worker: stop, and store nothing."""


@dataclass(frozen=True)
class StatsQuery:
    """What a request asks for: a slice key, a version to compare with, and coverage targets of a key."""

    slice_key: str | None = None
    compare: DatasetVersion | None = None
    coverage_key: str | None = None
    targets: dict[str, float] = field(default_factory=dict)


def _key(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "")
    if not value:
        return None
    if not metadata.filterable_key(value):
        raise StatsRequestError(f"{name}: {value[:100]!r} is not a metadata key.", param=name)
    return value


def stats_query(params: Mapping[str, str], *, project: Project) -> StatsQuery:
    """The request's query (``slice``, ``compare``, ``coverage`` and ``target.<value>`` parameters) checked;
    ``StatsRequestError`` names the first wrong parameter. ``compare`` must be a ready version of ``project``:
    any other id is "no such version", whether it exists elsewhere or not."""
    slice_key = _key(params, "slice")
    coverage_key = _key(params, "coverage")
    compared = None
    if raw := params.get("compare"):
        try:
            compare_id = int(raw)
        except ValueError:
            raise StatsRequestError("compare: must be a version id (an integer).", param="compare") from None
        compared = DatasetVersion.objects.ready().filter(pk=compare_id, project=project).first()
        if compared is None:
            raise StatsRequestError("No such version to compare with.", param="compare", code="not_found")
    targets: dict[str, float] = {}
    for name, raw_share in params.items():
        if not name.startswith(TARGET_PREFIX):
            continue
        value = name[len(TARGET_PREFIX) :]
        if not value or "\x00" in value:
            raise StatsRequestError(f"{name}: name a metadata value after 'target.'.", param=name)
        try:
            share = float(raw_share)
        except ValueError:
            share = math.nan
        if not math.isfinite(share) or not 0 <= share <= 1:
            raise StatsRequestError(f"{name}: a target share is a number from 0 to 1.", param=name)
        targets[value] = share
    if len(targets) > MAX_TARGETS:
        raise StatsRequestError(f"target: at most {MAX_TARGETS} targets.", param="target")
    if targets and coverage_key is None:
        raise StatsRequestError("coverage: name the metadata key the targets are values of.", param="coverage")
    if coverage_key is not None and not targets:
        raise StatsRequestError("target: give at least one target.<value>=<share>.", param="target")
    if sum(targets.values()) > 1 + 1e-9:
        raise StatsRequestError(
            f"target: the target shares add up to {sum(targets.values()):g}, more than 1.", param="target"
        )
    return StatsQuery(slice_key=slice_key, compare=compared, coverage_key=coverage_key, targets=targets)


# --- measuring -------------------------------------------------------------------------------------------------


def example_count(project: Project, version: DatasetVersion | None) -> int:
    if version is not None:
        kept = (version.counts or {}).get("kept")
        return int(kept) if isinstance(kept, int) else version.members.count()
    return Example.objects.filter(project=project).count()


def duplicate_sizes(version: DatasetVersion) -> dict[int, int] | None:
    """The removed-duplicate clusters of the version's lineage by the example each kept (None when no dedup step
    ran in the lineage)."""
    lineage = version.lineage()
    if not any(isinstance(s, dict) and s.get("op") == "dedup" for v in lineage for s in v.steps):
        return None
    pairs = (
        Removal.objects.filter(version__in=[v.pk for v in lineage], rule__startswith="dedup.")
        .values_list("example_id", "detail__duplicate_of")
        .iterator(chunk_size=50_000)
    )
    return inspection.removal_clusters((removed, kept) for removed, kept in pairs if isinstance(kept, int))


def stats_compute(
    *, project: Project, version: DatasetVersion | None, slice_key: str | None, progress: Progress | None = None
) -> tuple[dict[str, Any], int, float]:
    """Measure the version's examples (with their content as the version has it) or all the project's: the
    statistics, how many examples, and how long it took."""
    started = time.monotonic()
    report = progress or (lambda done, total, stage: None)
    report(0, 0, "listing_examples")
    ids = store.input_ids(project_id=project.pk, parent=version.pk if version else None)
    sizes = None
    if version is not None:
        report(0, len(ids), "reading_duplicates")
        sizes = duplicate_sizes(version)
    accumulator = inspection.StatsAccumulator(slice_key=slice_key, duplicate_sizes=sizes)
    done = 0
    report(0, len(ids), "measuring")
    for batch in store.read_in_batches(ids, parent=version.pk if version else None):
        accumulator.add(batch)
        done += len(batch)
        report(done, len(ids), "measuring")
    return accumulator.finish(), len(ids), round(time.monotonic() - started, 3)


def _store(
    *,
    project: Project,
    version: DatasetVersion | None,
    slice_key: str | None,
    payload: dict[str, Any],
    examples: int,
    seconds: float,
    job: Job | None = None,
) -> VersionStats:
    values: dict[str, Any] = {
        "payload": payload,
        "examples": examples,
        "seconds": seconds,
        "computed_at": timezone.now(),
        "job": job,
    }
    try:
        with transaction.atomic():
            row, _ = VersionStats.objects.update_or_create(
                project=project, version=version, slice_key=slice_key or "", defaults=values
            )
    except IntegrityError:  # another request stored the same statistics meanwhile
        rows = VersionStats.objects.filter(project=project, version=version, slice_key=slice_key or "")
        rows.update(**values)
        row = rows.get()
    return row


# --- serving ---------------------------------------------------------------------------------------------------


@dataclass
class StatsAnswer:
    """Stored statistics, or the job computing them."""

    stats: VersionStats | None = None
    job: Job | None = None


def _stored(project: Project, version: DatasetVersion | None, slice_key: str | None) -> VersionStats | None:
    rows = VersionStats.objects.filter(project=project, version=version, slice_key=slice_key or "")
    return rows.select_related("version").first()


def stats_get(*, project: Project, version: DatasetVersion | None, slice_key: str | None, user: User) -> StatsAnswer:
    """The statistics as stored; else measured now (small) or the job measuring them (large)."""
    count = example_count(project, version)
    stored = _stored(project, version, slice_key)
    if stored is not None and (version is not None or stored.examples == count):
        return StatsAnswer(stats=stored)
    if count > settings.WINNOW_STATS_INLINE_MAX:
        return StatsAnswer(job=stats_start(project=project, version=version, slice_key=slice_key, user=user))
    payload, examples, seconds = stats_compute(project=project, version=version, slice_key=slice_key)
    row = _store(
        project=project, version=version, slice_key=slice_key, payload=payload, examples=examples, seconds=seconds
    )
    return StatsAnswer(stats=row)


def stats_start(*, project: Project, version: DatasetVersion | None, slice_key: str | None, user: User) -> Job:
    """The unfinished stats job of this version (or project) and slice, else a new one, queued. A job that failed
    or was cancelled in the last ``RETRY_AFTER_SECONDS`` is returned as it is (its error says why), so a page
    polling for the statistics does not start one job after another.

    The version's (or project's) row is locked while looking, so two requests never start two jobs."""
    params = {"version": version.pk if version else None, "slice": slice_key or ""}
    with transaction.atomic():
        if version is not None:
            DatasetVersion.objects.select_for_update().filter(pk=version.pk).first()
        else:
            Project.objects.select_for_update().filter(pk=project.pk).first()
        latest = (
            Job.objects.filter(kind=Job.Kind.STATS, project=project)
            .filter(params__version=params["version"], params__slice=params["slice"])
            .first()
        )
        if latest is not None and (
            latest.status in Job.UNFINISHED
            or (
                latest.status in (Job.Status.FAILED, Job.Status.CANCELLED)
                and latest.finished_at is not None
                and latest.finished_at > timezone.now() - timedelta(seconds=RETRY_AFTER_SECONDS)
            )
        ):
            return latest
        job = Job.objects.create(kind=Job.Kind.STATS, project=project, created_by=user, params=params)
        job_enqueue(job)
    return job


def stats_run(*, job: Job) -> None:
    """The stats job: measure, then store the statistics and finish the job in one transaction (a job cancelled
    meanwhile stores nothing)."""
    assert job.project is not None
    version = None
    if job.params.get("version") is not None:
        version = DatasetVersion.objects.ready().filter(pk=job.params["version"], project=job.project).first()
        if version is None:
            job.fail("The version no longer exists.")
            return
    slice_key = job.params.get("slice") or None

    def report(done: int, total: int, stage: str) -> None:
        if not job.report_progress(done=done, total=total, stage=stage, unit="examples"):
            raise StatsStopped(f"job {job.pk} was cancelled or handed to another worker")

    payload, examples, seconds = stats_compute(
        project=job.project, version=version, slice_key=slice_key, progress=report
    )
    report(examples, examples, "storing")
    with transaction.atomic():
        row = _store(
            project=job.project,
            version=version,
            slice_key=slice_key,
            payload=payload,
            examples=examples,
            seconds=seconds,
            job=job,
        )
        if not job.succeed(
            {"stats": row.pk, "examples": examples, "seconds": seconds}, progress=(examples, "examples")
        ):
            raise StatsStopped(f"job {job.pk} was cancelled before it could finish")


# --- what a request gets ---------------------------------------------------------------------------------------


@dataclass
class StatsResult:
    """The statistics a request asked for (with the compared version's and the coverage), or the jobs still
    measuring some of them."""

    query: StatsQuery
    stats: VersionStats | None
    compared: VersionStats | None = None
    pending: list[Job] = field(default_factory=list)

    @property
    def comparison(self) -> dict[str, Any] | None:
        if self.stats is None or self.compared is None:
            return None
        return inspection.compare(self.stats.payload, self.compared.payload)

    @property
    def coverage(self) -> dict[str, Any] | None:
        if self.stats is None or self.query.coverage_key is None:
            return None
        return inspection.coverage(self.stats.payload, self.query.coverage_key, self.query.targets)


def stats_for(*, project: Project, version: DatasetVersion | None, query: StatsQuery, user: User) -> StatsResult:
    """Everything the query asks for; ``pending`` lists the jobs measuring what is not stored yet (the compared
    version's statistics are of all its examples, unsliced)."""
    answer = stats_get(project=project, version=version, slice_key=query.slice_key, user=user)
    result = StatsResult(query=query, stats=answer.stats, pending=[answer.job] if answer.job else [])
    if query.compare is not None:
        other = stats_get(project=project, version=query.compare, slice_key=None, user=user)
        result.compared = other.stats
        if other.job is not None and other.job not in result.pending:
            result.pending.append(other.job)
    if result.pending:
        result.stats = result.compared = None
    return result
