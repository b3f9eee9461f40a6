"""Job lifecycle outside the job's own work: cancelling, reaping jobs whose worker died, and removing the
uploaded files no unfinished job needs any more."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from curation.models import Job
from curation.uploads import ORPHAN_GRACE_SECONDS, discard_upload, stored_uploads

logger = logging.getLogger(__name__)


class JobFinishedError(Exception):
    """The job has already finished, so it cannot be changed."""

    def __init__(self, job: Job):
        super().__init__(
            f"Job {job.pk} has already finished ({job.status}); only a queued or running job can be cancelled."
        )
        self.job = job


def job_enqueue(job: Job) -> None:
    """Send the job to a worker once the current transaction commits (a worker must find the row)."""
    from curation.tasks import TASKS  # the task module imports the services

    task = TASKS[Job.Kind(job.kind)]
    transaction.on_commit(lambda: task.delay(job.pk))


def job_cancel(*, job: Job) -> Job:
    """Cancel a queued or running job. A running job's worker notices at its next progress report and rolls its
    transaction back, so a cancelled job leaves nothing written; its uploaded file is removed here."""
    cancelled = Job.objects.filter(pk=job.pk, status__in=Job.UNFINISHED).update(
        status=Job.Status.CANCELLED, stage="", finished_at=timezone.now()
    )
    job.refresh_from_db()
    if not cancelled:
        raise JobFinishedError(job)
    discard_upload(job)
    logger.info("job %s cancelled", job.pk)
    return job


def stopped_message(job: Job) -> str:
    hours = settings.CELERY_TASK_TIME_LIMIT / 3600
    stopped = (
        f"The worker running this job stopped before the job finished, {job.attempts} times (it may have run out "
        f"of memory, been stopped, or gone over the {hours:g}-hour time limit)"
    )
    if job.kind == Job.Kind.PIPELINE:
        return (
            f"{stopped}; no version was made. Run the pipeline again; if it stops again, try it on a sample, or ask "
            "the administrator to give the workers more memory or time (WINNOW_JOB_TIME_LIMIT)."
        )
    if job.kind == Job.Kind.EXPORT:
        return f"{stopped}; nothing was exported. Start the export again."
    if job.kind == Job.Kind.SEARCH_INDEX:
        from curation.services.search_index import unindexed  # it enqueues through this module

        return f"{stopped}; {unindexed(job.pk)}"
    if job.kind not in Job.IMPORTS:  # measuring figures again: asked for again, it is started again
        return f"{stopped}. The figures are measured again the next time they are asked for."
    return (
        f"{stopped}; nothing was imported. Import the file again. If it stops again, split the file into smaller "
        "ones, or ask the administrator to give the worker more memory or time (WINNOW_JOB_TIME_LIMIT)."
    )


@dataclass
class ReapReport:
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)


def jobs_reap(*, stale_after: float | None = None) -> ReapReport:
    """Find running jobs whose worker stopped (no heartbeat for ``stale_after`` seconds): run each once more,
    or fail it when it already had its retry. Then remove uploads no unfinished job needs.

    Safe to run from several workers at once: every transition is a conditional update of the job's row.
    """
    stale_after = settings.WINNOW_JOB_STALE_SECONDS if stale_after is None else stale_after
    report = ReapReport()
    for job in Job.objects.stale(before=timezone.now() - timedelta(seconds=stale_after)):
        if job.attempts < Job.MAX_ATTEMPTS:
            with transaction.atomic():
                if job.requeue():
                    job_enqueue(job)
                    report.retried.append(job.pk)
                    logger.warning("job %s: its worker stopped; queued again (attempt %s)", job.pk, job.attempts + 1)
        elif job.fail(stopped_message(job)):
            discard_upload(job)
            discard_partial_version(job)
            discard_export(job)
            report.failed.append(job.pk)
            logger.warning("job %s: its worker stopped on attempt %s; failed", job.pk, job.attempts)
    report.files_removed = uploads_sweep() + temporary_files_sweep() + export_files_sweep()
    unfinished_versions_sweep()
    return report


def discard_partial_version(job: Job) -> None:
    """Remove the version a pipeline job was building (and its chunks), if any."""
    if job.kind == Job.Kind.PIPELINE:
        from curation.pipeline.runner import discard_partial

        discard_partial(job)


def discard_export(job: Job) -> None:
    """Remove what an export job left on disk, if it was one."""
    if job.kind == Job.Kind.EXPORT:
        from curation.export.service import discard_export_files

        discard_export_files(job)


def export_files_sweep() -> list[str]:
    from curation.export.service import export_files_sweep as sweep

    return sweep()


def unfinished_versions_sweep() -> None:
    """Remove versions left half-built by a pipeline job that ended without its worker cleaning up (cancelled or
    failed while its worker was gone)."""
    from curation.models import DatasetVersion

    ended = (
        DatasetVersion.objects.filter(status=DatasetVersion.Status.BUILDING, job__status__in=Job.FINISHED)
        .values_list("job_id", flat=True)
        .distinct()
    )
    for job in Job.objects.filter(pk__in=list(ended)):
        discard_partial_version(job)


def temporary_files_sweep(*, now: float | None = None) -> list[str]:
    """Remove the temporary files of imports whose worker was killed (the spool of the SQLite path, the list of
    ids): none is older than the longest a job may run."""
    directory = Path(settings.DATA_DIR) / "tmp"
    if not directory.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - settings.CELERY_TASK_TIME_LIMIT - ORPHAN_GRACE_SECONDS
    removed = []
    for path in directory.glob("import-*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed.append(path.name)
        except OSError:
            logger.warning("could not remove the stale temporary file %s", path, exc_info=True)
    return removed


def uploads_sweep(*, now: float | None = None) -> list[str]:
    """Remove stored uploads that no unfinished job needs: those of finished jobs (whose worker died before it
    could remove them), and those older than a grace period that no job names (the request that stored them
    failed)."""
    files = {path.name: path for path in stored_uploads()}
    if not files:
        return []
    named = dict(Job.objects.filter(params__path__in=list(files)).values_list("params__path", "status"))
    cutoff = (time.time() if now is None else now) - ORPHAN_GRACE_SECONDS
    removed = []
    for name, path in files.items():
        status = named.get(name)
        if status in Job.UNFINISHED:
            continue
        try:
            if status is not None or path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed.append(name)
        except OSError:
            logger.warning("could not remove the stale upload %s", path, exc_info=True)
    if removed:
        logger.info("removed %s upload(s) no job needs: %s", len(removed), ", ".join(sorted(removed)))
    return removed
