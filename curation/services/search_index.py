"""Indexing imported examples for search, in the background (PostgreSQL; annotate/search_index.py writes the rows).

An import schedules one job for the examples it wrote (``search_index_schedule``), inside its own transaction, so
an import rolled back leaves no job, and the job is queued once the import commits. The job walks the ids a chunk
at a time, each chunk in its own transaction: what a chunk wrote stays written, so a job that stops part way
(cancelled, or its worker killed) loses nothing, and running the same ids again — the reaper's retry, or
``search_index_rerun`` — skips every example already indexed without computing its document again.

Until its job has run, an example is not found by a search. How many are waiting (``search_pending``) is read from
the project's unfinished index jobs — the examples each covers less those it has done — never by comparing the
examples with the search table, which would read a million rows per page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from annotate.models import Example, Project
from annotate.search_index import documents_write
from curation.models import Job
from curation.services.jobs import job_enqueue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Ids per chunk (and per transaction): about two seconds of work for records of 1.7 KB.
CHUNK = 10_000


class IndexStopped(Exception):
    """The job was cancelled, or taken from this worker by the reaper, while it ran; the chunks done are kept."""


def search_index_schedule(
    *, project: Project, ranges: Sequence[tuple[int, int]], examples: int, created_by: User | None = None
) -> Job | None:
    """Queue a job indexing the project's examples with ids in ``ranges`` (inclusive; ``examples``: how many of
    the project's examples they hold), once the current transaction commits. None on SQLite, which has no search
    table, and when there is nothing to index."""
    if connection.vendor != "postgresql" or not examples:
        return None
    job = Job.objects.create(
        kind=Job.Kind.SEARCH_INDEX,
        project=project,
        created_by=created_by,
        params={"ranges": [[low, high] for low, high in ranges], "examples": examples},
        progress_total=examples,
        progress_unit="examples",
    )
    job_enqueue(job)
    return job


@transaction.atomic
def search_index_rerun(*, job: Job) -> Job | None:
    """Queue the ids of a finished index job again: one cancelled, or failed because its worker stopped twice.
    What it did index is skipped."""
    if job.kind != Job.Kind.SEARCH_INDEX or not job.is_finished:
        raise ValueError(f"job {job.pk} is not a finished search index job")
    assert job.project is not None
    ranges = [(low, high) for low, high in job.params["ranges"]]
    return search_index_schedule(
        project=job.project, ranges=ranges, examples=job.params["examples"], created_by=job.created_by
    )


@transaction.atomic
def search_index_project(*, project: Project) -> Job | None:
    """Queue all the project's examples: those already indexed are skipped, the others indexed (examples imported
    while migration 0014 ran, or left by a job that failed)."""
    examples = Example.objects.for_project(project).order_by()
    bounds = examples.values_list("pk", flat=True)
    low, high = bounds.order_by("pk").first(), bounds.order_by("-pk").first()
    if low is None or high is None:
        return None
    return search_index_schedule(project=project, ranges=[(low, high)], examples=examples.count())


def search_pending(project: Project) -> int:
    """How many of the project's examples are waiting for their index job (queued or running)."""
    jobs = Job.objects.filter(project=project, kind=Job.Kind.SEARCH_INDEX, status__in=Job.UNFINISHED)
    waiting = jobs.values_list("params", "progress_done")
    return sum(max(int(params.get("examples", 0)) - done, 0) for params, done in waiting)


def unindexed(job_id: int) -> str:
    """What an index job that did not finish leaves, and what to do about it (the end of its error message)."""
    return (
        "the examples it had not indexed yet are not found by a search. Run it again with "
        f"'manage.py search_index --job {job_id}': what it did index is kept, and skipped."
    )


def chunks(ranges: Sequence[Sequence[int]], size: int) -> Iterator[tuple[int, int]]:
    """The ranges cut into ranges of at most ``size`` ids."""
    for low, high in ranges:
        for first in range(low, high + 1, size):
            yield first, min(first + size - 1, high)


def search_index_run(*, job: Job) -> None:
    """Index the job's examples a chunk at a time, each chunk committed on its own; leave the job succeeded, or
    raise IndexStopped when it is no longer this worker's to run."""
    assert job.project is not None
    total = int(job.params["examples"])
    started = time.monotonic()
    done = written = 0

    def report() -> None:
        if not job.report_progress(done=done, total=total, stage="indexing", unit="examples"):
            raise IndexStopped(f"job {job.pk} was cancelled or handed to another worker")

    report()
    for low, high in chunks(job.params["ranges"], CHUNK):
        with transaction.atomic():
            examples, wrote = documents_write(project_id=job.project.pk, low=low, high=high)
        done, written = done + examples, written + wrote
        report()
    result: dict[str, Any] = {"examples": done, "written": written, "seconds": round(time.monotonic() - started, 3)}
    if not job.succeed(result, progress=(done, "examples")):
        raise IndexStopped(f"job {job.pk} was cancelled or handed to another worker before it finished")
