"""A running job's heartbeat, written from a thread of the worker so that one long statement (a COPY, the
commit of a million rows) does not make a live job look dead to the reaper."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from django.db import DatabaseError, connections

from curation.models import Job

logger = logging.getLogger(__name__)


class Heartbeat:
    """``with Heartbeat(job, every=10):`` writes ``job.heartbeat_at`` every ``every`` seconds until the block ends.

    The thread has its own database connection (Django's connections are per thread), in autocommit, so its
    writes are seen at once whatever transaction the job's own connection is in.
    """

    def __init__(self, job: Job, *, every: float):
        self.job, self.every = job, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-job-{job.pk}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    if not self.job.beat():
                        return  # cancelled, finished, or handed to another worker: nothing left to keep alive
                except DatabaseError:
                    # The database may be briefly away, or SQLite busy with the job's own transaction: try again.
                    logger.warning("job %s: could not write the heartbeat", self.job.pk, exc_info=True)
        finally:
            connections.close_all()
