"""Celery tasks: thin adapters that load a Job row, run its service, and leave the row finished."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from curation.models import Job
from curation.services.imports import import_run

logger = logging.getLogger(__name__)


@shared_task(name="curation.run_import", acks_late=False)
def run_import(job_id: int) -> None:
    job = Job.objects.filter(pk=job_id, kind=Job.Kind.IMPORT).first()
    # A second delivery of the same message finds the job already claimed and does nothing.
    if job is None or not job.start():
        return
    try:
        import_run(job=job)
    except SoftTimeLimitExceeded:
        job.fail("The import took longer than the job time limit (WINNOW_JOB_TIME_LIMIT); nothing was imported.")
    except Exception:
        logger.exception("import job %s crashed", job_id)
        job.fail("The import stopped on an internal error; nothing was imported. The server log has the details.")
        raise
