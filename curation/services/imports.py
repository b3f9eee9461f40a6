"""Import: a file or posted records become Examples, all or nothing, as a background Job.

``import_start`` runs in the request: it stores the upload, creates the Job and enqueues the task once the
transaction commits (``import_job_create``, which label imports share: curation/services/label_imports.py).
``import_run`` runs in the worker: it validates every record and writes the canonical rows in one transaction
that is kept only if every record was good (curation/services/import_writers.py), then puts the new examples in
the annotation queue in the same transaction.

Stages the job reports, each with a count: reading (records read and checked, and on PostgreSQL written as they
pass), writing (SQLite), checking_ids (only when something failed: which ids clash), checking_duplicates,
queueing, committing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.db import transaction

from annotate.models import Project
from curation.importing import values
from curation.importing.readers import FileError, format_for
from curation.models import Job
from curation.services.import_checks import JobInterrupted
from curation.services.import_writers import run_import_job
from curation.services.jobs import job_enqueue
from curation.uploads import discard_upload, new_upload_path, upload_path

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

__all__ = ["ImportRequestError", "JobInterrupted", "import_job_create", "import_run", "import_start", "run_with_upload"]
logger = logging.getLogger(__name__)
ON_DUPLICATE = ("keep", "skip")
REQUEST_PROBLEMS_SHOWN = 10


class ImportRequestError(ValueError):
    """The import request itself is unusable (no file, wrong type); nothing was queued."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.details = details


def _shown_name(name: str) -> str:
    """The uploaded file's name as it may be stored and shown: no path, no control characters."""
    name = "".join(char for char in Path(name).name if char.isprintable())
    return name[-200:] or "upload"


def _write_upload(upload: UploadedFile, path: Path) -> int:
    with open(path, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path.stat().st_size


def _write_records(records: list[Any], path: Path) -> None:
    """Posted records go the way a JSON Lines file goes, so the same code checks them. What cannot even be
    written as JSON (integers beyond 64 bits, unpaired surrogates, nesting deeper than orjson goes) is refused
    here, with the request."""
    problems: list[dict[str, Any]] = []
    total = 0
    with open(path, "wb") as out:
        for number, record in enumerate(records, start=1):
            try:
                out.write(orjson.dumps(record) + b"\n")
            except TypeError as exc:
                total += 1
                if len(problems) < REQUEST_PROBLEMS_SHOWN:
                    reason = values.problem(record, limit=settings.WINNOW_IMPORT_MAX_DEPTH) or str(exc)
                    problems.append({"record": number, "reason": reason})
    if problems:
        first = problems[0]
        more = f" (and {total - 1:,} more)" if total > 1 else ""
        raise ImportRequestError(f"record {first['record']} {first['reason']}{more}; nothing was queued", problems)


@transaction.atomic
def import_start(
    *,
    project: Project,
    created_by: User,
    upload: UploadedFile | None = None,
    records: list[Any] | None = None,
    on_duplicate: str = "keep",
    enqueue: bool = True,
) -> Job:
    """Store the data to import and queue the job that imports it.

    ``on_duplicate="skip"`` leaves out records whose content is identical to an example the project already has.
    ``enqueue=False`` is for command-line callers that run the job themselves (``job.start()`` then
    ``import_run``), such as the demo loader.
    """
    if on_duplicate not in ON_DUPLICATE:
        raise ImportRequestError(f"on_duplicate must be 'keep' or 'skip', not {str(on_duplicate)[:40]!r}")
    return import_job_create(
        kind=Job.Kind.IMPORT,
        project=project,
        created_by=created_by,
        upload=upload,
        records=records,
        options={"on_duplicate": on_duplicate},
        enqueue=enqueue,
    )


@transaction.atomic
def import_job_create(
    *,
    kind: Job.Kind,
    project: Project,
    created_by: User,
    upload: UploadedFile | None,
    records: list[Any] | None,
    options: dict[str, Any],
    enqueue: bool = True,
) -> Job:
    """Store a file (or posted records) to import and create the job of this kind that reads it, queued once the
    transaction commits. Every import, of examples or of labels, takes its data this way: the same formats, the
    same checks of the request, the same stored file that the job removes however it ends."""
    if (upload is None) == (records is None):
        raise ImportRequestError("send either a file or a list of records")
    if upload is not None:
        filename = _shown_name(upload.name or "")
        try:
            format_for(filename)
        except FileError as exc:
            raise ImportRequestError(str(exc)) from None
        if not upload.size:
            raise ImportRequestError("the file is empty; choose the file that holds the records")
        path = new_upload_path("".join(Path(filename).suffixes[-2:]) or ".bin")
    else:
        assert records is not None
        if not records:
            raise ImportRequestError("'records' is empty; send at least one record")
        filename = "records.jsonl"
        path = new_upload_path(".jsonl")
    # Every stored file belongs to a job: if anything below fails, the file goes with the request. (A transaction
    # rolled back after this returns leaves a file no job names; the reaper's sweep removes it.)
    try:
        if upload is not None:
            source: dict[str, Any] = {"filename": filename, "size": _write_upload(upload, path)}
        else:
            assert records is not None
            _write_records(records, path)
            source = {"posted_records": len(records)}
        job = Job.objects.create(
            kind=kind,
            project=project,
            created_by=created_by,
            params={"path": path.name, "filename": filename, **options, **source},
            progress_unit="bytes",
        )
        if enqueue:
            job_enqueue(job)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job


def import_run(*, job: Job) -> None:
    """Validate the job's data and write it, all or nothing. Leaves the job finished and its upload removed;
    raises JobInterrupted, having written nothing, if the job is cancelled or reaped meanwhile."""
    run_with_upload(job, run_import_job)


def run_with_upload(job: Job, work: Callable[[Job, Path], None]) -> None:
    """Run an import job's ``work`` on its stored file, then remove the file: it has served its purpose, whatever
    the outcome. A job whose file is gone fails saying so. If ``work`` raises JobInterrupted the file stays (a
    cancellation has removed it already; a reaped job's retry needs it)."""
    path = upload_path(job)
    if path is None or not path.is_file():
        if job.fail("The uploaded file is no longer on the server; nothing was imported. Import the file again."):
            discard_upload(job)
        return
    work(job, path)
    discard_upload(job)
