"""Stream records out of an import file, one at a time, whatever its size.

Each reader yields RawRecord items: the record's number (counting from 1), the line it starts on where the format
has lines, and either the parsed value or the reason it could not be read. A problem that makes the rest of the
file unreadable (not UTF-8 in a CSV, a broken JSON array) raises FileError instead.

Readers work through the file in chunks of about a megabyte and skip runs of blank lines a chunk at a time, so
a file of nothing but blank lines (or a gzip file that inflates to gigabytes of them) is done with in seconds.

Pure Python (no Django): the import service drives these and decides what to do with what they yield.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import itertools
import json
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from curation.importing.jsonarray import read_json_array
from curation.importing.parquet import read_parquet
from curation.importing.sources import BOM, FileError, Limits, ProgressCallback, RawRecord, Source, too_large

__all__ = ["FileError", "Limits", "RawRecord", "format_for", "read_records", "too_large"]

FORMATS = ("jsonl", "json", "csv", "parquet")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
# CSV cells that hold JSON: lists and objects have no other way into a CSV file.
CSV_JSON_COLUMNS = {"messages", "conversations", "responses", "tools", "metadata"}
CSV_MAYBE_MESSAGES = {"prompt", "completion", "chosen", "rejected"}
CSV_OPTIONAL_COLUMNS = {"id", "system", "input", "context", "metadata"}


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


def _utf8_problem(data: bytes) -> str | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at position {exc.start + 1}); save the file as UTF-8"
    return None


def json_line_problem(line: bytes, exc: Exception) -> str:
    """Why a line of JSON Lines could not be read, in words a user can act on."""
    text = str(exc)
    not_utf8 = _utf8_problem(line)
    if not_utf8:
        return not_utf8
    if "surrogate" in text:
        return "invalid JSON: it holds an unpaired UTF-16 surrogate escape (such as \\ud800), which is not text"
    if "recursion" in text:
        return "invalid JSON: it is nested too deeply to read; flatten it"
    return f"invalid JSON: {text}"


def _lines(chunks: Iterator[bytes], limit: int) -> Iterator[tuple[int, bytes | int]]:
    """(line number, line) for every line that is not blank, or (line number, size) for one over ``limit``.

    Blank chunks are skipped whole; a line longer than the limit is counted, never held.
    """
    line_no = 0
    pending: list[bytes] = []  # the start of a line that continues in the next chunk
    pending_size = 0
    first = True
    for chunk in chunks:
        if first:
            chunk, first = chunk.removeprefix(BOM), False
        if not pending and chunk.isspace():
            line_no += chunk.count(b"\n")
            continue
        parts = chunk.split(b"\n")
        tail = parts.pop()
        if pending:
            head = parts[0] if parts else tail
            pending_size += len(head)
            if pending_size <= limit:
                pending.append(head)
            if parts:
                line_no += 1
                yield (line_no, b"".join(pending)) if pending_size <= limit else (line_no, pending_size)
                pending, pending_size = [], 0
                parts = parts[1:]
            else:
                continue
        for line in parts:
            line_no += 1
            if line and not line.isspace():
                yield (line_no, line) if len(line) <= limit else (line_no, len(line))
        if tail:
            pending, pending_size = ([tail] if len(tail) <= limit else []), len(tail)
    if pending_size:
        line_no += 1
        if pending_size > limit:
            yield line_no, pending_size
        else:
            line = b"".join(pending)
            if not line.isspace():
                yield line_no, line


def read_jsonl(chunks: Iterator[bytes], limits: Limits) -> Iterator[RawRecord]:
    number = 0
    for line_no, line in _lines(chunks, limits.record_bytes):
        number += 1
        if isinstance(line, int):
            yield RawRecord(number, line_no, error=too_large(line, limits.record_bytes), size=line)
            continue
        try:
            yield RawRecord(number, line_no, value=orjson.loads(line), size=len(line), raw=line)
        except orjson.JSONDecodeError as exc:
            yield RawRecord(number, line_no, error=json_line_problem(line, exc), size=len(line))


def _csv_json(column: str, cell: str) -> Any:
    # Python's json, not orjson: it keeps integers beyond 64 bits and unpaired surrogates as they are, so that
    # they are reported by name (curation/importing/values.py) instead of rounded or refused as "not JSON".
    try:
        return json.loads(cell)
    except (ValueError, RecursionError):
        raise ValueError(f"column '{column}' must hold JSON (a list or an object)") from None


def _csv_cell(column: str, cell: str) -> Any:
    if cell == "" and column in CSV_OPTIONAL_COLUMNS:
        return None
    if column in CSV_JSON_COLUMNS and cell:
        return _csv_json(column, cell)
    if column in CSV_MAYBE_MESSAGES and cell.startswith("[{"):
        try:
            parsed = _csv_json(column, cell)
        except ValueError:
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


class _CsvLines:
    """Lines of text for the csv module that knows the line each row starts on, and skips runs of blank lines a
    chunk at a time while the csv reader is between rows (inside a quoted cell, blank lines are content)."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks = chunks
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self.line_no = 0  # lines handed out or skipped so far
        self.row_start = 0  # the line the current row started on
        self.between_rows = True

    def _line(self, line: str) -> str:
        self.line_no += 1
        if self.between_rows:
            self.row_start, self.between_rows = self.line_no, False
        return line

    def __iter__(self) -> Iterator[str]:
        tail = ""
        for chunk in self.chunks:
            text = tail + self.decoder.decode(chunk)
            if self.between_rows and text.isspace():
                newline = text.rfind("\n")
                self.line_no += text.count("\n")
                tail = text[newline + 1 :]
                continue
            *lines, tail = text.split("\n")
            for line in lines:
                if self.between_rows and (not line or line.isspace()):
                    self.line_no += 1  # a blank line between rows: the csv module would make an empty row of it
                    continue
                yield self._line(line + "\n")
        tail += self.decoder.decode(b"", final=True)
        if tail:
            yield self._line(tail)


def _header(row: list[str] | None, limits: Limits) -> list[str] | None:
    if row is None:
        return None
    if len(row) > limits.columns:
        raise FileError(
            f"the CSV header has {len(row):,} columns; at most {limits.columns:,} are allowed "
            "(WINNOW_IMPORT_MAX_COLUMNS). Check that the file is comma-separated, and keep only the columns you need"
        )
    header = [column.strip() for column in row]
    # Counted in one pass: a header of a million columns must not take a million passes.
    duplicated = sorted(column for column, count in Counter(header).items() if count > 1)
    if duplicated or "" in header:
        shown = ", ".join(repr(column) for column in duplicated[:10]) or "a blank column name"
        raise FileError(f"the CSV header must name every column once (check: {shown})")
    return header


def read_csv(chunks: Iterator[bytes], limits: Limits) -> Iterator[RawRecord]:
    lines = _CsvLines(chunks)
    csv.field_size_limit(limits.record_bytes)
    reader = csv.reader(lines)
    number = 0
    try:
        header = _header(next(reader, None), limits)
        while header is not None:
            lines.between_rows = True
            row = next(reader, None)
            if row is None:
                break
            if not any(cell.strip() for cell in row):
                continue
            number += 1
            size = sum(len(cell) for cell in row)
            try:
                yield RawRecord(number, lines.row_start, value=_csv_record(header, row), size=size)
            except ValueError as exc:
                yield RawRecord(number, lines.row_start, error=str(exc), size=size)
    except UnicodeDecodeError:
        raise FileError(f"the file is not valid UTF-8 (near line {lines.line_no + 1}); save it as UTF-8") from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            limit = limits.record_bytes
            raise FileError(f"line {lines.row_start}: {too_large(limit + 1, limit)}") from None
        raise FileError(f"line {lines.line_no}: malformed CSV ({exc})") from None


def _first_text(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first character that is not white space (b"" for none), and the chunks from the one that holds it."""
    for chunk in chunks:
        text = chunk.removeprefix(BOM).lstrip()
        if text:
            return text[:1], itertools.chain([chunk], chunks)
    return b"", iter(())


def read_records(path: Path, filename: str, *, limits: Limits, progress: ProgressCallback) -> Iterator[RawRecord]:
    """Yield every record of the file at ``path``; ``filename`` (the uploaded name) names its format."""
    fmt = format_for(filename)
    if fmt == "parquet":
        yield from read_parquet(path, limits, progress)
        return
    source = Source(path, filename, limits)
    try:
        chunks = source.chunks(progress)
        if fmt == "jsonl":
            yield from read_jsonl(chunks, limits)
        elif fmt == "json":
            first, chunks = _first_text(chunks)
            if first == b"{":
                # Many tools write JSON Lines under a .json name (pandas, Hugging Face datasets).
                yield from read_jsonl(chunks, limits)
            elif first == b"[":
                yield from read_json_array(chunks, limits)
            elif first:
                raise FileError("a .json file must hold a list of records ([{...}, ...]) or one record per line")
        else:
            yield from read_csv(chunks, limits)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise FileError(f"the file is not a complete gzip file: {exc}") from None
    finally:
        source.close()
        progress(source.total, source.total)
