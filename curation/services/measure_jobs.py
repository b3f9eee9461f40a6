"""Measuring a large project's figures (agreement, annotators) again in the background once its labels changed
(annotate/figures.py): the request that found them stale is answered with the last ones at once, and this job
brings them up to date. At most one job per project and set of figures is waiting at a time.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from annotate import figures
from annotate.models import Project
from curation.models import Job
from curation.services.jobs import job_enqueue

# While a refresh of the same figures is queued or running, no other is started (the lock outlives a stuck job).
REFRESH_LOCK_SECONDS = 300


def _lock_key(project: Project, digest: str) -> str:
    return f"figures-refresh:{project.pk}:{digest}"


def figures_refresh_schedule(*, project: Project, kind: str, params: dict[str, Any], digest: str) -> Job | None:
    """Queue a job computing these figures again, unless one is queued or running already."""
    if not cache.add(_lock_key(project, digest), 1, timeout=REFRESH_LOCK_SECONDS):
        return None
    job = Job.objects.create(
        kind=Job.Kind.AGREEMENT, project=project, params={"figures": kind, "params": params, "digest": digest}
    )
    job_enqueue(job)
    return job


def figures_refresh_run(*, job: Job) -> None:
    """Compute the job's figures as of the labels now, cache them, and let the next change schedule again."""
    assert job.project is not None
    try:
        version = figures.labels_version(job.project.pk)
        job.report_progress(done=0, total=1, stage="measuring", unit="figures")
        result = figures.measure_and_store(job.project, job.params["figures"], job.params["params"], version=version)
        job.succeed({"labels_version": version, "seconds": result["seconds"]}, progress=(1, "figures"))
    finally:
        cache.delete(_lock_key(job.project, job.params["digest"]))
