"""Getting validated, canonical rows into the examples table in bulk, inside the caller's transaction.

PostgreSQL: one COPY fed straight from the validation stream (``CopyStream``), so the worker validates the next
records while the server writes the last ones, each on its own core. The caller rolls the transaction back if any
record turns out bad, so nothing is kept unless everything is good.

SQLite (the embedded mode): rows wait in a temporary file (``Spool``) until every record has passed, then go in
with large executemany batches.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

ProgressCallback = Callable[[int], None]
SQLITE_BATCH = 5_000
COPY_SQL = "COPY annotate_example (project_id, external_id, content, metadata, content_hash) FROM STDIN"
INSERT_SQL = (
    "INSERT INTO annotate_example (project_id, external_id, content, metadata, content_hash) VALUES (?, ?, ?, ?, ?)"
)


class Row(NamedTuple):
    external_id: str
    content_json: bytes
    metadata_json: bytes
    content_hash: str


def _copy_text(value: str) -> str:
    """Escape a value for PostgreSQL's COPY text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_line(project_id: int, row: Row) -> bytes:
    # orjson escapes control characters inside strings, so JSON text only needs its backslashes doubled.
    return b"%d\t%s\t%s\t%s\t%s\n" % (
        project_id,
        _copy_text(row.external_id).encode(),
        row.content_json.replace(b"\\", b"\\\\"),
        row.metadata_json.replace(b"\\", b"\\\\"),
        row.content_hash.encode(),
    )


class CopyStream:
    """A file-like object that psycopg2's ``copy_expert`` reads COPY data from, pulled from an iterator of rows.

    Every row is drawn (so validation sees the whole file), but once ``keep_writing()`` turns false no more rows
    are sent: the import is going to be rolled back, and the server need not store what will be thrown away.
    """

    def __init__(self, project_id: int, rows: Iterator[Row], keep_writing: Callable[[], bool]):
        self.project_id, self.rows, self.keep_writing = project_id, rows, keep_writing
        self.sent = 0

    def read(self, size: int = 65536) -> bytes:
        chunk: list[bytes] = []
        length = 0
        for row in self.rows:
            if not self.keep_writing():
                continue
            line = copy_line(self.project_id, row)
            chunk.append(line)
            length += len(line)
            self.sent += 1
            if length >= size:
                break
        return b"".join(chunk)

    readline = read


class Spool:
    """Validated rows kept in a temporary file until every record has passed (the SQLite path)."""

    def __init__(self, *, project_id: int, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.project_id = project_id
        self.rows = 0
        self._file: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            dir=directory, prefix="import-", suffix=".spool"
        )

    def add(self, row: Row) -> None:
        self._file.write(
            orjson.dumps([row.external_id, row.content_json.decode(), row.metadata_json.decode(), row.content_hash])
        )
        self._file.write(b"\n")
        self.rows += 1

    def load(self, cursor: Any, progress: ProgressCallback) -> None:
        """Insert every spooled row through ``cursor`` (a DB-API cursor inside the caller's transaction)."""
        self._file.flush()
        self._file.seek(0)
        batch: list[tuple[Any, ...]] = []
        done = 0
        for line in self._file:
            external_id, content, metadata, content_hash = orjson.loads(line)
            batch.append((self.project_id, external_id, content, metadata, content_hash))
            if len(batch) == SQLITE_BATCH:
                cursor.executemany(INSERT_SQL, batch)
                done += len(batch)
                batch.clear()
                progress(done)
        if batch:
            cursor.executemany(INSERT_SQL, batch)
            progress(done + len(batch))

    def close(self) -> None:
        self._file.close()
