"""Reading a pipeline's records and writing what it keeps and removes, in bulk.

On PostgreSQL records are read as JSON text parsed by orjson and rows are written with COPY; SQLite (the embedded
mode) goes through the ORM.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import orjson
from django.db import connection
from django.db.models import QuerySet

from annotate.models import Example
from curation.models import Removal, VersionMember
from curation.steps.base import Dropped, Record

READ_BATCH = 20_000

_READ_SQL = """
SELECT e.id, COALESCE(m.content, e.content)::text, e.metadata::text, m.content IS NOT NULL
FROM annotate_example e
LEFT JOIN curation_versionmember m ON m.version_id = %(parent)s AND m.example_id = e.id
WHERE e.id = ANY(%(ids)s)
ORDER BY e.id
"""


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def read_records(ids: np.ndarray, *, parent: int | None) -> tuple[list[Record], set[int]]:
    """The records of these example ids (ascending), with the parent version's content where it changed it, and
    the ids of those whose content the parent changed (the version stores the content it keeps for them)."""
    id_list = [int(i) for i in ids]
    if not id_list:
        return [], set()
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute(_READ_SQL, {"parent": parent or 0, "ids": id_list})
            rows = cursor.fetchall()
        records = [{"id": pk, "content": orjson.loads(c), "metadata": orjson.loads(m)} for pk, c, m, _ in rows]
        return records, {pk for pk, _, _, derived in rows if derived}
    rows = Example.objects.filter(pk__in=id_list).order_by("pk").values_list("pk", "content", "metadata")
    derived = {}
    if parent:
        derived = dict(
            VersionMember.objects.filter(version_id=parent, example_id__in=id_list, content__isnull=False).values_list(
                "example_id", "content"
            )
        )
    records = [{"id": pk, "content": derived.get(pk, content), "metadata": meta} for pk, content, meta in rows]
    return records, set(derived)


def read_in_batches(ids: np.ndarray, *, parent: int | None) -> Iterator[list[Record]]:
    """``read_records`` over many ids, ``READ_BATCH`` at a time (ids ascending, as read_records gives them)."""
    ordered = np.unique(np.asarray(ids, dtype=np.int64))
    for start in range(0, len(ordered), READ_BATCH):
        yield read_records(ordered[start : start + READ_BATCH], parent=parent)[0]


def sample_ids(ids: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """A seeded random sample of ``size`` of the ids, ascending (all of them when there are no more)."""
    if size is None or size >= len(ids):
        return ids
    chosen = np.random.default_rng(seed).choice(ids, size=size, replace=False)
    chosen.sort()
    return chosen


def _copy_text(value: str) -> str:
    """A value in COPY's text format: orjson escapes every control character in JSON strings, so only the
    backslash (COPY's escape character) needs doubling."""
    return value.replace("\\", "\\\\")


def _copy(table: str, columns: str, lines: Iterator[str]) -> None:
    buffer = io.StringIO()
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor, for copy_expert
        for line in lines:
            buffer.write(line)
            count += 1
            if count % 50_000 == 0:
                buffer.seek(0)
                raw.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
                buffer = io.StringIO()
        if buffer.tell():
            buffer.seek(0)
            raw.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def write_members(version_id: int, records: Iterable[Record], derived: set[int]) -> int:
    """The version's members: every record kept, with its content stored only for the ids in ``derived`` (where
    a step of this version or of an ancestor changed it)."""
    written = 0
    if _postgres():

        def lines() -> Iterator[str]:
            nonlocal written
            for record in records:
                written += 1
                content = _copy_text(orjson.dumps(record["content"]).decode()) if record["id"] in derived else "\\N"
                yield f"{version_id}\t{record['id']}\t{content}\n"

        _copy("curation_versionmember", "version_id, example_id, content", lines())
        return written
    batch = [
        VersionMember(version_id=version_id, example_id=r["id"], content=r["content"] if r["id"] in derived else None)
        for r in records
    ]
    VersionMember.objects.bulk_create(batch, batch_size=2_000)
    return len(batch)


def write_removals(version_id: int, step: int, dropped: Iterable[Dropped]) -> int:
    written = 0
    if _postgres():

        def lines() -> Iterator[str]:
            nonlocal written
            for item in dropped:
                written += 1
                detail = _copy_text(orjson.dumps(item.detail, option=orjson.OPT_NON_STR_KEYS).decode())
                yield f"{version_id}\t{item.id}\t{_copy_text(item.rule)}\t{step}\t{detail}\n"

        _copy("curation_removal", "version_id, example_id, rule, step, detail", lines())
        return written
    batch = [
        Removal(version_id=version_id, example_id=item.id, rule=item.rule, step=step, detail=item.detail)
        for item in dropped
    ]
    Removal.objects.bulk_create(batch, batch_size=2_000)
    return len(batch)


def freeze_all(version_id: int, *, project_id: int, parent: int | None) -> int:
    """A version with no steps: every example of the project (or every member of the parent), in one statement."""
    with connection.cursor() as cursor:
        if parent:
            cursor.execute(
                "INSERT INTO curation_versionmember (version_id, example_id, content) "
                "SELECT %s, example_id, content FROM curation_versionmember WHERE version_id = %s",
                [version_id, parent],
            )
        else:
            cursor.execute(
                "INSERT INTO curation_versionmember (version_id, example_id, content) "
                "SELECT %s, id, NULL FROM annotate_example WHERE project_id = %s",
                [version_id, project_id],
            )
        return int(cursor.rowcount)


def input_ids(*, project_id: int, parent: int | None) -> np.ndarray:
    """The ids of the run's input, ascending: the parent's members, or every example of the project."""
    rows: QuerySet[Any, int]
    if parent:
        rows = VersionMember.objects.filter(version_id=parent).values_list("example_id", flat=True)
    else:
        rows = Example.objects.filter(project_id=project_id).values_list("pk", flat=True)
    ids = np.fromiter(rows.order_by().iterator(chunk_size=50_000), dtype=np.int64)
    ids.sort()
    return ids
