"""Importing labels made elsewhere: the job checks every record, then writes annotations, assignments, queue counts
and review summaries in one transaction, or nothing at all.

Imports run in a transaction and publish progress on the second database alias, so these tests use real
transactions (as tests/curation/test_import_service.py does).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotate import labels
from annotate.models import Annotation, Assignment, Guideline, LabelSummary, Membership, WorkItem
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from curation.models import Job
from curation.services.label_imports import _LabelRun, annotation_import_start
from curation.tasks import run_annotation_import
from curation.uploads import upload_path
from tests.conftest import api_client_for
from tests.factories import ExampleFactory

runs_imports = pytest.mark.django_db(transaction=True, databases=["default", "progress"])


@pytest.fixture
def examples(project):
    """e1 … e4, in the annotation queue."""
    made = {f"e{n}": ExampleFactory(project=project, external_id=f"e{n}") for n in range(1, 5)}
    work_items_create(project=project)
    return made


def label(example: str, annotator: str, quality: int = 4, topic: str = "code", **more) -> dict:
    return {"example": example, "annotator": annotator, "answers": {"quality": quality, "topic": topic}, **more}


def run(job: Job) -> Job:
    run_annotation_import(job.pk)
    job.refresh_from_db()
    return job


def import_records(project, user, records: list) -> Job:
    return run(annotation_import_start(project=project, created_by=user, records=records, enqueue=False))


def import_file(project, user, name: str, data: bytes) -> Job:
    upload = SimpleUploadedFile(name, data)
    return run(annotation_import_start(project=project, created_by=user, upload=upload, enqueue=False))


def jsonl(records: list) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def quality_labels(project) -> list[tuple[int, str, int]]:
    """(example id, annotator, rating) of every current quality label, through the labels read layer."""
    loaded = labels.load(project, project.questions.all())["quality"]
    names = dict(get_user_model().objects.values_list("pk", "username"))
    rows = zip(loaded.example.tolist(), loaded.annotator.tolist(), range(len(loaded)), strict=True)
    return sorted((example, names[annotator], loaded.value(row)) for example, annotator, row in rows)


def work(example) -> tuple[int, int, int, bool]:
    item = WorkItem.objects.get(pk=example.pk)
    return item.live, item.done, item.target, item.open


def written(project) -> dict:
    """Everything an import of labels may write, to compare before and after one that must write nothing."""
    return {
        "users": sorted(get_user_model().objects.values_list("username", "password")),
        "memberships": sorted(Membership.objects.filter(project=project).values_list("user__username", "role")),
        "annotations": sorted(Annotation.objects.values_list("example_id", "annotator_id", "answers")),
        "assignments": sorted(Assignment.objects.values_list("example_id", "annotator_id", "round", "status")),
        "work": sorted(WorkItem.objects.values_list("pk", "round", "live", "done", "target", "open")),
        "summaries": sorted(LabelSummary.objects.values_list("example_id", "question_id", "labels", "disagreement")),
    }


@runs_imports
def test_it_imports_the_labels_of_a_jsonl_file_as_current_labels(project, cast, examples):
    records = [label("e2", "ana", 4), label("e2", "bo", 2), label("e2", "newbie", 5), label("e3", "ana", 3)]

    job = import_file(project, cast["manager"], "crowd.jsonl", jsonl(records))

    assert job.status == Job.Status.SUCCEEDED, job.error
    e2, e3 = examples["e2"].pk, examples["e3"].pk
    assert quality_labels(project) == [(e2, "ana", 4), (e2, "bo", 2), (e2, "newbie", 5), (e3, "ana", 3)]
    assert {key: value for key, value in job.result.items() if key != "seconds"} == {
        "imported": 4,
        "examples": 2,
        "annotators": {"total": 3, "created": 3, "added": 3},
    }


@runs_imports
def test_it_counts_each_label_as_a_done_assignment_so_the_queue_moves_on(project, cast, examples):
    records = [label("e2", "ana"), label("e2", "bo"), label("e2", "cy"), label("e3", "ana")]

    import_records(project, cast["manager"], records)

    assert work(examples["e2"]) == (3, 3, 3, False)
    assert work(examples["e3"]) == (1, 1, 3, True)
    ana = get_user_model().objects.get(username="ana")
    handed = {next_assignment(project=project, annotator=ana).example_id for _ in range(2)}
    assert handed.isdisjoint({examples["e2"].pk, examples["e3"].pk})
    project_counts = api_client_for(cast["manager"]).get(f"/api/v1/projects/{project.pk}/").json()["counts"]
    assert (project_counts["annotations"], project_counts["completed"]) == (4, 1)


@runs_imports
def test_it_puts_disagreements_in_the_review_queue(project, cast, examples):
    records = [label("e1", "ana", 5, "code"), label("e1", "bo", 1, "code"), label("e2", "ana", 3, "math")]

    import_records(project, cast["manager"], records)

    summaries = LabelSummary.objects.filter(example=examples["e1"]).values_list("question__name", "labels")
    assert sorted(summaries) == [("quality", 2), ("topic", 2)]
    assert not LabelSummary.objects.filter(example=examples["e2"]).exists()
    queue = api_client_for(cast["reviewer"]).get(f"/api/v1/projects/{project.pk}/disagreements/?question=quality")
    (case,) = queue.json()["results"]
    assert case["example"] == examples["e1"].pk
    assert sorted((a["annotator"], a["value"]) for a in case["annotations"]) == [("ana", 5), ("bo", 1)]


@runs_imports
def test_it_creates_unknown_annotators_as_members_who_cannot_sign_in(project, cast, examples):
    import_records(project, cast["manager"], [label("e1", "newbie")])

    newbie = get_user_model().objects.get(username="newbie")
    assert Membership.objects.get(project=project, user=newbie).role == "annotator"
    assert not newbie.has_usable_password()
    assert not Client().login(username="newbie", password="")
    token = api_client_for(None).post("/api/v1/auth/token/", {"username": "newbie", "password": ""}, format="json")
    assert token.status_code == 400


@runs_imports
def test_it_adds_existing_users_as_annotators_and_keeps_members_roles(project, cast, examples):
    records = [label("e1", "outsider-user"), label("e1", "reviewer-user"), label("e1", "manager-user")]

    job = import_records(project, cast["manager"], records)

    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert (roles["outsider-user"], roles["reviewer-user"], roles["manager-user"]) == (
        "annotator",
        "reviewer",
        "manager",
    )
    assert job.result["annotators"] == {"total": 3, "created": 0, "added": 1}


@runs_imports
def test_it_imports_a_csv_file_with_the_answers_as_json_in_one_column(project, cast, examples):
    cell = json.dumps({"quality": 2, "topic": "math"}).replace('"', '""')
    data = (
        "example,annotator,answers,submitted_at,duration_ms\n"
        f'e1,ana,"{cell}",2025-05-01T14:30:00+02:00,5300\n'
        f'e2,ana,"{cell}",,\n'
    ).encode()

    job = import_file(project, cast["manager"], "crowd.csv", data)

    assert job.status == Job.Status.SUCCEEDED, job.error
    first, second = Annotation.objects.order_by("example_id")
    assert (first.answers, first.duration_ms) == ({"quality": 2, "topic": "math"}, 5300)
    assert first.submitted_at == datetime(2025, 5, 1, 12, 30, tzinfo=UTC)
    assert second.duration_ms is None
    assert second.submitted_at >= job.started_at


@runs_imports
def test_it_imports_a_parquet_file(project, cast, examples, tmp_path):
    table = pa.table(
        {
            "example": ["e1", "e2"],
            "annotator": ["ana", "bo"],
            "answers": [{"quality": 3, "topic": "code"}, {"quality": 5, "topic": "general"}],
            "submitted_at": pa.array([datetime(2025, 5, 1, tzinfo=UTC)] * 2, type=pa.timestamp("us", tz="UTC")),
            "duration_ms": [1000, None],
        }
    )
    pq.write_table(table, tmp_path / "crowd.parquet")

    job = import_file(project, cast["manager"], "crowd.parquet", (tmp_path / "crowd.parquet").read_bytes())

    assert job.status == Job.Status.SUCCEEDED, job.error
    rows = Annotation.objects.order_by("example_id").values_list("answers", "submitted_at", "duration_ms")
    assert list(rows) == [
        ({"quality": 3, "topic": "code"}, datetime(2025, 5, 1, tzinfo=UTC), 1000),
        ({"quality": 5, "topic": "general"}, datetime(2025, 5, 1, tzinfo=UTC), None),
    ]


@runs_imports
def test_it_records_the_given_guideline_version_else_the_current_one(project, cast, examples):
    Guideline.objects.create(project=project, version=2, text="Stricter.")
    records = [label("e1", "ana", guideline_version=1), label("e1", "bo")]

    import_records(project, cast["manager"], records)

    versions = Annotation.objects.values_list("annotator__username", "guideline_version", "round")
    assert sorted(versions) == [("ana", 1, 1), ("bo", 2, 1)]


@runs_imports
def test_it_reports_named_stages_and_ends_with_every_record_counted(project, cast, examples):
    job = import_records(project, cast["manager"], [label("e1", "ana"), label("e2", "ana")])

    assert set(job.result["seconds"]) == {"reading", "adding_annotators", "writing_labels", "summarising", "committing"}
    assert (job.progress_done, job.progress_total, job.progress_unit) == (2, 2, "records")


@runs_imports
def test_it_writes_an_import_that_takes_many_rounds_of_statements(project, cast, examples, monkeypatch):
    for name, size in [
        ("curation.services.label_checks.BATCH", 2),
        ("curation.services.label_imports.WRITE_CHUNK", 2),
        ("curation.services.label_imports.SUMMARY_CHUNK", 1),
        ("annotate.services.queue.LOCK_CHUNK", 1),
    ]:
        monkeypatch.setattr(name, size)
    records = [label(e, who, quality) for e, who, quality in [("e1", "ana", 1), ("e2", "ana", 2), ("e1", "bo", 5)]]
    records += [label("e3", "cy"), label("e1", "cy", 3)]

    job = import_records(project, cast["manager"], records)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert work(examples["e1"]) == (3, 3, 3, False)
    assert LabelSummary.objects.get(example=examples["e1"], question__name="quality").labels == 3
    assert len(quality_labels(project)) == 5


@runs_imports
def test_it_leaves_no_file_behind(project, cast, examples, import_dirs):
    import_records(project, cast["manager"], [label("e1", "ana")])
    import_records(project, cast["manager"], [label("nope", "ana")])

    assert not [path for path in import_dirs.rglob("*") if path.is_file()]


# Bad input: the job fails naming the record, and nothing at all is written.


@pytest.fixture
def labelled(project, cast, examples):
    """e1 already labelled by ana and bo (so it has review summaries), by an earlier import."""
    job = import_records(project, cast["manager"], [label("e1", "ana", 5), label("e1", "bo", 1)])
    assert job.status == Job.Status.SUCCEEDED
    return examples


BAD = [
    ("unknown example", label("e9", "cy"), "example", "the project has no example with id 'e9'"),
    ("invalid answer", label("e2", "cy", quality=9), "answers.quality", "must be a whole number from 1 to 5"),
    (
        "missing required answer",
        {"example": "e2", "annotator": "cy", "answers": {"quality": 3}},
        "answers.topic",
        "is required; answer it",
    ),
    (
        "unknown question",
        {"example": "e2", "annotator": "cy", "answers": {"quality": 3, "topic": "code", "tone": "warm"}},
        "answers.tone",
        "is not a question of this project",
    ),
    ("timestamp without a timezone", label("e2", "cy", submitted_at="2025-05-01 14:30"), "submitted_at", "no timezone"),
    ("timestamp not a date", label("e2", "cy", submitted_at="last week"), "submitted_at", "not an ISO 8601 date"),
    ("negative duration", label("e2", "cy", duration_ms=-1), "duration_ms", "between 0 and one week"),
    (
        "unknown guideline version",
        label("e2", "cy", guideline_version=7),
        "guideline_version",
        "no guideline version 7",
    ),
    ("bad username", label("e2", "c y"), "annotator", "'c y' cannot be a username"),
    ("existing annotation", label("e1", "ana"), "annotator", "'ana' already has an annotation of example 'e1'"),
]


@runs_imports
@pytest.mark.parametrize(("case", "bad", "field", "reason"), BAD, ids=[case for case, *_ in BAD])
def test_it_fails_naming_a_bad_record_and_writes_nothing(project, cast, labelled, case, bad, field, reason):
    before = written(project)

    job = import_file(project, cast["manager"], "crowd.jsonl", jsonl([label("e2", "newbie"), bad, label("e3", "bo")]))

    assert job.status == Job.Status.FAILED
    assert job.error["message"] == "1 of 3 records is invalid; nothing was imported. Fix it and import again."
    (error,) = job.error["details"]["errors"]
    assert (error["record"], error["line"], error["field"]) == (2, 2, field)
    assert reason in error["reason"]
    assert written(project) == before
    assert not get_user_model().objects.filter(username="newbie").exists()


@runs_imports
def test_it_names_the_second_record_that_labels_an_example_by_the_same_annotator(project, cast, labelled):
    before = written(project)
    records = [label("e2", "cy"), label("e3", "cy"), label("e2", "cy", 1)]

    job = import_records(project, cast["manager"], records)

    assert job.status == Job.Status.FAILED
    (error,) = job.error["details"]["errors"]
    assert (error["record"], error["field"]) == (3, "annotator")
    assert "more than once in this import (first in record 1, line 1)" in error["reason"]
    assert written(project) == before


@runs_imports
def test_it_lists_every_bad_record_with_its_line(project, cast, examples):
    data = jsonl([label("e9", "ana")]) + b"\n" + b"not json\n" + jsonl([label("e1", "ana", 0)])

    job = import_file(project, cast["manager"], "crowd.jsonl", data)

    errors = [(e["record"], e["line"], e.get("field")) for e in job.error["details"]["errors"]]
    assert errors == [(1, 1, "example"), (2, 3, None), (3, 4, "answers.quality")]
    assert job.error["details"]["total"] == 3


@runs_imports
def test_it_names_a_bad_csv_row_by_the_line_it_starts_on(project, cast, examples):
    cell = json.dumps({"quality": 3, "topic": "code"}).replace('"', '""')
    data = f'example,annotator,answers\ne1,ana,"{cell}"\ne2,bo,"{{""quality"": 3,\n""topic"": ""art""}}"\n'.encode()

    job = import_file(project, cast["manager"], "crowd.csv", data)

    (error,) = job.error["details"]["errors"]
    assert (error["record"], error["line"], error["field"]) == (2, 3, "answers.topic")
    assert not Annotation.objects.exists()


@runs_imports
def test_it_fails_a_file_without_records(project, cast, examples):
    job = import_file(project, cast["manager"], "crowd.jsonl", b"\n\n")

    assert (job.status, job.error["message"]) == (Job.Status.FAILED, "The file holds no records. Nothing was imported.")


@runs_imports
def test_it_names_a_label_annotated_in_winnow_between_its_check_and_the_write(project, cast, examples):
    """The write locks the examples' queue entries, then looks again: an annotation submitted after the check
    fails the job, naming the record, and the import writes nothing."""
    annotator = cast["annotator"]
    held = next_assignment(project=project, annotator=annotator)
    example = held.example.external_id
    job = annotation_import_start(
        project=project, created_by=cast["manager"], records=[label(example, "annotator-user")], enqueue=False
    )
    assert job.start()
    run = _LabelRun(job)
    run.check(upload_path(job))
    assert run.checked_all_good()
    answers = {"quality": 2, "topic": "math"}
    annotation_submit(project=project, annotator=annotator, example_id=held.example_id, answers=answers)
    before = written(project)

    assert not run.write()

    run.spool.close()
    (error,) = run.problems.details()["errors"]
    assert (error["record"], error["field"]) == (1, "annotator")
    assert "'annotator-user' already has an annotation" in error["reason"]
    assert written(project) == before
