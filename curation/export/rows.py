"""Reading a version's kept examples in id order and turning each into a training row, or into a reason it can't
be one. Memory stays flat: rows come from a server-side cursor a batch at a time."""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import orjson
from django.db import connection, transaction

from annotate.models import Example
from annotate.shapes import shape_of
from curation.export import labels as settled_labels
from curation.formats import FormatOptions, Label, Skipped, build
from curation.models import DatasetVersion, VersionMember

BATCH = 5_000
PROBLEMS_SHOWN = 100

# Most examples are plain instruction records: a prompt, a response and maybe a system prompt, all strings. For
# those, PostgreSQL hands over the three strings (``->>`` copies them out of the stored jsonb) instead of the content
# as JSON text, which it has to escape character by character and Python has to parse again: together about half
# the cost of reading a member. Any other content comes whole, as JSON text. ``plain`` is worked out once per row in
# the inner query (OFFSET 0 keeps it from being inlined into each CASE) and is false at the first test that fails,
# so a chat pays one more look into its content, not four. The content a plain row rebuilds is the same dict that
# parsing its JSON text gives (tests/curation/export/test_members.py holds the two ways side by side).
_MEMBERS_SQL = """
SELECT id, external_id,
       CASE WHEN plain THEN NULL ELSE c::text END,
       CASE WHEN plain THEN c->>'prompt' END,
       CASE WHEN plain THEN c->>'system' END,
       CASE WHEN plain THEN c->>'response' END
FROM (
    SELECT e.id, e.external_id, COALESCE(m.content, e.content) AS c,
           COALESCE(jsonb_typeof(COALESCE(m.content, e.content)->'response'), '') = 'string'
           AND COALESCE(jsonb_typeof(COALESCE(m.content, e.content)->'prompt'), '') = 'string'
           AND COALESCE(jsonb_typeof(COALESCE(m.content, e.content)->'system'), 'string') = 'string'
           AND COALESCE(m.content, e.content) - ARRAY['prompt', 'system', 'response'] = '{}'::jsonb AS plain
    FROM curation_versionmember m JOIN annotate_example e ON e.id = m.example_id
    WHERE m.version_id = %s ORDER BY m.example_id OFFSET 0
) kept
ORDER BY id
"""


class Member(NamedTuple):
    """One kept example. A named tuple: a million of them are made per export, and a frozen dataclass's
    constructor costs several times as much."""

    id: int
    external_id: str
    content: dict[str, Any]


def members(version: DatasetVersion) -> Iterator[list[Member]]:
    """The version's kept examples with the content it kept (cleaned where a step changed it), by id, in batches.

    On PostgreSQL, outside a transaction, a thread with its own connection reads ahead while the caller formats
    the batch before: the database's work (reading, turning JSON into text) then runs beside ours on another core.
    Inside a transaction the caller's own connection reads, so that it sees what the transaction wrote."""
    if connection.vendor == "postgresql":
        if connection.in_atomic_block:
            yield from _postgres_members(version.pk)
        else:
            yield from _read_ahead(lambda: _postgres_members(version.pk))
        return
    ids = VersionMember.objects.filter(version=version).order_by("example_id").values_list("example_id", "content")
    pending: list[tuple[int, Any]] = []
    for row in ids.iterator(chunk_size=BATCH):
        pending.append(row)
        if len(pending) == BATCH:
            yield _sqlite_batch(pending)
            pending = []
    if pending:
        yield _sqlite_batch(pending)


def _postgres_members(version_id: int) -> Iterator[list[Member]]:
    # A server-side cursor in a transaction of its own: outside one, Django declares it WITH HOLD, and PostgreSQL
    # would copy the whole result aside before handing out the first row.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(_MEMBERS_SQL, [version_id])
        while batch := cursor.fetchmany(BATCH):
            yield [_member(row) for row in batch]


_new_member = tuple.__new__  # a NamedTuple's own constructor costs three times as much, a million times over


def _member(row: tuple[int, str, str | None, str | None, str | None, str | None]) -> Member:
    pk, external, text, prompt, system, response = row
    if text is not None:
        content = orjson.loads(text)
    elif system is None:  # keys in the order jsonb keeps them (by length, then bytewise), as parsing gives them
        content = {"prompt": prompt, "response": response}
    else:
        content = {"prompt": prompt, "system": system, "response": response}
    return _new_member(Member, (pk, external, content))


_DONE = object()


def _read_ahead(produce: Callable[[], Iterator[list[Member]]], depth: int = 2) -> Iterator[list[Member]]:
    """The batches ``produce`` yields, made in a thread up to ``depth`` batches ahead of the caller. The thread's
    errors are raised here; a caller that stops early stops the thread, which closes its connection."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for batch in produce():
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the caller, who raises it
            put(exc)
        finally:
            connection.close()  # this thread's own connection

    reader = threading.Thread(target=run, name="export-read-ahead", daemon=True)
    reader.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _sqlite_batch(rows: list[tuple[int, Any]]) -> list[Member]:
    examples = Example.objects.in_bulk([pk for pk, _ in rows])
    return [Member(pk, examples[pk].external_id, derived or examples[pk].content) for pk, derived in rows]


def member_count(version: DatasetVersion) -> int:
    return int(version.counts.get("kept") or VersionMember.objects.filter(version=version).count())


@dataclass
class Tally:
    """What happened to each example: rows written, examples skipped by reason, the first problems shown."""

    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, member: Member, skipped: Skipped) -> None:
        self.skipped[skipped.reason] += 1
        if len(self.problems) < PROBLEMS_SHOWN:
            self.problems.append(
                {
                    "example": member.id,
                    "external_id": member.external_id,
                    "reason": skipped.reason,
                    "message": skipped.message,
                }
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "skipped": sum(self.skipped.values()),
            "skipped_by": dict(sorted(self.skipped.items())),
            "problems": self.problems,
        }


# Which shapes take their label from the export's question, by format.
LABELLED_SHAPES = {"preference": ("candidates",), "reward": ("instruction", "chat")}


class Formatter:
    """Turns members into rows for one export: the format's row, with the example's settled label where the format
    needs one, and ``id`` first when asked for."""

    def __init__(self, options: FormatOptions, settled: settled_labels.Settled | None, *, with_id: bool):
        self.options, self.settled, self.with_id = options, settled, with_id
        self.labelled = LABELLED_SHAPES.get(options.format, ())

    def rows(self, batch: list[Member], tally: Tally) -> Iterator[tuple[Member, dict[str, Any]]]:
        values, reasons = self._labels(batch)
        for index, member in enumerate(batch):
            label = None
            if self.labelled and shape_of(member.content) in self.labelled:
                reason = int(reasons[index])
                if reason != settled_labels.USABLE:
                    name = settled_labels.REASONS[reason]
                    tally.skip(member, Skipped(name, settled_labels.REASON_TEXT[name]))
                    continue
                label = self._label(float(values[index]))
            row = build(member.content, self.options, label)
            if isinstance(row, Skipped):
                tally.skip(member, row)
                continue
            tally.rows += 1
            yield member, ({"id": member.external_id, **row} if self.with_id else row)

    def _labels(self, batch: list[Member]) -> tuple[np.ndarray, np.ndarray]:
        if self.settled is None:
            return np.full(len(batch), np.nan), np.zeros(len(batch), dtype=np.int8)
        return self.settled.lookup(np.fromiter((m.id for m in batch), dtype=np.int64, count=len(batch)))

    def _label(self, value: float) -> Label:
        assert self.settled is not None
        if self.settled.kind == "preference":
            return Label(preference=settled_labels.PREFERENCE_VALUES[int(value)])
        return Label(score=value)
