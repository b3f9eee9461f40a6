"""Getting validated, canonical rows into the examples table in bulk, inside the caller's transaction.

PostgreSQL: one binary COPY fed straight from the validation stream (``CopyStream``), so the worker validates the
next records while the server writes the last ones, each on its own core. Every row carries an id taken from the
table's sequence beforehand (``IdBlocks``), so the import knows which rows it wrote (and which record each one
is) without reading them back. The caller rolls the transaction back if any record turns out bad, so nothing is
kept unless everything is good.

SQLite (the embedded mode): rows wait in a temporary file (``Spool``) until every record has passed, then go in
with large executemany batches.
"""

from __future__ import annotations

import bisect
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

ProgressCallback = Callable[[int], None]
SQLITE_BATCH = 5_000
COPY_SQL = (
    "COPY annotate_example (id, project_id, external_id, content, metadata, content_hash) FROM STDIN (FORMAT binary)"
)
INSERT_SQL = (
    "INSERT INTO annotate_example (project_id, external_id, content, metadata, content_hash) VALUES (?, ?, ?, ?, ?)"
)
# PostgreSQL's binary COPY format: a signature, flags and header extension length; a -1 field count ends it.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
_ROW_START = struct.Struct(">hiqiqi")  # 6 fields; id and project id (8 bytes each); the length of external_id
_LENGTH = struct.Struct(">i")
JSONB_VERSION = b"\x01"


class Row(NamedTuple):
    external_id: str
    content_json: bytes
    metadata_json: bytes
    content_hash: str


def copy_text(value: str) -> str:
    """Escape a value for PostgreSQL's COPY text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def binary_row(example_id: int, project_id: int, row: Row) -> bytes:
    """One row in the binary COPY format: no escaping, and the server does not have to unescape either."""
    external_id = row.external_id.encode()
    content, metadata = row.content_json, row.metadata_json
    return b"".join(
        (
            _ROW_START.pack(6, 8, example_id, 8, project_id, len(external_id)),
            external_id,
            _LENGTH.pack(len(content) + 1),
            JSONB_VERSION,
            content,
            _LENGTH.pack(len(metadata) + 1),
            JSONB_VERSION,
            metadata,
            _LENGTH.pack(len(row.content_hash)),
            row.content_hash.encode(),
        )
    )


class IdBlocks:
    """Example ids taken from the sequence a block at a time as rows are written, and which ones were used.

    ``reserve(n)`` takes n ids from the sequence and gives them back as sorted, inclusive (first, last) ranges
    (one range unless another writer took ids meanwhile). Ids reserved but not used are gaps, as a rolled back
    insert leaves.
    """

    def __init__(self, reserve: Callable[[int], list[tuple[int, int]]], block: int = 1 << 16):
        self.reserve, self.block = reserve, block
        self.used: list[list[int]] = []  # [first, last] of the used part of each range, in order of use
        self._free: list[tuple[int, int]] = []
        self.count = 0

    def take(self) -> int:
        used = self.used[-1] if self.used else None
        # The common case: the next id of the range being used.
        if used is not None and self._free and self._free[-1][0] == used[1] + 1:
            first, last = self._free[-1]
            if first < last:
                self._free[-1] = (first + 1, last)
            else:
                self._free.pop()
            used[1] = first
            self.count += 1
            return first
        if not self._free:
            self._free = self.reserve(self.block)[::-1]
        first, last = self._free.pop()
        if first < last:
            self._free.append((first + 1, last))
        if used is not None and used[1] == first - 1:
            used[1] = first
        else:
            self.used.append([first, first])
        self.count += 1
        return first

    @property
    def ranges(self) -> list[tuple[int, int]]:
        return [(first, last) for first, last in self.used]

    def ranges_from(self, index: int) -> list[tuple[int, int]]:
        """The ids of the rows written from row ``index`` (counting from 0) on."""
        ranges, before = [], 0
        for first, last in self.used:
            size = last - first + 1
            if before + size > index:
                ranges.append((first + max(0, index - before), last))
            before += size
        return ranges

    def position(self, example_id: int) -> int:
        """Which row (counting from 0, in the order written) got this id."""
        starts = [first for first, _ in self.used]
        index = bisect.bisect_right(starts, example_id) - 1
        before = sum(last - first + 1 for first, last in self.used[:index])
        return before + example_id - self.used[index][0]


class CopyStream:
    """A file-like object that psycopg2's ``copy_expert`` reads binary COPY data from, pulled from rows.

    With ``chunk`` (bytes), one COPY ends once that much has been sent, and ``next_chunk()`` lets the next COPY
    carry on from the same rows, until ``done``. Every row is drawn (so validation sees the whole file), but once
    ``keep_writing()`` turns false no more rows are sent: the import is going to be rolled back, and the server
    need not store what will be thrown away. An exception raised while drawing rows is kept in ``error``:
    psycopg2 reports it only as a failed COPY.
    """

    def __init__(
        self,
        project_id: int,
        rows: Iterator[Row],
        keep_writing: Callable[[], bool],
        ids: IdBlocks,
        chunk: int | None = None,
    ):
        self.project_id, self.rows, self.keep_writing, self.ids = project_id, rows, keep_writing, ids
        self.chunk = chunk
        self.sent = 0
        self.done = False
        self.error: BaseException | None = None
        self._started = self._ended = False
        self._chunk_bytes = 0

    def next_chunk(self) -> None:
        self._started = self._ended = False
        self._chunk_bytes = 0

    def drain(self) -> None:
        """Draw the rows left without sending them."""
        for _ in self.rows:
            pass
        self.done = True

    def read(self, size: int = 65536) -> bytes:
        if self._ended:
            return b""
        parts: list[bytes] = []
        if not self._started:
            parts.append(COPY_HEADER)
            self._started = True
        length = 0
        try:
            while self.chunk is None or self._chunk_bytes < self.chunk:
                row = next(self.rows, None)
                if row is None:
                    self.done = True
                    break
                if not self.keep_writing():
                    continue
                data = binary_row(self.ids.take(), self.project_id, row)
                parts.append(data)
                length += len(data)
                self._chunk_bytes += len(data)
                self.sent += 1
                if length >= size:
                    return b"".join(parts)
        except BaseException as exc:
            self.error = exc
            raise
        parts.append(COPY_TRAILER)
        self._ended = True
        return b"".join(parts)

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
