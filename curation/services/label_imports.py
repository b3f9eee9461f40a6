"""Importing labels made elsewhere (a crowdsourcing export, another tool) as annotations, all or nothing, as a
background Job (API.md, Annotating: ``annotations/import``).

``annotation_import_start`` runs in the request: it stores the file or the posted records as an import of
examples does (``import_job_create``) and queues the job. ``annotation_import_run`` runs in the worker, in
stages that each report a count:

- reading: every record is read (the example import's readers: JSON Lines, JSON, CSV, Parquet) and checked
  (curation/importing/labels.py, then curation/services/label_checks.py); the good labels wait in a spool file.
- Then, only if every record was good, in one transaction: adding_annotators (an unknown name becomes a user who
  cannot sign in, a user who is not a member an annotator); writing_labels (the examples' queue entries locked,
  each label made its annotator's done assignment and an annotation of the example's current round);
  summarising (the review queue's summaries of every example that got labels); committing.

Imported annotations are ordinary ones: the labels read layer, disagreements, the review queue and agreement
count them by the same rule as submitted ones. A cancelled or failed job, or one whose worker died, leaves
nothing written.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from annotate.models import Annotation, Project, WorkItem
from annotate.services import queue
from annotate.services.projects import Annotators, annotators_ensure
from annotate.services.summaries import summaries_refresh
from curation.importing.labels import LabelError, parse_label
from curation.importing.readers import FileError, format_for, read_records
from curation.models import Job
from curation.services.import_checks import (
    NO_RECORDS,
    Problems,
    Reporter,
    fail_for_records,
    limits,
    succeed_unless_interrupted,
)
from curation.services.imports import import_job_create, run_with_upload
from curation.services.label_checks import (
    CheckedLabel,
    LabelChecks,
    LabelSpool,
    already_annotated_reason,
    annotated_already,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

logger = logging.getLogger(__name__)
# Labels written per round of statements (their assignments, then their annotations).
WRITE_CHUNK = 5_000
# Examples whose review-queue summaries are refreshed at a time.
SUMMARY_CHUNK = 2_000


def annotation_import_start(
    *,
    project: Project,
    created_by: User,
    upload: UploadedFile | None = None,
    records: list[Any] | None = None,
    enqueue: bool = True,
) -> Job:
    """Store the labels to import and queue the job that imports them (raises ImportRequestError when the
    request itself is unusable). ``enqueue=False``: the caller runs the job itself."""
    return import_job_create(
        kind=Job.Kind.ANNOTATION_IMPORT,
        project=project,
        created_by=created_by,
        upload=upload,
        records=records,
        options={},
        enqueue=enqueue,
    )


def annotation_import_run(*, job: Job) -> None:
    """Check the job's labels and write them, all or nothing; leaves the job finished and its upload removed, or
    raises JobInterrupted, having written nothing, when the job is cancelled or reaped meanwhile."""
    run_with_upload(job, run_label_import_job)


def run_label_import_job(job: Job, path: Path) -> None:
    run = _LabelRun(job)
    try:
        run.check(path)
        if run.checked_all_good() and run.write():
            logger.info("label import job %s: %s labels into project %s", job.pk, run.spool.count, run.project.pk)
            return
        if not fail_for_records(job, run.problems, records=run.records, file_error=run.file_error):
            job.fail(NO_RECORDS)
    finally:
        run.spool.close()


class _LabelRun:
    def __init__(self, job: Job):
        assert job.project is not None
        self.job, self.project = job, job.project
        # The time of the import: the latest a label may have been made, and when those without a time were.
        self.now = timezone.now()
        self.problems = Problems(limit=settings.WINNOW_IMPORT_MAX_ERRORS_SHOWN)
        self.reporter = Reporter(job)
        self.spool = LabelSpool(Path(settings.DATA_DIR) / "tmp")
        self.checks = LabelChecks(self.project, self.problems, self.spool)
        self.records = 0
        self.file_error: str | None = None

    def checked_all_good(self) -> bool:
        return not self.problems.total and self.file_error is None and self.spool.count > 0

    def check(self, path: Path) -> None:
        """Read and check every record of the file; the good labels go to the spool."""
        filename = self.job.params["filename"]
        parquet = format_for(filename) == "parquet"
        size = self.job.params.get("size") or path.stat().st_size
        self.reporter.stage("reading", total=None if parquet else size, unit="records" if parquet else "bytes")
        import_limits = limits()

        def reading(done: int, total: int) -> None:
            self.reporter.progress("reading", done, total)

        try:
            for raw in read_records(path, filename, limits=import_limits, progress=reading):
                self.records += 1
                if raw.error is not None:
                    self.checks.refuse(raw.number, raw.line, raw.error)
                    continue
                try:
                    record = parse_label(raw.value, now=self.now, max_depth=import_limits.depth)
                except LabelError as exc:
                    self.checks.refuse(raw.number, raw.line, exc.reason, field=exc.field)
                    continue
                self.checks.add(raw.number, raw.line, record)
            self.checks.flush()
        except FileError as exc:
            self.file_error = str(exc)

    @transaction.atomic
    def write(self) -> bool:
        """Write every checked label, in one transaction; False, with nothing kept, when an annotation of one of
        the same example and annotator was made after the label was checked (the records are named)."""
        checks, reporter, total = self.checks, self.reporter, self.spool.count
        reporter.stage("adding_annotators", total=len(checks.annotators))
        annotators = annotators_ensure(project=self.project, usernames=checks.annotators)
        reporter.update(len(checks.annotators), len(checks.annotators), force=True)
        reporter.stage("writing_labels", total=total)
        # The queue's lock order: memberships (above), then the examples' work items, then what hangs off them.
        items = queue.lock_items_by_id(self.project, checks.examples)
        written = 0
        for chunk in self.spool.chunks(WRITE_CHUNK):
            self._refuse_annotated_since(chunk)
            if self.problems.total:
                continue  # nothing will be kept: only look for more such records, to name them all
            pairs = [(label.example_id, annotators.ids[label.annotator]) for label in chunk]
            queue.labels_imported(project=self.project, items=items, pairs=pairs)
            Annotation.objects.bulk_create(
                (self._annotation(label, items, annotators) for label in chunk), batch_size=WRITE_CHUNK
            )
            written += len(chunk)
            reporter.update(written, total)
        if self.problems.total:
            transaction.set_rollback(True)
            return False
        if connection.vendor == "postgresql":
            # The summaries read back what was just written: their plans need statistics that know of it (this
            # may be the table's first hundred thousand rows, and nothing else analyses it in time).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE annotate_annotation")
        self._summarise(sorted(items))
        reporter.stage("committing", total=total, done=total)
        result = {
            "imported": total,
            "examples": len(items),
            "annotators": {
                "total": len(annotators.ids),
                "created": len(annotators.created),
                "added": len(annotators.added),
            },
            "seconds": reporter.finish(),
        }
        succeed_unless_interrupted(self.job, result, progress=(total, "records"))
        return True

    def _refuse_annotated_since(self, chunk: list[CheckedLabel]) -> None:
        """With the work items locked nobody can annotate these examples any more, but someone may have between
        the check and the lock."""
        taken = annotated_already(self.project, ((label.example_id, label.annotator) for label in chunk))
        for label in chunk:
            if (label.example_id, label.annotator) in taken:
                reason = already_annotated_reason(label.annotator, label.example)
                self.problems.add(label.number, label.line, reason, field="annotator")

    def _annotation(self, label: CheckedLabel, items: dict[int, WorkItem], annotators: Annotators) -> Annotation:
        return Annotation(
            example_id=label.example_id,
            project=self.project,
            annotator_id=annotators.ids[label.annotator],
            answers=label.answers,
            guideline_version=label.guideline_version,
            round=items[label.example_id].round,
            submitted_at=label.submitted_at or self.now,
            duration_ms=label.duration_ms,
        )

    def _summarise(self, example_ids: list[int]) -> None:
        """Refresh the review queue's summaries of every example that got labels (their work items locked)."""
        questions = list(self.project.questions.all())
        self.reporter.stage("summarising", total=len(example_ids))
        for start in range(0, len(example_ids), SUMMARY_CHUNK):
            chunk = example_ids[start : start + SUMMARY_CHUNK]
            summaries_refresh(project=self.project, example_ids=chunk, questions=questions, labels_may_drop=False)
            self.reporter.update(start + len(chunk), len(example_ids))
