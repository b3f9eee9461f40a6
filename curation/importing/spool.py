"""A temporary file of validated, canonical rows waiting to be written to the examples table in one go.

Validation writes here first so nothing reaches the database unless every record is good. Loading is
vendor-specific: PostgreSQL takes the file through COPY in one statement; SQLite gets large executemany batches.
Both run inside the caller's transaction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson

ProgressCallback = Callable[[int], None]
SQLITE_BATCH = 5_000
COPY_SQL = "COPY annotate_example (project_id, external_id, content, metadata, content_hash) FROM STDIN"
INSERT_SQL = (
    "INSERT INTO annotate_example (project_id, external_id, content, metadata, content_hash) VALUES (?, ?, ?, ?, ?)"
)


def _copy_text(value: str) -> str:
    """Escape a value for PostgreSQL's COPY text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class Spool:
    def __init__(self, *, project_id: int, vendor: str, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.project_id = project_id
        self.vendor = vendor
        self.rows = 0
        self._file: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            dir=directory, prefix="import-", suffix=".spool"
        )
        self._prefix = f"{project_id}\t".encode()

    def add(self, external_id: str, content_json: bytes, metadata_json: bytes, content_hash: str) -> None:
        if self.vendor == "postgresql":
            # orjson escapes control characters inside strings, so JSON text only needs its backslashes doubled.
            line = b"\t".join(
                (
                    self._prefix + _copy_text(external_id).encode(),
                    content_json.replace(b"\\", b"\\\\"),
                    metadata_json.replace(b"\\", b"\\\\"),
                    content_hash.encode(),
                )
            )
            self._file.write(line + b"\n")
        else:
            self._file.write(orjson.dumps([external_id, content_json.decode(), metadata_json.decode(), content_hash]))
            self._file.write(b"\n")
        self.rows += 1

    def load(self, cursor: Any, progress: ProgressCallback) -> None:
        """Write every spooled row through ``cursor`` (a DB-API cursor inside the caller's transaction)."""
        self._file.flush()
        self._file.seek(0)
        if self.vendor == "postgresql":
            cursor.copy_expert(COPY_SQL, _CountingReader(self._file, progress), size=1 << 20)
            return
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


class _CountingReader:
    """Hands the spool to COPY in chunks, counting the rows that have gone by."""

    def __init__(self, file: IO[bytes], progress: ProgressCallback):
        self.file, self.progress, self.rows, self.reads = file, progress, 0, 0

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        if data:
            self.rows += data.count(b"\n")
            self.reads += 1
            if self.reads % 32 == 0:
                self.progress(self.rows)
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.file.readline(size)
