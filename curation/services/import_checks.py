"""Checking an import's records as they stream by: the canonical row of each good record, the reasons of the
bad ones, the ids of the good ones (for the report of clashing ids), and the job's stage and progress."""

from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import IO, Any

import orjson
from django.conf import settings

from curation.importing import values
from curation.importing.readers import FileError, Limits, RawRecord, read_records, too_large
from curation.importing.records import CanonicalRecord, RecordError, canonicalize
from curation.importing.spool import Row, copy_text
from curation.models import Job

# A NUL escape is \u0000 after an even number of backslashes; after an odd number it is the text "\u0000" (code).
NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# Shapes whose content holds only strings (records.py checks them), so only their metadata can nest or hold numbers.
STRING_SHAPES = {"text", "instruction", "candidates"}
EXPONENT = re.compile(rb"[0-9]e[0-9]")  # how orjson writes floats of 1e16 and more
PROGRESS_EVERY = 0.5  # seconds between progress reports (each is a database write, and a cancellation check)


class JobInterrupted(Exception):
    """The job was cancelled, or taken from this worker by the reaper, while it ran; nothing was written."""


def limits() -> Limits:
    return Limits(
        record_bytes=settings.WINNOW_IMPORT_MAX_RECORD_BYTES,
        columns=settings.WINNOW_IMPORT_MAX_COLUMNS,
        depth=settings.WINNOW_IMPORT_MAX_DEPTH,
        decompressed_bytes=settings.WINNOW_IMPORT_MAX_DECOMPRESSED_BYTES,
        compression_ratio=settings.WINNOW_IMPORT_MAX_COMPRESSION_RATIO,
    )


@dataclass
class Problems:
    """Bad records, keeping the first few in full and counting the rest."""

    limit: int
    shown: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    def add(self, number: int, line: int | None, reason: str, *, field: str | None = None) -> None:
        self.total += 1
        if len(self.shown) < self.limit:
            self.shown.append(entry(number, line, reason, field=field))

    def merge(self, shown: list[dict[str, Any]], total: int) -> None:
        """Add problems found later (the ids), keeping the first ``limit`` of all by record number."""
        self.shown = sorted(self.shown + shown, key=lambda problem: problem["record"])[: self.limit]
        self.total += total

    def details(self) -> dict[str, Any]:
        return {"errors": self.shown, "total": self.total, "shown": len(self.shown)}


def record_at(number: int, line: int | None) -> str:
    """A record as a reason names it, with its line where the format has lines: the two columns of the table of bad
    records, so the one a reason points to is found there."""
    return f"record {number}" if line is None else f"record {number}, line {line}"


def entry(number: int, line: int | None, reason: str, *, field: str | None = None) -> dict[str, Any]:
    """A bad record as a job's error lists it; ``field`` names the key at fault, where one is."""
    problem: dict[str, Any] = {"record": number, "reason": reason}
    if line is not None:
        problem["line"] = line
    if field is not None:
        problem["field"] = field
    return problem


class Reporter:
    """Publishes the job's stage and progress, at most every ``PROGRESS_EVERY`` seconds, and notices when the job
    is no longer this worker's to run (cancelled or reaped): each report is also that check."""

    def __init__(self, job: Job):
        self.job = job
        self.name = ""
        self.unit = "records"
        self.started = self.last = time.monotonic()
        self.seconds: dict[str, float] = {}
        self.where: dict[str, tuple[int, int | None, str]] = {}  # each stage's last progress

    def stage(self, name: str, *, total: int | None, unit: str = "records", done: int = 0) -> None:
        now = time.monotonic()
        if self.name:
            self.seconds[self.name] = round(self.seconds.get(self.name, 0) + now - self.started, 3)
        self.name, self.unit, self.started = name, unit, now
        self.update(done, total, force=True)

    def resume(self, name: str) -> None:
        """Go back to an earlier stage where it was (the import reads and queues by turns)."""
        done, total, unit = self.where.get(name, (0, None, "records"))
        self.stage(name, done=done, total=total, unit=unit)

    def progress(self, stage: str, done: int, total: int | None) -> None:
        """Progress of ``stage``, published if that is the stage the job is in."""
        if stage != self.name:
            self.where[stage] = (done, total, self.where.get(stage, (0, None, self.unit))[2])
            return
        self.update(done, total)

    def update(self, done: int, total: int | None, *, force: bool = False) -> None:
        self.where[self.name] = (done, total, self.unit)
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        if not self.job.report_progress(done=done, total=total, stage=self.name, unit=self.unit):
            raise JobInterrupted(f"job {self.job.pk} was cancelled or handed to another worker")

    def finish(self) -> dict[str, float]:
        """Seconds spent in each stage. Writes nothing: the caller may hold the job's row locked."""
        if self.name:
            self.seconds[self.name] = round(self.seconds.get(self.name, 0) + time.monotonic() - self.started, 3)
            self.name = ""
        return self.seconds


def succeed_unless_interrupted(job: Job, result: dict[str, Any], *, progress: tuple[int, str]) -> None:
    """Mark the job succeeded inside the import's transaction, under a lock on its row: a cancellation that came
    first wins (raises JobInterrupted, so the import rolls back); one that comes later waits for the commit and
    finds the job done."""
    if not Job.objects.select_for_update().filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts):
        raise JobInterrupted(f"job {job.pk} was cancelled or handed to another worker before it committed")
    job.succeed(result, progress=progress)


NO_RECORDS = "The file holds no records. Nothing was imported."


def fail_for_records(job: Job, problems: Problems, *, records: int, file_error: str | None) -> bool:
    """Fail an import whose file could not be read, or held bad records, saying so and listing them; False (the
    job untouched) when it did neither."""
    details = problems.details() if problems.total else None
    if file_error is not None:
        job.fail(f"The file cannot be read: {file_error}. Nothing was imported.", details)
    elif problems.total:
        noun = "record" if records == 1 else "records"
        verb = "is" if problems.total == 1 else "are"
        message = f"{problems.total:,} of {records:,} {noun} {verb} invalid; nothing was imported."
        job.fail(f"{message} Fix {'it' if problems.total == 1 else 'them'} and import again.", details)
    else:
        return False
    return True


class IdLog:
    """The id of every good record, in a temporary file (never in memory): if the import fails, these go into
    a table to find, in one query, every id that is repeated or already in the project."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.file: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            dir=directory, prefix="import-ids-", suffix=".tsv"
        )
        self.count = 0

    def add(self, number: int, line: int | None, generated: bool, external_id: str) -> None:
        self.count += 1
        if "\\" in external_id or "\t" in external_id or "\n" in external_id or "\r" in external_id:
            external_id = copy_text(external_id)
        line_text = "\\N" if line is None else line
        self.file.write(f"{number}\t{line_text}\t{'t' if generated else 'f'}\t{external_id}\n".encode())

    def close(self) -> None:
        self.file.close()


@dataclass
class Tally:
    """What the validation pass has seen so far."""

    records: int = 0
    shapes: Counter[str] = field(default_factory=Counter)
    moved_to_metadata: Counter[str] = field(default_factory=Counter)
    file_error: str | None = None
    given_like_made: bool = False  # a given id starts as the ids made for records without one do


NUL_TEXT = b"\\u0000"


def _holds_nul(data: bytes) -> bool:
    """Whether orjson output holds a NUL character, which PostgreSQL's jsonb cannot store."""
    return NUL_TEXT in data and NUL_ESCAPE.search(data) is not None


def _content_holds_nul(content: dict[str, Any], content_json: bytes) -> bool:
    """``_holds_nul`` of the content, looked for in its strings where it has only strings: searching text for
    one character is many times as fast as searching JSON for an escape, and this runs for every record."""
    strings = content.values()
    if all(type(value) is str for value in strings):
        return any("\x00" in value for value in strings)
    return _holds_nul(content_json)


def _value_problem(
    raw: RawRecord, record: CanonicalRecord, content_json: bytes, metadata_json: bytes, depth: int
) -> str | None:
    """What the record's shape does not check: nesting, and integers orjson rounded (JSON Lines only).

    Cheap tests of the JSON text come first, so the common record is never walked: it cannot nest deeper than it
    has brackets, and a rounded integer is written as a float with an exponent (1.8446744073709552e19).
    """
    free_form = record.shape not in STRING_SHAPES and not isinstance(record.content.get("chosen"), str)
    parts = [(record.metadata, metadata_json)] if record.metadata else []
    if free_form:
        parts.append((record.content, content_json))
    for value, text in parts:
        if text.count(b"{") + text.count(b"[") > depth and values.scan(value, limit=depth)[0]:
            return values.too_deep(depth)
        suspect = raw.raw is not None and EXPONENT.search(text) and values.scan(value, limit=depth)[1]
        if suspect and (problem := values.rounded_integer(raw.raw)):  # type: ignore[arg-type]
            return problem
    return None


def _check(raw: RawRecord, id_prefix: str, limits: Limits) -> tuple[CanonicalRecord, Row] | str:
    """The canonical row of a read record and its shape, or why the record cannot be imported.

    Every record of an import passes here, so the common case is kept short.
    """
    try:
        record = canonicalize(raw.value)
        content_json = orjson.dumps(record.content, option=orjson.OPT_SORT_KEYS)
        metadata_json = orjson.dumps(record.metadata, option=orjson.OPT_SORT_KEYS) if record.metadata else b"{}"
    except RecordError as exc:
        return str(exc)
    except TypeError as exc:  # a value with no JSON form, e.g. a Parquet decimal; or see values.problem
        return values.problem(raw.value, limit=limits.depth) or f"holds a value that is not JSON: {exc}"
    size = len(content_json) + len(metadata_json)
    if size > limits.record_bytes:
        return too_large(size, limits.record_bytes)
    if _content_holds_nul(record.content, content_json) or _holds_nul(metadata_json):
        return "holds a NUL character (\\u0000), which cannot be stored; remove it"
    if problem := _value_problem(raw, record, content_json, metadata_json, limits.depth):
        return problem
    external_id = record.external_id
    if external_id is None:
        external_id = f"{id_prefix}{raw.number}"
    elif "\x00" in external_id:
        return "'id' holds a NUL character; remove it"
    elif not external_id.isascii() and values.problem(external_id, limit=1):
        return f"'id' {values.UNPAIRED_SURROGATE}"
    return record, Row(external_id, content_json, metadata_json, sha256(content_json).hexdigest())


def good_rows(
    job: Job, path: Path, *, id_prefix: str, problems: Problems, tally: Tally, ids: IdLog, reporter: Reporter
) -> Iterator[Row]:
    """Yield a row for every good record of the file; bad records and unreadable files are noted, not raised.
    A record without an id gets ``id_prefix`` and its number."""
    import_limits = limits()

    def reading(done: int, total: int) -> None:
        reporter.progress("reading", done, total)

    try:
        for raw in read_records(path, job.params["filename"], limits=import_limits, progress=reading):
            tally.records += 1
            if raw.error is not None:
                problems.add(raw.number, raw.line, raw.error)
                continue
            checked = _check(raw, id_prefix, import_limits)
            if isinstance(checked, str):
                problems.add(raw.number, raw.line, checked)
                continue
            record, row = checked
            if record.external_id is not None and record.external_id.startswith(id_prefix):
                tally.given_like_made = True
            ids.add(raw.number, raw.line, record.external_id is None, row.external_id)
            tally.shapes[record.shape] += 1
            if record.extra_keys:
                tally.moved_to_metadata.update(record.extra_keys)
            yield row
    except FileError as exc:
        tally.file_error = str(exc)
