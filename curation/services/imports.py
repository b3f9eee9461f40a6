"""Import: a file or posted records become Examples, all or nothing, as a background Job.

``import_start`` runs in the request: it stores the upload, creates the Job and enqueues the task once the
transaction commits. ``import_run`` runs in the worker: it validates every record while writing canonical rows to
a spool file, and only when all are good writes them to the examples table in one transaction.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from annotate.models import Example, Project
from curation.importing.readers import FileError, format_for, read_records, too_large
from curation.importing.records import RecordError, canonicalize
from curation.importing.spool import Spool
from curation.models import Job

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.files.uploadedfile import UploadedFile

logger = logging.getLogger(__name__)
ID_CHECK_BATCH = 5_000
PROGRESS_EVERY = 10_000
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
        if len(self.shown) >= self.limit and (not self.shown or number > self.shown[-1]["record"]):
            return
        entry: dict[str, Any] = {"record": number, "reason": reason}
        if line is not None:
            entry["line"] = line
        # Ids already in the project are found a batch later, after records that come behind them: keep the
        # first records, in order, whatever order they were found in.
        bisect.insort(self.shown, entry, key=lambda shown: shown["record"])
        del self.shown[self.limit :]


class _IdChecker:
    """Finds ids repeated within the file or already used in the project, querying the database in batches."""

    def __init__(self, project: Project, problems: _Problems):
        self.project, self.problems = project, problems
        self.seen: set[str] = set()
        self.pending: list[tuple[str, int, int | None]] = []

    def check(self, external_id: str, number: int, line: int | None) -> bool:
        if external_id in self.seen:
            self.problems.add(number, line, f"the id {external_id!r} appears more than once in this import")
            return False
        self.seen.add(external_id)
        self.pending.append((external_id, number, line))
        if len(self.pending) >= ID_CHECK_BATCH:
            self.flush()
        return True

    def flush(self) -> None:
        if not self.pending:
            return
        taken = set(
            Example.objects.for_project(self.project)
            .filter(external_id__in=[external_id for external_id, _, _ in self.pending])
            .values_list("external_id", flat=True)
        )
        for external_id, number, line in self.pending:
            if external_id in taken:
                self.problems.add(number, line, f"the project already has an example with id {external_id!r}")
        self.pending.clear()


def _holds_nul(data: bytes) -> bool:
    """Whether orjson output holds a NUL character, which PostgreSQL's jsonb cannot store."""
    return b"\\u0000" in data and NUL_ESCAPE.search(data) is not None


def _failure_message(problems: _Problems, records: int) -> str:
    noun = "record is" if problems.total == 1 else "records are"
    return f"{problems.total:,} of {records:,} {noun} invalid; nothing was imported. Fix them and import again."


def import_run(*, job: Job) -> None:
    """Validate the job's data, then write it all or not at all. Leaves the job succeeded or failed."""
    path = import_dir() / job.params["path"]
    try:
        _import(job, path)
    finally:
        path.unlink(missing_ok=True)


def _import(job: Job, path: Path) -> None:
    project = job.project
    assert project is not None
    limit = settings.WINNOW_IMPORT_MAX_RECORD_BYTES
    problems = _Problems(limit=settings.WINNOW_IMPORT_MAX_ERRORS_SHOWN)
    ids = _IdChecker(project, problems)
    shapes: Counter[str] = Counter()
    moved_to_metadata: Counter[str] = Counter()
    filename = job.params["filename"]
    unit = "records" if format_for(filename) == "parquet" else "bytes"
    spool = Spool(project_id=project.pk, vendor=connection.vendor, directory=Path(settings.DATA_DIR) / "tmp")

    def reading(done: int, total: int) -> None:
        job.report_progress(done=done, total=total, stage="validating", unit=unit)

    records = 0
    try:
        reading(0, job.params.get("size") or 0)
        for raw in read_records(path, filename, limit=limit, progress=reading):
            records += 1
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
            if external_id is None:
                external_id = f"j{job.pk}-{raw.number}"
            elif "\x00" in external_id or not ids.check(external_id, raw.number, raw.line):
                if "\x00" in external_id:
                    problems.add(raw.number, raw.line, "'id' holds a NUL character; remove it")
                continue
            shapes[record.shape] += 1
            moved_to_metadata.update(record.extra_keys)
            if not problems.total:
                spool.add(external_id, content_json, metadata_json, hashlib.sha256(content_json).hexdigest())
        ids.flush()
    except FileError as exc:
        spool.close()
        details = (
            {"errors": problems.shown, "total": problems.total, "shown": len(problems.shown)}
            if problems.total
            else None
        )
        job.fail(f"The file cannot be read: {exc}. Nothing was imported.", details)
        return

    if problems.total:
        spool.close()
        job.fail(
            _failure_message(problems, records),
            {"errors": problems.shown, "total": problems.total, "shown": len(problems.shown)},
        )
        return
    if not records:
        spool.close()
        job.fail("The file holds no records. Nothing was imported.")
        return

    def writing(done: int) -> None:
        job.report_progress(done=done, total=spool.rows, stage="writing", unit="records")

    writing(0)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            spool.load(cursor, writing)
    except IntegrityError:
        job.fail(
            "Another import added examples with the same ids while this one ran; nothing was imported. "
            "Import again to see which ids clash."
        )
        return
    finally:
        spool.close()
    job.report_progress(done=spool.rows, total=spool.rows, stage="", unit="records")
    job.succeed(
        {
            "imported": spool.rows,
            "shapes": dict(shapes),
            "moved_to_metadata": dict(moved_to_metadata),
        }
    )
    logger.info("import job %s: %s examples into project %s", job.pk, spool.rows, project.pk)
