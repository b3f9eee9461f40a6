"""Reading ahead in a thread: the records of an import are checked while the database is busy with the last
chunk (its COPY's end and its queue entries), instead of waiting for it. Python's json and hashing release the
GIL little, but the database calls do, so the two overlap on two cores."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

from django.db import connections

T = TypeVar("T")
_END = object()


class Prefetch(Generic[T]):
    """Iterate ``items`` in a thread, up to ``ahead`` items ahead of the consumer.

    An exception raised by ``items`` is raised again to the consumer, in order; ``close()`` (or leaving a
    ``with`` block) stops the thread. The thread's own database connections (progress reports) are closed when
    it ends.
    """

    def __init__(self, items: Iterator[T], *, ahead: int):
        self._items = items
        self._queue: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-read-ahead", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(_Raised(exc))
        finally:
            connections.close_all()

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc
