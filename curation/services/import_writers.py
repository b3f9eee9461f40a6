"""Running an import job: check the records, write them, all or nothing, and record how it went.

PostgreSQL: one transaction. A binary COPY is fed straight from validation, every row with an id taken from the
sequence beforehand (so the import knows its rows without reading them back), and rolled back if a record turns
out bad or an id clashes. Then, still in the transaction: look for content the project already had (only when
it had examples), leave those records out if asked, queue the new examples for annotation (rows made from the
ids alone, a chunk at a time between the COPYs; WorkItem has no foreign-key constraints to check), create the job
that indexes the new examples for search (queued once this commits; curation/services/search_index.py), and mark
the job succeeded under a lock on its row, so a cancellation either wins before the commit or finds the job
finished.

SQLite (embedded): the records wait in a spool file until all have passed, then go in in one transaction.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2.errors
from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction

from annotate.models import Example
from annotate.services.queue import work_items_create
from curation.importing.readers import format_for
from curation.importing.spool import COPY_SQL, CopyStream, IdBlocks, Spool
from curation.models import Job
from curation.services.import_checks import (
    NO_RECORDS,
    IdLog,
    Problems,
    Reporter,
    Tally,
    fail_for_records,
    good_rows,
    succeed_unless_interrupted,
)
from curation.services.import_ids import id_problems
from curation.services.search_index import search_index_schedule

logger = logging.getLogger(__name__)
# Rows per COPY statement, in bytes of COPY data (some 38,000 rows of 1.7 KB): each statement's foreign-key
# checks (the examples' project) are queued in the server's memory until it ends.
COPY_CHUNK = 64 << 20
# Runs of one import at most: the first with the plain made-up ids, then (only if a given id looked like one)
# under a random prefix; a third is there should a file also guess a random one, which nobody can.
MADE_ID_ATTEMPTS = 3
# The sequence's name is looked up once (a subquery), not once per id: that lookup cost ten times the nextval.
RESERVE_SQL = """
SELECT MIN(v), MAX(v) FROM (
    SELECT v, v - ROW_NUMBER() OVER (ORDER BY v) AS run
    FROM (
        SELECT nextval((SELECT pg_get_serial_sequence('annotate_example', 'id'))::regclass) AS v
        FROM generate_series(1, %s)
    ) taken
) numbered
GROUP BY run ORDER BY 1
"""
# Examples this import wrote (by id) whose content the project already had (in examples it did not write).
DUPLICATES_SQL = """
INSERT INTO import_duplicates (id)
SELECT n.id
FROM unnest(%(lo)s::bigint[], %(hi)s::bigint[]) AS r(lo, hi)
JOIN annotate_example n ON n.id BETWEEN r.lo AND r.hi
WHERE n.project_id = %(project)s AND n.content_hash IN (
    SELECT o.content_hash FROM annotate_example o
    WHERE o.project_id = %(project)s AND NOT EXISTS (
        SELECT 1 FROM unnest(%(lo)s::bigint[], %(hi)s::bigint[]) AS mine(lo, hi) WHERE o.id BETWEEN mine.lo AND mine.hi
    )
)
"""


@dataclass
class Written:
    """What a writer did: whether it committed (the job is then marked succeeded), how many rows it kept, and
    whether it rolled back because an id clashed."""

    succeeded: bool = False
    rows: int = 0
    clash: bool = False


def _reserve_ids(count: int) -> list[tuple[int, int]]:
    # The separate connection: the import's own one is busy with the COPY. Sequence values are taken for good
    # whatever happens to the transaction, so the ids are this import's alone.
    with connections["progress"].cursor() as cursor:
        cursor.execute(RESERVE_SQL, [count])
        return [(first, last) for first, last in cursor.fetchall()]


def _plan_knobs(cursor: Any, *, off: tuple[str, ...]) -> None:
    for knob in off:
        cursor.execute(f"SET LOCAL {knob} = off")


def _plan_defaults(cursor: Any, knobs: tuple[str, ...]) -> None:
    for knob in knobs:
        cursor.execute(f"SET LOCAL {knob} TO DEFAULT")


class _Run:
    """One run of an import job; ``write_postgres``/``write_sqlite`` do the writing."""

    def __init__(self, job: Job, path: Path, id_prefix: str):
        assert job.project is not None
        self.job, self.path, self.project, self.id_prefix = job, path, job.project, id_prefix
        self.problems = Problems(limit=settings.WINNOW_IMPORT_MAX_ERRORS_SHOWN)
        self.tally = Tally()
        self.reporter = Reporter(job)
        self.skip = job.params.get("on_duplicate") == "skip"
        self.ids = IdLog(Path(settings.DATA_DIR) / "tmp")

    def all_good(self) -> bool:
        return not self.problems.total and self.tally.file_error is None

    def rows(self) -> Any:
        return good_rows(
            self.job,
            self.path,
            id_prefix=self.id_prefix,
            problems=self.problems,
            tally=self.tally,
            ids=self.ids,
            reporter=self.reporter,
        )

    def made_ids_may_clash(self) -> bool:
        """Whether an id this run made for a record without one may be what clashed: a given id, in the file or
        already in the project, has the form of the made ones."""
        if self.tally.given_like_made:
            return True
        return Example.objects.for_project(self.project).filter(external_id__startswith=self.id_prefix).exists()

    def duplicates_shown(self, positions: list[int], total: int) -> dict[str, Any]:
        records = [position + 1 for position in positions]  # every record was good, so row n is record n + 1
        return {"total": total, "records": records, "skipped": self.skip and total > 0}

    def write_postgres(self, had_examples: bool) -> Written:
        rows = self.rows()
        with transaction.atomic(), connection.cursor() as cursor:
            # Foreign keys are checked as each statement ends, not all at the commit, which would queue a million
            # checks in the server's memory.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            blocks = IdBlocks(_reserve_ids)
            stream = CopyStream(self.project.pk, rows, keep_writing=self.all_good, ids=blocks, chunk=COPY_CHUNK)
            while True:
                queued = blocks.count
                try:
                    cursor.copy_expert(COPY_SQL, stream, size=1 << 20)
                except Exception as exc:
                    if stream.error is not None:
                        raise stream.error from None  # cancelled, reaped or out of time while reading
                    # copy_expert is not wrapped by Django: its errors are psycopg2's own.
                    if not isinstance(exc, (psycopg2.errors.UniqueViolation, IntegrityError)):
                        raise
                    for _ in rows:  # read the rest of the file all the same: the report names every bad record
                        pass
                    transaction.set_rollback(True)
                    return Written(clash=True)
                if not self.all_good():
                    stream.drain()
                    transaction.set_rollback(True)
                    return Written()
                if blocks.count > queued:
                    self._queue(blocks.ranges_from(queued), queued=queued)
                if stream.done:
                    break
                stream.next_chunk()
            if not blocks.count:
                transaction.set_rollback(True)
                return Written()
            duplicates, removed = self._duplicates(cursor, blocks, had_examples)
            imported = blocks.count - removed
            self.reporter.stage("committing", total=imported, done=imported)
            # Search reads the examples' words from a table of their own, written by a job of its own once this
            # commits: computing them here would make the import several times as long.
            index = search_index_schedule(
                project=self.project, ranges=blocks.ranges, examples=imported, created_by=self.job.created_by
            )
            self._succeed(imported, duplicates, search_index=index)
            return Written(succeeded=True, rows=imported)

    def _queue(self, ranges: list[tuple[int, int]], *, queued: int) -> None:
        """Put the chunk just written in the annotation queue, from its ids alone (between the chunks' COPYs, so
        that the job's progress goes on saying how far it is)."""
        self.reporter.stage("queueing", done=queued, total=None)
        done = queued + work_items_create(project=self.project, id_ranges=ranges)
        self.reporter.stage("queueing", done=done, total=None)
        self.reporter.resume("reading")

    def _duplicates(self, cursor: Any, blocks: IdBlocks, had_examples: bool) -> tuple[dict[str, Any], int]:
        """Look for content the project already had; in skip mode, delete those rows of this import (they were
        never visible to anyone) with their queue entries. Raw data already in the project is never touched."""
        self.reporter.stage("checking_duplicates", total=blocks.count)
        if not had_examples:
            return self.duplicates_shown([], 0), 0
        ranges = blocks.ranges
        cursor.execute("CREATE TEMP TABLE import_duplicates (id bigint PRIMARY KEY) ON COMMIT DROP")
        # Two large sets meet here: hash them, whatever stale statistics say about their size.
        _plan_knobs(cursor, off=("enable_nestloop",))
        params = {"project": self.project.pk, "lo": [lo for lo, _ in ranges], "hi": [hi for _, hi in ranges]}
        cursor.execute(DUPLICATES_SQL, params)
        total = cursor.rowcount
        _plan_defaults(cursor, ("enable_nestloop",))
        self.reporter.update(blocks.count, blocks.count, force=True)
        if not total:
            return self.duplicates_shown([], 0), 0
        cursor.execute("ANALYZE import_duplicates")
        shown_ids = settings.WINNOW_IMPORT_MAX_ERRORS_SHOWN
        cursor.execute("SELECT id FROM import_duplicates ORDER BY id LIMIT %s", [shown_ids])
        shown = self.duplicates_shown([blocks.position(row[0]) for row in cursor.fetchall()], total)
        if not self.skip:
            return shown, 0
        knobs = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")
        _plan_knobs(cursor, off=knobs)  # one primary-key probe per duplicate
        cursor.execute("DELETE FROM annotate_workitem w USING import_duplicates d WHERE w.example_id = d.id")
        cursor.execute("DELETE FROM annotate_example e USING import_duplicates d WHERE e.id = d.id")
        _plan_defaults(cursor, knobs)
        return shown, total

    def _succeed(self, imported: int, duplicates: dict[str, Any], *, search_index: Job | None = None) -> None:
        result: dict[str, Any] = {
            "imported": imported,
            "shapes": dict(self.tally.shapes),
            "moved_to_metadata": dict(self.tally.moved_to_metadata),
            "duplicates": duplicates,
            "seconds": self.reporter.finish(),
        }
        if search_index is not None:
            result["search_index_job"] = search_index.pk
        succeed_unless_interrupted(self.job, result, progress=(imported, "records"))

    def write_sqlite(self, had_examples: bool) -> Written:
        spool = Spool(project_id=self.project.pk, directory=Path(settings.DATA_DIR) / "tmp")
        try:
            for row in self.rows():
                if self.all_good():
                    spool.add(row)
            if not self.all_good() or not spool.rows:
                return Written()
            self.reporter.stage("writing", total=spool.rows)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT MAX(id) FROM annotate_example")
                first = (cursor.fetchone()[0] or 0) + 1
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = 'annotate_example'")
                first = max(first, ((cursor.fetchone() or (0,))[0] or 0) + 1)
                try:
                    spool.load(cursor, lambda done: self.reporter.update(done, spool.rows))
                except IntegrityError:
                    transaction.set_rollback(True)
                    return Written(clash=True)
                last = first + spool.rows - 1
                duplicates, removed = self._sqlite_duplicates(cursor, first, last, had_examples)
                self.reporter.stage("queueing", total=spool.rows - removed)
                queued = work_items_create(project=self.project)
                self.reporter.update(queued, spool.rows - removed, force=True)
                self.reporter.stage("committing", total=spool.rows - removed, done=spool.rows - removed)
                self._succeed(spool.rows - removed, duplicates)
            return Written(succeeded=True, rows=spool.rows - removed)
        finally:
            spool.close()

    def _sqlite_duplicates(self, cursor: Any, first: int, last: int, had_examples: bool) -> tuple[dict[str, Any], int]:
        self.reporter.stage("checking_duplicates", total=last - first + 1)
        if not had_examples:
            return self.duplicates_shown([], 0), 0
        cursor.execute(
            "SELECT n.id FROM annotate_example n WHERE n.id BETWEEN %s AND %s AND n.content_hash IN "
            "(SELECT o.content_hash FROM annotate_example o WHERE o.project_id = %s AND o.id < %s) ORDER BY n.id",
            [first, last, self.project.pk, first],
        )
        ids = [row[0] for row in cursor.fetchall()]
        shown = self.duplicates_shown([i - first for i in ids[: settings.WINNOW_IMPORT_MAX_ERRORS_SHOWN]], len(ids))
        if self.skip:
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                cursor.execute(f"DELETE FROM annotate_example WHERE id IN ({', '.join(['%s'] * len(batch))})", batch)
            return shown, len(ids)
        return shown, 0


def run_import_job(job: Job, path: Path) -> None:
    """Check and write the job's records; leave the job succeeded or failed (or raise JobInterrupted).

    A record without an id gets one made up, ``j<job>-<record number>``. Ids made up must never clash with given
    ones: if a write clashed and some given id has that form, the import runs again with the made-up ids under a
    prefix nobody can have guessed (``j<job>-<random>-<record number>``). What still clashes is a given id used
    twice, or one the project already has, and is named as such.
    """
    id_prefix = f"j{job.pk}-"
    for attempt in range(1, MADE_ID_ATTEMPTS + 1):
        run = _Run(job, path, id_prefix)
        try:
            written = _write(run)
            if written.clash and attempt < MADE_ID_ATTEMPTS and run.made_ids_may_clash():
                id_prefix = f"j{job.pk}-{secrets.token_hex(4)}-"
                logger.info("import job %s: a given id looks made up; making ids under %r", job.pk, id_prefix)
                continue
            if written.succeeded:
                logger.info("import job %s: %s examples into project %s", job.pk, written.rows, run.project.pk)
                return
            _fail(run, written)
            return
        finally:
            run.ids.close()


def _write(run: _Run) -> Written:
    parquet = format_for(run.job.params["filename"]) == "parquet"
    size = run.job.params.get("size") or run.path.stat().st_size
    run.reporter.stage("reading", total=None if parquet else size, unit="records" if parquet else "bytes")
    had_examples = Example.objects.for_project(run.project).exists()
    if connection.vendor == "postgresql":
        return run.write_postgres(had_examples)
    return run.write_sqlite(had_examples)


def _fail(run: _Run, written: Written) -> None:
    job = run.job
    if written.clash or run.problems.total or run.tally.file_error:
        run.reporter.stage("checking_ids", total=run.ids.count)
        shown, total = id_problems(run.ids, project=run.project, limit=run.problems.limit)
        run.reporter.update(run.ids.count, run.ids.count, force=True)
        run.problems.merge(shown, total)
    if fail_for_records(job, run.problems, records=run.tally.records, file_error=run.tally.file_error):
        return
    if written.clash:
        job.fail(
            "Another import added examples with the same ids while this one ran; nothing was imported. "
            "Import again to see which ids clash."
        )
    else:
        job.fail(NO_RECORDS)
