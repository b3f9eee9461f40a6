"""Stream records out of an import file, one at a time, whatever its size.

Each reader yields RawRecord items: the record's number (counting from 1), the line it starts on where the format
has lines, and either the parsed value or the reason it could not be read. A problem that makes the rest of the
file unreadable (not UTF-8 in a CSV, a broken JSON array) raises FileError instead.

Pure Python (no Django): the import service drives these and decides what to do with what they yield.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ("jsonl", "json", "csv", "parquet")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
# CSV cells that hold JSON: lists and objects have no other way into a CSV file.
CSV_JSON_COLUMNS = {"messages", "conversations", "responses", "tools", "metadata"}
CSV_MAYBE_MESSAGES = {"prompt", "completion", "chosen", "rejected"}
CSV_OPTIONAL_COLUMNS = {"id", "system", "input", "context", "metadata"}
ProgressCallback = Callable[[int, int], None]


class FileError(ValueError):
    """The file as a whole cannot be read; the message says what to fix."""


@dataclass(slots=True)
class RawRecord:
    number: int
    line: int | None
    value: Any = None
    error: str | None = None
    size: int = 0


def format_for(filename: str) -> str:
    """The import format named by a file's extension (``.gz`` allowed after it), or FileError."""
    name = filename.lower()
    if name.endswith(".gz"):
        name = name[:-3]
        if name.endswith(".parquet"):
            raise FileError("Parquet files are compressed inside; upload the .parquet file without .gz")
    suffix = Path(name).suffix
    if suffix not in EXTENSIONS:
        raise FileError(
            f"unsupported file type {suffix or '(none)'!r}: upload .jsonl, .json, .csv or .parquet (optionally .gz)"
        )
    return EXTENSIONS[suffix]


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def too_large(size: int, limit: int) -> str:
    return (
        f"the record is {_mb(size)}, over the limit of {_mb(limit)} per record "
        "(WINNOW_IMPORT_MAX_RECORD_BYTES); split or shorten it"
    )


def _utf8_problem(data: bytes) -> str | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at position {exc.start + 1}); save the file as UTF-8"
    return None


class _Source:
    """An open file (gunzipped where needed) that knows how far through the raw bytes it is."""

    def __init__(self, path: Path, filename: str):
        self.raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.total = path.stat().st_size
        self.stream: IO[bytes] = gzip.GzipFile(fileobj=self.raw) if filename.lower().endswith(".gz") else self.raw

    def position(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


def read_jsonl(source: _Source, limit: int, progress: ProgressCallback) -> Iterator[RawRecord]:
    number = line_no = 0
    stream = source.stream
    while True:
        line = stream.readline(limit + 1)
        if not line:
            break
        line_no += 1
        if line_no == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if len(line) > limit and not line.endswith(b"\n"):
            size = len(line)
            while chunk := stream.readline(1 << 20):  # skip the rest of an oversized line without holding it
                size += len(chunk)
                if chunk.endswith(b"\n"):
                    break
            number += 1
            yield RawRecord(number, line_no, error=too_large(size, limit), size=size)
            continue
        if not line.strip():
            continue
        number += 1
        if number % 10_000 == 0:
            progress(source.position(), source.total)
        try:
            yield RawRecord(number, line_no, value=orjson.loads(line), size=len(line))
        except orjson.JSONDecodeError as exc:
            reason = _utf8_problem(line) or f"invalid JSON: {exc}"
            yield RawRecord(number, line_no, error=reason, size=len(line))


def read_json_array(source: _Source, limit: int, progress: ProgressCallback) -> Iterator[RawRecord]:
    stream = source.stream
    head = stream.read(4096)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    first = head.lstrip()[:1]
    rest: IO[bytes] = _Prefixed(head, stream)
    if first == b"{":
        # Many tools write JSON Lines under a .json name (pandas, Hugging Face datasets).
        source.stream = rest
        yield from read_jsonl(source, limit, progress)
        return
    if first != b"[":
        raise FileError("a .json file must hold a list of records ([{...}, ...]) or one record per line")
    number = 0
    try:
        for value in ijson.items(rest, "item", use_float=True):
            number += 1
            if number % 10_000 == 0:
                progress(source.position(), source.total)
            yield RawRecord(number, None, value=value)
    except ijson.JSONError as exc:
        raise FileError(f"invalid JSON after record {number}: {exc}") from None
    except UnicodeDecodeError:
        raise FileError(f"the file is not valid UTF-8 (after record {number}); save it as UTF-8") from None


class _Prefixed(io.RawIOBase):
    """A stream that first gives back bytes already read from it (for sniffing), then the rest."""

    def __init__(self, head: bytes, stream: IO[bytes]):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data = self.head if size < 0 else self.head[:size]
            self.head = self.head[len(data) :]
            return data
        return self.stream.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        if not self.head:
            return self.stream.readline(size)
        newline = self.head.find(b"\n")
        end = len(self.head) if newline < 0 else newline + 1
        if 0 <= size < end:
            end = size
        line, self.head = self.head[:end], self.head[end:]
        if line.endswith(b"\n") or (0 <= size <= len(line)):
            return line
        return line + self.stream.readline(size - len(line) if size >= 0 else -1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _csv_cell(column: str, cell: str) -> Any:
    if cell == "" and column in CSV_OPTIONAL_COLUMNS:
        return None
    if column in CSV_JSON_COLUMNS and cell:
        try:
            return orjson.loads(cell)
        except orjson.JSONDecodeError:
            raise ValueError(f"column '{column}' must hold JSON (a list or an object)") from None
    if column in CSV_MAYBE_MESSAGES and cell.startswith("[{"):
        try:
            parsed = orjson.loads(cell)
        except orjson.JSONDecodeError:
            return cell
        if isinstance(parsed, list) and all(isinstance(m, dict) and "role" in m for m in parsed):
            return parsed
    return cell


def _csv_record(header: list[str], row: list[str]) -> dict[str, Any]:
    if len(row) != len(header):
        raise ValueError(f"the row has {len(row)} fields but the header has {len(header)}")
    record: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for column, cell in zip(header, row, strict=True):
        if column.startswith("metadata."):
            if cell != "":
                metadata[column.removeprefix("metadata.")] = cell
            continue
        record[column] = _csv_cell(column, cell)
    if metadata:
        if isinstance(record.get("metadata"), dict):
            record["metadata"] = {**record["metadata"], **metadata}
        elif record.get("metadata") is None:
            record["metadata"] = metadata
    return record


def read_csv(source: _Source, limit: int, progress: ProgressCallback) -> Iterator[RawRecord]:
    text = io.TextIOWrapper(source.stream, encoding="utf-8-sig", errors="strict", newline="")
    csv.field_size_limit(limit)
    reader = csv.reader(text)
    number = 0
    try:
        header = next(reader, None)
        if header is None:
            return
        header = [column.strip() for column in header]
        duplicated = sorted({column for column in header if header.count(column) > 1})
        if duplicated or "" in header:
            raise FileError(f"the CSV header must name every column once (check: {', '.join(duplicated) or 'blank'})")
        while True:
            start_line = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not any(cell.strip() for cell in row):
                continue
            number += 1
            if number % 10_000 == 0:
                progress(source.position(), source.total)
            size = sum(len(cell) for cell in row)
            try:
                yield RawRecord(number, start_line, value=_csv_record(header, row), size=size)
            except ValueError as exc:
                yield RawRecord(number, start_line, error=str(exc), size=size)
    except UnicodeDecodeError:
        raise FileError(f"the file is not valid UTF-8 (near line {reader.line_num + 1}); save it as UTF-8") from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise FileError(f"line {reader.line_num + 1}: {too_large(limit + 1, limit)}") from None
        raise FileError(f"line {reader.line_num}: malformed CSV ({exc})") from None


def read_parquet(path: Path, limit: int, progress: ProgressCallback) -> Iterator[RawRecord]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileError(f"not a readable Parquet file: {exc}") from None
    total = parquet.metadata.num_rows
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=2048):
            for value in batch.to_pylist():
                number += 1
                if number % 10_000 == 0:
                    progress(number, total)
                yield RawRecord(number, None, value=value)
    except (pa.ArrowException, OSError) as exc:
        raise FileError(f"the Parquet file is damaged after row {number}: {exc}") from None


def read_records(path: Path, filename: str, *, limit: int, progress: ProgressCallback) -> Iterator[RawRecord]:
    """Yield every record of the file at ``path``; ``filename`` (the uploaded name) names its format."""
    fmt = format_for(filename)
    if fmt == "parquet":
        yield from read_parquet(path, limit, progress)
        return
    source = _Source(path, filename)
    try:
        reader = {"jsonl": read_jsonl, "json": read_json_array, "csv": read_csv}[fmt]
        yield from reader(source, limit, progress)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise FileError(f"the file is not a complete gzip file: {exc}") from None
    finally:
        source.close()
        progress(source.total, source.total)
