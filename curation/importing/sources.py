"""Opening an import file for reading: gunzipping it within limits, and knowing how far through it a reader is.

Pure Python (no Django); the limits come from settings through the import service.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ProgressCallback = Callable[[int, int], None]
CHUNK = 1 << 20
BOM = b"\xef\xbb\xbf"
# The compression ratio is checked once this much has come out: a small file may compress very well.
RATIO_CHECKED_AFTER = 8_000_000


class FileError(ValueError):
    """The file as a whole cannot be read; the message says what to fix."""


@dataclass(slots=True)
class RawRecord:
    number: int
    line: int | None
    value: Any = None
    error: str | None = None
    size: int = 0
    # The record's JSON text where a reader parsed it with orjson, which rounds integers beyond 64 bits: kept
    # so that the rare suspect record can be read again exactly (curation/importing/values.py).
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """What an import accepts (settings ``WINNOW_IMPORT_*``, documented in README.md)."""

    record_bytes: int = 10_000_000
    columns: int = 1_000
    depth: int = 64
    decompressed_bytes: int = 20_000_000_000
    compression_ratio: int = 100


def mb(size: float) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def too_large(size: int, limit: int) -> str:
    return (
        f"the record is {mb(size)}, over the limit of {mb(limit)} per record "
        "(WINNOW_IMPORT_MAX_RECORD_BYTES); split or shorten it"
    )


class _Inflating(io.RawIOBase):
    """A gzip stream that refuses to expand past the limits: a decompression bomb fails in seconds, with a
    message, instead of holding the worker for minutes."""

    def __init__(self, raw: IO[bytes], limits: Limits):
        self.raw, self.limits = raw, limits
        self.gzip = gzip.GzipFile(fileobj=raw)
        self.out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self.gzip.readinto(buffer)
        self.out += count
        if self.out > self.limits.decompressed_bytes:
            raise FileError(
                f"the file expands to more than {mb(self.limits.decompressed_bytes)} when decompressed (the limit is "
                "WINNOW_IMPORT_MAX_DECOMPRESSED_BYTES); split it into smaller files"
            )
        read = max(self.raw.tell(), 1)
        if self.out > RATIO_CHECKED_AFTER and self.out > self.limits.compression_ratio * read:
            raise FileError(
                f"the file expands more than {self.limits.compression_ratio} times when decompressed ({mb(read)} "
                f"became {mb(self.out)} and counting), which is what a decompression bomb does, not a dataset; "
                "upload it uncompressed, or ask the administrator to raise WINNOW_IMPORT_MAX_COMPRESSION_RATIO"
            )
        return count

    def close(self) -> None:
        self.gzip.close()
        super().close()


class Source:
    """An open import file (gunzipped where needed) that knows how far through the raw bytes it is."""

    def __init__(self, path: Path, filename: str, limits: Limits):
        self.raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.total = path.stat().st_size
        self.stream: IO[bytes] = (
            io.BufferedReader(_Inflating(self.raw, limits), CHUNK) if filename.lower().endswith(".gz") else self.raw
        )

    def position(self) -> int:
        return self.raw.tell()

    def chunks(self, progress: ProgressCallback) -> Iterator[bytes]:
        """The file's bytes in chunks of about a megabyte, reporting progress after each."""
        while chunk := self.stream.read(CHUNK):
            yield chunk
            progress(self.position(), self.total)

    def close(self) -> None:
        self.stream.close()
        self.raw.close()
