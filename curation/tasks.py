"""Celery tasks: thin adapters that load a Job row, run its service, and leave the row finished.

Tasks are acknowledged late and the message goes back to the queue if the worker process dies, so a job is never
lost with its worker; running one twice is harmless, because a job is claimed with a conditional UPDATE
(``Job.start``) and a delivery that finds it claimed does nothing. A job whose worker died stays "running" with
an old heartbeat until the reaper (``curation.services.jobs.jobs_reap``, run by every worker) retries or fails it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from curation.export.service import ExportStopped, export_run
from curation.heartbeat import Heartbeat
from curation.models import Job
from curation.pipeline.runner import RunStopped, help_with_chunks, pipeline_failure, pipeline_run
from curation.services.imports import JobInterrupted, import_run
from curation.services.jobs import jobs_reap
from curation.services.label_imports import annotation_import_run
from curation.services.measure_jobs import figures_refresh_run
from curation.services.search_index import IndexStopped, search_index_run, unindexed
from curation.services.stats import StatsStopped, stats_run
from curation.uploads import discard_upload

logger = logging.getLogger(__name__)


@shared_task(name="curation.run_import", acks_late=True, reject_on_worker_lost=True)
def run_import(job_id: int) -> None:
    _run_import_job(job_id, Job.Kind.IMPORT, import_run)


@shared_task(name="curation.run_annotation_import", acks_late=True, reject_on_worker_lost=True)
def run_annotation_import(job_id: int) -> None:
    _run_import_job(job_id, Job.Kind.ANNOTATION_IMPORT, annotation_import_run)


def _run_import_job(job_id: int, kind: Job.Kind, run: Callable[..., None]) -> None:
    """Claim the import job, run it under a heartbeat, and leave it finished whatever happens."""
    job = Job.objects.filter(pk=job_id, kind=kind).first()
    # A second delivery of the same message finds the job already claimed (or finished) and does nothing.
    if job is None or not job.start():
        return
    with Heartbeat(job, every=settings.WINNOW_JOB_HEARTBEAT_SECONDS):
        try:
            run(job=job)
        except JobInterrupted as exc:
            # Cancelled (its file is already gone), or reaped and queued again (its file is kept for the retry).
            logger.info("%s job %s stopped: %s", kind, job_id, exc)
        except SoftTimeLimitExceeded:
            hours = settings.CELERY_TASK_TIME_LIMIT / 3600
            if job.fail(
                f"The import took longer than the {hours:g}-hour job time limit (WINNOW_JOB_TIME_LIMIT); nothing "
                "was imported. Split the file into smaller ones, or ask the administrator to raise the limit."
            ):
                discard_upload(job)
        except Exception:
            logger.exception("%s job %s crashed", kind, job_id)
            if job.fail(
                "The import stopped on an internal error; nothing was imported. The server log has the details."
            ):
                discard_upload(job)
            raise


@shared_task(name="curation.run_agreement", acks_late=True, reject_on_worker_lost=True)
def run_agreement(job_id: int) -> None:
    """Measure a project's figures again (curation.services.measure_jobs); nothing is written but the cache."""
    job = Job.objects.filter(pk=job_id, kind=Job.Kind.AGREEMENT).first()
    if job is None or not job.start():
        return
    with Heartbeat(job, every=settings.WINNOW_JOB_HEARTBEAT_SECONDS):
        try:
            figures_refresh_run(job=job)
        except Exception:
            logger.exception("agreement job %s crashed", job_id)
            job.fail("Measuring the figures stopped on an internal error; the server log has the details.")
            raise


@shared_task(name="curation.reap_jobs", acks_late=True)
def reap_jobs() -> None:
    """Retry or fail jobs whose worker died; workers also do this on start and on a timer (config/celery.py)."""
    jobs_reap()


def _run_job(
    job_id: int,
    kind: Job.Kind,
    work: Callable[..., None],
    *,
    stopped: type[Exception],
    what: str,
    over_time: str,
    crashed: Callable[[Exception], str],
) -> None:
    """Claim the job, run ``work`` under a heartbeat, and leave the job finished whatever happens: ``stopped`` is
    the work's own exception for a job cancelled or taken from this worker (the job is already finished then);
    ``what`` took too long, ``over_time`` ends the job's message then, and ``crashed`` makes it for an unexpected
    error."""
    job = Job.objects.filter(pk=job_id, kind=kind).first()
    if job is None or not job.start():  # a second delivery of the message finds the job claimed
        return
    with Heartbeat(job, every=settings.WINNOW_JOB_HEARTBEAT_SECONDS):
        try:
            work(job=job)
        except stopped as exc:
            logger.info("%s job %s stopped: %s", kind, job_id, exc)
        except SoftTimeLimitExceeded:
            hours = settings.CELERY_TASK_TIME_LIMIT / 3600
            job.fail(f"{what} took longer than the {hours:g}-hour job time limit (WINNOW_JOB_TIME_LIMIT); {over_time}")
        except Exception as exc:
            logger.exception("%s job %s crashed", kind, job_id)
            job.fail(crashed(exc))
            raise


@shared_task(name="curation.run_pipeline", acks_late=True, reject_on_worker_lost=True)
def run_pipeline(job_id: int) -> None:
    """Run a curation pipeline (curation.pipeline.runner): a new DatasetVersion, or nothing at all."""
    _run_job(
        job_id,
        Job.Kind.PIPELINE,
        pipeline_run,
        stopped=RunStopped,
        what="The pipeline",
        over_time="no version was made. Try it on a sample first, or ask the administrator to raise the limit or "
        "add workers.",
        crashed=lambda exc: f"The pipeline stopped on an error; no version was made. {pipeline_failure(exc)}",
    )


@shared_task(name="curation.run_pipeline_chunks", acks_late=True, reject_on_worker_lost=True)
def run_pipeline_chunks(job_id: int, *, version_id: int, phase: int) -> None:
    """Help a running pipeline job: take chunks of its current phase until none is left (the job's own worker
    takes them too, so this task finding nothing to do is normal)."""
    help_with_chunks(job_id, version_id=version_id, phase=phase, should_stop=lambda: False)


@shared_task(name="curation.run_export", acks_late=True, reject_on_worker_lost=True)
def run_export(job_id: int) -> None:
    """Write an export's files and manifest (curation.export.service): an Export with all its files, or nothing."""
    _run_job(
        job_id,
        Job.Kind.EXPORT,
        export_run,
        stopped=ExportStopped,
        what="The export",
        over_time="nothing was exported. Ask the administrator to raise the limit.",
        crashed=lambda exc: "The export stopped on an error; nothing was exported. "
        f"The server log has the details ({type(exc).__name__}).",
    )


@shared_task(name="curation.run_stats", acks_late=True, reject_on_worker_lost=True)
def run_stats(job_id: int) -> None:
    """Measure a large version's (or project's) inspection statistics and store them (curation.services.stats)."""
    _run_job(
        job_id,
        Job.Kind.STATS,
        stats_run,
        stopped=StatsStopped,
        what="Measuring the statistics",
        over_time="nothing was stored. Ask the administrator to raise the limit.",
        crashed=lambda exc: f"Measuring the statistics stopped on an error; nothing was stored ({type(exc).__name__}).",
    )


@shared_task(name="curation.run_search_index", acks_late=True, reject_on_worker_lost=True)
def run_search_index(job_id: int) -> None:
    """Write the search table's rows of an import's examples (curation.services.search_index), a chunk at a time."""
    _run_job(
        job_id,
        Job.Kind.SEARCH_INDEX,
        search_index_run,
        stopped=IndexStopped,
        what="Indexing for search",
        over_time=unindexed(job_id),
        crashed=lambda exc: f"Indexing for search stopped on an error ({type(exc).__name__}); {unindexed(job_id)}",
    )


TASKS = {
    Job.Kind.IMPORT: run_import,
    Job.Kind.ANNOTATION_IMPORT: run_annotation_import,
    Job.Kind.AGREEMENT: run_agreement,
    Job.Kind.PIPELINE: run_pipeline,
    Job.Kind.EXPORT: run_export,
    Job.Kind.STATS: run_stats,
    Job.Kind.SEARCH_INDEX: run_search_index,
}
