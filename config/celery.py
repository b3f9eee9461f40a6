"""The Celery application. Tasks are thin adapters over Job rows (see curation/tasks.py).

Every worker also reaps: when it is ready and then on a timer (no separate beat process is needed, so the
embedded mode's single ``celery -A config worker`` does it too), it retries or fails jobs whose worker died
and removes the uploads no unfinished job needs (``curation.services.jobs.jobs_reap``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, bootsteps, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)
app = Celery("winnow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **extra: Any) -> dict[str, str]:
    """Every task goes to the configured queue, read when the task is sent (so a test can point it elsewhere)."""
    from django.conf import settings

    return {"queue": settings.WINNOW_TASK_QUEUE}


def reap() -> None:
    """Retry or fail jobs whose worker died. Runs in the worker's main process, so it keeps no connection open:
    pool processes forked later must not share it."""
    from django.db import connections

    from curation.services.jobs import jobs_reap

    try:
        report = jobs_reap()
        if report.retried or report.failed:
            logger.warning("reaped jobs whose worker stopped: retried %s, failed %s", report.retried, report.failed)
    except Exception:
        logger.exception("reaping stale jobs failed; trying again at the next tick")
    finally:
        connections.close_all()


@signals.worker_ready.connect
def reap_when_ready(**kwargs: Any) -> None:
    reap()


class JobReaper(bootsteps.StartStopStep):
    """Reap on a timer in every worker (``WINNOW_JOB_REAP_SECONDS``)."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None

    def start(self, worker: Any) -> None:
        from django.conf import settings

        self.tref = worker.timer.call_repeatedly(settings.WINNOW_JOB_REAP_SECONDS, reap, priority=10)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()


app.steps["worker"].add(JobReaper)
