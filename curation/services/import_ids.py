"""Which records of a failed import have an id that clashes: used twice in the import, or already the id of an
example in the project. The ids of the good records wait in a file (``IdLog``); this loads them into a temporary
table and finds every clash in one query, so memory stays flat however large the project or the file."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection, transaction

from annotate.models import Project
from curation.services.import_checks import IdLog, entry, record_at

CREATE_SQL = "CREATE TEMP TABLE import_ids (number bigint, line bigint, generated boolean, external_id text)"
# Every id used twice (all uses but the first), and every id the project already has; one row per record.
PROBLEMS_SQL = """
SELECT number, line, generated, external_id, first_number, first_line, first_generated, taken, COUNT(*) OVER ()
FROM (
    SELECT r.*, EXISTS (
        SELECT 1 FROM annotate_example e WHERE e.project_id = %s AND e.external_id = r.external_id
    ) AS taken
    FROM (
        SELECT i.*, FIRST_VALUE(number) OVER w AS first_number, FIRST_VALUE(line) OVER w AS first_line,
               FIRST_VALUE(generated) OVER w AS first_generated,
               ROW_NUMBER() OVER w AS nth
        FROM import_ids i
        WINDOW w AS (PARTITION BY external_id ORDER BY number)
    ) r
) checked
WHERE taken OR nth > 1
ORDER BY number
LIMIT %s
"""
UNESCAPE = re.compile(r"\\(.)")
UNESCAPED = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _reason(
    external_id: str, generated: bool, first: int, first_line: int | None, first_generated: bool, taken: bool
) -> str:
    """Why the record's id clashes; ``first`` and ``first_line`` are the record that used the id first."""
    if taken:
        reason = f"the project already has an example with id {external_id!r}"
        return f"{reason}; give this record an id of its own" if generated else reason
    first_at = record_at(first, first_line)
    if generated:
        return (
            f"this record has no id, and the one made for it, {external_id!r}, is the id of {first_at}; "
            "give this record an id"
        )
    if first_generated:
        return (
            f"the id {external_id!r} is the one made for {first_at}, which has no id; choose another id, or "
            f"give record {first} an id"
        )
    return f"the id {external_id!r} appears more than once in this import (first in {first_at})"


def _load_sqlite(cursor: Any, ids: IdLog) -> None:
    ids.file.flush()
    ids.file.seek(0)
    batch = []
    for raw in ids.file:
        number, line, generated, external_id = raw.decode().rstrip("\n").split("\t")
        text = UNESCAPE.sub(lambda found: UNESCAPED.get(found.group(1), found.group(1)), external_id)
        batch.append((int(number), None if line == "\\N" else int(line), generated == "t", text))
        if len(batch) == 10_000:
            cursor.executemany("INSERT INTO import_ids VALUES (%s, %s, %s, %s)", batch)
            batch.clear()
    if batch:
        cursor.executemany("INSERT INTO import_ids VALUES (%s, %s, %s, %s)", batch)


def id_problems(ids: IdLog, *, project: Project, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` records (by number) whose id clashes, with the reason, and how many there are."""
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CREATE_SQL + (" ON COMMIT DROP" if postgres else ""))
        try:
            if postgres:
                ids.file.flush()
                ids.file.seek(0)
                cursor.copy_expert("COPY import_ids FROM STDIN", ids.file, size=1 << 20)
                cursor.execute("ANALYZE import_ids")
                # One index probe per id, whatever the statistics of the examples table say: right after a bulk
                # load or a large delete they can be far off, and a plan built on them can scan the table per id.
                for knob in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin"):
                    cursor.execute(f"SET LOCAL {knob} = off")
            else:
                _load_sqlite(cursor, ids)
            cursor.execute(PROBLEMS_SQL, [project.pk, limit])
            rows = cursor.fetchall()
        finally:
            if not postgres:
                cursor.execute("DROP TABLE import_ids")
    shown = [
        entry(
            number,
            line,
            _reason(external_id, bool(generated), first, first_line, bool(first_generated), bool(taken)),
        )
        for number, line, generated, external_id, first, first_line, first_generated, taken, _ in rows
    ]
    return shown, rows[0][-1] if rows else 0
