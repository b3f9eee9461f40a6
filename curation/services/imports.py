"""Import: a file or posted records become Examples, all or nothing, as a background Job.

``import_start`` runs in the request: it stores the upload, creates the Job and enqueues the task once the
transaction commits. ``import_run`` runs in the worker: it validates every record and writes the canonical rows
in one transaction that is kept only if every record was good (see curation/importing/spool.py for how each
database is fed).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from annotate.models import Example, Project
from annotate.services.queue import work_items_create
from curation.importing.readers import FileError, format_for, read_records, too_large
from curation.importing.records import RecordError, canonicalize
from curation.importing.spool import COPY_SQL, CopyStream, Row, Spool
from curation.models import Job

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.files.uploadedfile import UploadedFile

logger = logging.getLogger(__name__)
ID_CHECK_BATCH = 5_000
ProgressCallback = Callable[[int, int], None]
# A NUL escape is \u0000 after an even number of backslashes; after an odd number it is the text "\u0000" (code).
NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class ImportRequestError(ValueError):
    """The import request itself is unusable (no file, wrong type); nothing was queued."""


def import_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def _stored_path(suffix: str) -> Path:
    directory = import_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{uuid.uuid4().hex}{suffix}"


@transaction.atomic
def import_start(
    *,
    project: Project,
    created_by: AbstractBaseUser,
    upload: UploadedFile | None = None,
    records: list[Any] | None = None,
    enqueue: bool = True,
) -> Job:
    """Store the data to import and queue the job that imports it.

    ``enqueue=False`` is for command-line callers that run the job themselves (``job.start()`` then
    ``import_run``), such as the demo loader.
    """
    if (upload is None) == (records is None):
        raise ImportRequestError("send either a file or a list of records")
    if upload is not None:
        filename = Path(upload.name or "").name
        try:
            format_for(filename)
        except FileError as exc:
            raise ImportRequestError(str(exc)) from None
        path = _stored_path("".join(Path(filename).suffixes[-2:]) or ".bin")
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        source = {"filename": filename, "size": path.stat().st_size}
    else:
        assert records is not None
        if not records:
            raise ImportRequestError("'records' is empty; send at least one record")
        # Posted records take the same path as a JSONL file, so they are checked by the same code.
        filename = "records.jsonl"
        path = _stored_path(".jsonl")
        with open(path, "wb") as out:
            for record in records:
                out.write(orjson.dumps(record) + b"\n")
        source = {"posted_records": len(records)}
    job = Job.objects.create(
        kind=Job.Kind.IMPORT,
        project=project,
        created_by=created_by,
        params={"path": path.name, "filename": filename, **source},
        progress_unit="bytes",
    )
    if enqueue:
        from curation.tasks import run_import  # imported here because the task module imports this one

        transaction.on_commit(lambda: run_import.delay(job.pk))
    return job


@dataclass
class _Problems:
    """Bad records, keeping the first few in full and counting the rest."""

    limit: int
    shown: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    def add(self, number: int, line: int | None, reason: str) -> None:
        self.total += 1
        if len(self.shown) < self.limit:
            entry: dict[str, Any] = {"record": number, "reason": reason}
            if line is not None:
                entry["line"] = line
            self.shown.append(entry)


class _IdChecker:
    """Ids must be new: not repeated in the import, not already used in the project."""

    def __init__(self, project: Project, problems: _Problems):
        self.problems = problems
        # The project's ids are read once, before anything is written, rather than looked up as the import goes:
        # lookups made while COPY fills the table plan against statistics that no longer hold, and crawl.
        self.taken = set(
            Example.objects.for_project(project).values_list("external_id", flat=True).iterator(chunk_size=20_000)
        )
        self.seen: set[str] = set()

    def accept(self, external_id: str, number: int, line: int | None, *, given: bool) -> bool:
        if given and external_id in self.seen:
            self.problems.add(number, line, f"the id {external_id!r} appears more than once in this import")
            return False
        if external_id in self.taken:
            reason = f"the project already has an example with id {external_id!r}"
            self.problems.add(number, line, reason if given else f"{reason}; give this record an id of its own")
            return False
        if given:
            self.seen.add(external_id)
        return True


def _holds_nul(data: bytes) -> bool:
    """Whether orjson output holds a NUL character, which PostgreSQL's jsonb cannot store."""
    return b"\\u0000" in data and NUL_ESCAPE.search(data) is not None


def _failure_message(problems: _Problems, records: int) -> str:
    noun = "record is" if problems.total == 1 else "records are"
    return f"{problems.total:,} of {records:,} {noun} invalid; nothing was imported. Fix them and import again."


def import_run(*, job: Job) -> None:
    """Validate the job's data and write it, all or nothing. Leaves the job succeeded or failed."""
    path = import_dir() / job.params["path"]
    try:
        _import(job, path)
    finally:
        path.unlink(missing_ok=True)


@dataclass
class _Tally:
    """What the validation pass has seen so far."""

    records: int = 0
    shapes: Counter[str] = field(default_factory=Counter)
    moved_to_metadata: Counter[str] = field(default_factory=Counter)
    file_error: str | None = None


def _canonical_rows(
    job: Job, path: Path, *, problems: _Problems, ids: _IdChecker, tally: _Tally, progress: ProgressCallback
) -> Iterator[Row]:
    """Yield a row for every good record of the file; bad records and unreadable files are noted, not raised."""
    limit = settings.WINNOW_IMPORT_MAX_RECORD_BYTES
    try:
        for raw in read_records(path, job.params["filename"], limit=limit, progress=progress):
            tally.records += 1
            if raw.error is not None:
                problems.add(raw.number, raw.line, raw.error)
                continue
            try:
                record = canonicalize(raw.value)
                content_json = orjson.dumps(record.content, option=orjson.OPT_SORT_KEYS)
                metadata_json = orjson.dumps(record.metadata, option=orjson.OPT_SORT_KEYS)
            except RecordError as exc:
                problems.add(raw.number, raw.line, str(exc))
                continue
            except TypeError as exc:  # e.g. a Parquet decimal or binary column
                problems.add(raw.number, raw.line, f"holds a value that is not JSON: {exc}")
                continue
            size = len(content_json) + len(metadata_json)
            if size > limit:
                problems.add(raw.number, raw.line, too_large(size, limit))
                continue
            if _holds_nul(content_json) or _holds_nul(metadata_json):
                problems.add(raw.number, raw.line, "holds a NUL character (\\u0000), which cannot be stored; remove it")
                continue
            external_id = record.external_id
            if external_id is not None and "\x00" in external_id:
                problems.add(raw.number, raw.line, "'id' holds a NUL character; remove it")
                continue
            given = external_id is not None
            external_id = external_id if given else f"j{job.pk}-{raw.number}"
            if not ids.accept(external_id, raw.number, raw.line, given=given):
                continue
            tally.shapes[record.shape] += 1
            tally.moved_to_metadata.update(record.extra_keys)
            yield Row(external_id, content_json, metadata_json, hashlib.sha256(content_json).hexdigest())
    except FileError as exc:
        tally.file_error = str(exc)


def _import(job: Job, path: Path) -> None:
    project = job.project
    assert project is not None
    problems = _Problems(limit=settings.WINNOW_IMPORT_MAX_ERRORS_SHOWN)
    tally = _Tally()
    unit = "records" if format_for(job.params["filename"]) == "parquet" else "bytes"
    streaming = connection.vendor == "postgresql"
    stage = "importing" if streaming else "validating"

    def reading(done: int, total: int) -> None:
        job.report_progress(done=done, total=total, stage=stage, unit=unit)

    ids = _IdChecker(project, problems)
    rows = _canonical_rows(job, path, problems=problems, ids=ids, tally=tally, progress=reading)
    reading(0, job.params.get("size") or 0)

    def all_good() -> bool:
        return not problems.total and tally.file_error is None

    try:
        written = _write_streaming(job, rows, all_good) if streaming else _write_spooled(job, rows, all_good)
    except IntegrityError:
        job.fail(
            "Another import added examples with the same ids while this one ran; nothing was imported. "
            "Import again to see which ids clash."
        )
        return
    details = {"errors": problems.shown, "total": problems.total, "shown": len(problems.shown)}
    if tally.file_error is not None:
        job.fail(
            f"The file cannot be read: {tally.file_error}. Nothing was imported.", details if problems.total else None
        )
    elif problems.total:
        job.fail(_failure_message(problems, tally.records), details)
    elif not tally.records:
        job.fail("The file holds no records. Nothing was imported.")
    else:
        job.report_progress(done=written, total=written, stage="", unit="records")
        job.succeed(
            {"imported": written, "shapes": dict(tally.shapes), "moved_to_metadata": dict(tally.moved_to_metadata)}
        )
        logger.info("import job %s: %s examples into project %s", job.pk, written, project.pk)


def _write_streaming(job: Job, rows: Iterator[Row], all_good: Callable[[], bool]) -> int:
    """PostgreSQL: COPY straight from validation in one transaction, rolled back unless every record was good."""
    assert job.project is not None
    stream = CopyStream(job.project.pk, rows, keep_writing=all_good)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.copy_expert(COPY_SQL, stream, size=1 << 20)
        if not all_good():
            transaction.set_rollback(True)
            return stream.sent
        work_items_create(project=job.project)
    return stream.sent


def _write_spooled(job: Job, rows: Iterator[Row], all_good: Callable[[], bool]) -> int:
    """SQLite: validate everything into a spool file, then insert it in one transaction if all was good."""
    assert job.project is not None
    spool = Spool(project_id=job.project.pk, directory=Path(settings.DATA_DIR) / "tmp")
    try:
        for row in rows:
            if all_good():
                spool.add(row)
        if not all_good() or not spool.rows:
            return 0

        def writing(done: int) -> None:
            job.report_progress(done=done, total=spool.rows, stage="writing", unit="records")

        writing(0)
        with transaction.atomic():
            with connection.cursor() as cursor:
                spool.load(cursor, writing)
            work_items_create(project=job.project)
        return spool.rows
    finally:
        spool.close()
