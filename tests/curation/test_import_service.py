"""The import service and task: files and posted records become Examples, all or nothing.

Imports run in a transaction and publish progress on the second database alias, so the tests that run one use
real transactions: inside the usual test transaction the progress connection could not see the job row.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
import tracemalloc
from collections.abc import Callable
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from annotate.models import Example, WorkItem
from curation.models import Job
from curation.services.imports import ImportRequestError, import_start
from curation.tasks import run_import
from tests.factories import ExampleFactory

runs_imports = pytest.mark.django_db(transaction=True, databases=["default", "progress"])

GOOD_JSONL = b'{"id": "a", "text": "first"}\n{"id": "b", "text": "second"}\n'


def run(job: Job) -> Job:
    run_import(job.pk)
    job.refresh_from_db()
    return job


def import_file(project, user, name: str, data: bytes) -> Job:
    upload = SimpleUploadedFile(name, data)
    return run(import_start(project=project, created_by=user, upload=upload, enqueue=False))


def import_records(project, user, records: list) -> Job:
    return run(import_start(project=project, created_by=user, records=records, enqueue=False))


def contents(project) -> list[dict]:
    return list(Example.objects.for_project(project).order_by("id").values_list("content", flat=True))


def errors_of_failed_import(job: Job, project) -> list[dict]:
    """The listed bad records of a job that must have failed without importing anything."""
    assert job.status == Job.Status.FAILED
    assert not Example.objects.for_project(project).exists()
    return job.error["details"]["errors"]


def sha256_of_sorted_json(content: dict) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@runs_imports
def test_it_imports_every_record_of_a_jsonl_file(project, manager):
    job = import_file(project, manager, "data.jsonl", GOOD_JSONL)

    assert (job.status, contents(project)) == (Job.Status.SUCCEEDED, [{"text": "first"}, {"text": "second"}])


@runs_imports
def test_it_keeps_the_ids_of_the_records(project, manager):
    import_file(project, manager, "data.jsonl", GOOD_JSONL)

    assert list(Example.objects.for_project(project).order_by("id").values_list("external_id", flat=True)) == ["a", "b"]


@runs_imports
def test_it_gives_records_without_an_id_distinct_ids(project, manager):
    import_file(project, manager, "data.jsonl", b'{"text": "x"}\n{"text": "y"}\n{"text": "z"}\n')

    ids = list(Example.objects.for_project(project).values_list("external_id", flat=True))
    assert len(set(ids)) == 3 and all(ids)


@runs_imports
def test_it_stores_the_sha256_of_the_canonical_sorted_key_json_as_content_hash(project, manager):
    record = {"instruction": "Traduis « bonjour ».", "input": "", "output": "hello", "system": "Sois bref."}
    import_records(project, manager, [record])

    example = Example.objects.for_project(project).get()
    assert example.content_hash == sha256_of_sorted_json(
        {"system": "Sois bref.", "prompt": "Traduis « bonjour ».", "response": "hello"}
    )


@runs_imports
def test_it_stores_metadata_with_the_extra_keys(project, manager):
    import_records(project, manager, [{"text": "t", "source": "wiki", "metadata": {"lang": "en", "n": 3}}])

    assert Example.objects.for_project(project).get().metadata == {"lang": "en", "n": 3, "source": "wiki"}


@runs_imports
def test_it_reports_what_it_imported_in_the_job_result(project, manager):
    records = [
        {"text": "t", "source": "wiki"},
        {"prompt": "p", "response": "r", "source": "web"},
        {"prompt": "p", "chosen": "a", "rejected": "b"},
    ]

    job = import_records(project, manager, records)

    assert {key: value for key, value in job.result.items() if key != "seconds"} == {
        "imported": 3,
        "shapes": {"text": 1, "instruction": 1, "preference": 1},
        "moved_to_metadata": {"source": 2},
        "duplicates": {"total": 0, "records": [], "skipped": False},
        "search_index_job": Job.objects.get(kind=Job.Kind.SEARCH_INDEX).pk,
    }
    assert set(job.result["seconds"]) == {"reading", "checking_duplicates", "queueing", "committing"}


@runs_imports
def test_it_imports_a_json_array(project, manager):
    data = b'[{"prompt": "p1", "completion": "c1"}, {"prompt": "p2", "completion": "c2"}]'

    import_file(project, manager, "data.json", data)

    assert contents(project) == [{"prompt": "p1", "response": "c1"}, {"prompt": "p2", "response": "c2"}]


@runs_imports
def test_it_imports_a_csv_file(project, manager):
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    cell = json.dumps(messages).replace('"', '""')
    data = f'id,messages,metadata.source\nc1,"{cell}",forum\nc2,"{cell}",\n'.encode()

    import_file(project, manager, "chats.csv", data)

    examples = Example.objects.for_project(project).order_by("id")
    assert [(e.external_id, e.content, e.metadata) for e in examples] == [
        ("c1", {"messages": messages}, {"source": "forum"}),
        ("c2", {"messages": messages}, {}),
    ]


@runs_imports
def test_it_imports_a_parquet_file(project, manager, tmp_path):
    path = tmp_path / "pairs.parquet"
    table = pa.table(
        {
            "id": [1, 2],
            "prompt": ["p1", "p2"],
            "chosen": ["good", "better"],
            "rejected": ["bad", "worse"],
            "metadata": [{"source": "a"}, {"source": "b"}],
        }
    )
    pq.write_table(table, path)

    import_file(project, manager, "pairs.parquet", path.read_bytes())

    examples = Example.objects.for_project(project).order_by("id")
    assert [(e.external_id, e.content, e.metadata) for e in examples] == [
        ("1", {"prompt": "p1", "chosen": "good", "rejected": "bad"}, {"source": "a"}),
        ("2", {"prompt": "p2", "chosen": "better", "rejected": "worse"}, {"source": "b"}),
    ]


@runs_imports
def test_it_imports_parquet_messages_stored_as_a_list_of_structs(project, manager, tmp_path):
    path = tmp_path / "chat.parquet"
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    pq.write_table(pa.table({"messages": [messages]}), path)

    import_file(project, manager, "chat.parquet", path.read_bytes())

    assert contents(project) == [{"messages": messages}]


@runs_imports
def test_it_imports_a_parquet_chat_with_a_tool_call_as_its_jsonl_twin(project, manager, tmp_path):
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "Add 2 and 2."},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "content": "4"},
    ]
    path = tmp_path / "chat.parquet"
    pq.write_table(pa.table({"id": ["parquet"], "messages": [messages]}), path)
    import_file(project, manager, "chat.parquet", path.read_bytes())
    import_records(project, manager, [{"id": "jsonl", "messages": messages}])

    hashes = dict(Example.objects.for_project(project).values_list("external_id", "content_hash"))
    assert hashes["parquet"] == hashes["jsonl"]


@runs_imports
def test_it_imports_gzipped_jsonl(project, manager):
    import_file(project, manager, "data.jsonl.gz", gzip.compress(GOOD_JSONL))

    assert contents(project) == [{"text": "first"}, {"text": "second"}]


@runs_imports
def test_it_imports_posted_records(project, manager):
    job = import_records(
        project, manager, [{"id": 1, "text": "one"}, {"conversations": [{"from": "human", "value": "hi"}]}]
    )

    assert (job.status, contents(project)) == (
        Job.Status.SUCCEEDED,
        [{"text": "one"}, {"messages": [{"role": "user", "content": "hi"}]}],
    )


@runs_imports
def test_it_imports_text_that_spells_out_a_nul_escape(project, manager):
    import_records(project, manager, [{"text": 'printf("\\u0000");'}])

    assert contents(project) == [{"text": 'printf("\\u0000");'}]


@runs_imports
def test_it_ends_with_progress_done_equal_to_total_in_records(project, manager):
    job = import_file(project, manager, "data.jsonl", b'{"text": "a"}\n{"text": "b"}\n{"text": "c"}\n')

    assert (job.progress_done, job.progress_total, job.progress_unit) == (3, 3, "records")


@runs_imports
def test_it_reports_the_bad_line_of_invalid_json(project, manager):
    job = import_file(project, manager, "data.jsonl", b'{"text": "a"}\n\n{"text": oops}\n{"text": "c"}\n')

    [error] = errors_of_failed_import(job, project)
    assert (error["record"], error["line"]) == (2, 3)
    assert error["reason"].startswith("invalid JSON")


@runs_imports
def test_it_reports_a_line_that_is_not_utf8(project, manager):
    job = import_file(project, manager, "data.jsonl", b'{"text": "a"}\n{"text": "caf\xe9"}\n')

    [error] = errors_of_failed_import(job, project)
    assert (error["record"], error["line"]) == (2, 2)
    assert "UTF-8" in error["reason"]


@runs_imports
def test_it_fails_an_empty_file_as_holding_no_records(project, manager):
    job = import_file(project, manager, "data.jsonl", b"\n\n")

    assert job.status == Job.Status.FAILED
    assert "no records" in job.error["message"]


@runs_imports
def test_it_reports_a_record_of_unknown_shape(project, manager):
    job = import_file(project, manager, "data.jsonl", b'{"text": "a"}\n{"question": "q", "answer": "a"}\n')

    [error] = errors_of_failed_import(job, project)
    assert (error["record"], error["line"]) == (2, 2)
    assert "unknown record shape" in error["reason"]


@runs_imports
def test_it_reports_a_value_of_the_wrong_type(project, manager):
    job = import_file(project, manager, "data.jsonl", b'{"prompt": ["p"], "response": "r"}\n{"text": "b"}\n')

    [error] = errors_of_failed_import(job, project)
    assert (error["record"], error["line"]) == (1, 1)
    assert "'prompt' must be a string" in error["reason"]


@runs_imports
def test_it_reports_an_id_repeated_within_the_file(project, manager):
    data = b'{"id": "a", "text": "1"}\n{"id": "b", "text": "2"}\n{"id": "a", "text": "3"}\n'

    job = import_file(project, manager, "data.jsonl", data)

    [error] = errors_of_failed_import(job, project)
    assert (error["record"], error["line"]) == (3, 3)
    assert "'a' appears more than once" in error["reason"]


@runs_imports
def test_it_reports_an_id_the_project_already_has(project, manager):
    ExampleFactory(project=project, external_id="b")

    job = import_file(project, manager, "data.jsonl", GOOD_JSONL)

    assert job.status == Job.Status.FAILED
    assert Example.objects.for_project(project).count() == 1
    assert job.error["details"]["errors"] == [
        {"record": 2, "line": 2, "reason": "the project already has an example with id 'b'"}
    ]


@runs_imports
def test_it_reports_a_record_over_the_size_limit(project, manager, tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as out:
        out.write(b'{"text": "small"}\n{"text": "')
        for _ in range(50):
            out.write(b"x" * 1_000_000)
        out.write(b'"}\n{"text": "after"}\n')

    with open(path, "rb") as handle:
        job = run(
            import_start(project=project, created_by=manager, upload=File(handle, name="big.jsonl"), enqueue=False)
        )

    [error] = errors_of_failed_import(job, project)
    assert (error["record"], error["line"]) == (2, 2)
    assert "over the limit" in error["reason"]


@runs_imports
def test_it_reports_a_canonical_record_over_a_smaller_size_limit(project, manager, settings):
    settings.WINNOW_IMPORT_MAX_RECORD_BYTES = 100

    job = import_records(project, manager, [{"text": "short"}, {"text": "x" * 200}])

    [error] = errors_of_failed_import(job, project)
    assert error["record"] == 2
    assert "over the limit" in error["reason"]


@runs_imports
def test_it_reports_a_nul_character_in_the_content(project, manager):
    job = import_file(project, manager, "data.jsonl", b'{"text": "a"}\n{"text": "a\\u0000b"}\n')

    [error] = errors_of_failed_import(job, project)
    assert (error["record"], error["line"]) == (2, 2)
    assert "NUL" in error["reason"]


@runs_imports
def test_it_reports_a_nul_character_in_the_id(project, manager):
    job = import_file(project, manager, "data.jsonl", b'{"id": "a\\u0000", "text": "a"}\n')

    [error] = errors_of_failed_import(job, project)
    assert error["record"] == 1
    assert "'id' holds a NUL character" in error["reason"]


@runs_imports
def test_it_lists_the_first_100_bad_records_and_counts_them_all(project, manager):
    data = b'{"text": "good"}\n' + b"not json\n" * 150

    job = import_file(project, manager, "data.jsonl", data)

    errors = errors_of_failed_import(job, project)
    assert [error["record"] for error in errors] == list(range(2, 102))
    assert (job.error["details"]["shown"], job.error["details"]["total"]) == (100, 150)


@runs_imports
def test_it_lists_ids_already_in_the_project_among_the_first_bad_records(project, manager):
    for n in range(60):
        ExampleFactory(project=project, external_id=f"old-{n}")
    data = b"".join(b'{"id": "old-%d", "text": "t"}\n' % n for n in range(60)) + b"not json\n" * 100

    job = import_file(project, manager, "data.jsonl", data)

    assert [error["record"] for error in job.error["details"]["errors"]] == list(range(1, 101))
    assert job.error["details"]["total"] == 160


@runs_imports
def test_it_reports_a_csv_row_by_the_line_it_starts_on(project, manager):
    data = b'prompt,response\n"line one\nline two\nline three",r\nonly one field\n'

    job = import_file(project, manager, "data.csv", data)

    [error] = errors_of_failed_import(job, project)
    assert error == {"record": 2, "line": 5, "reason": "the row has 1 fields but the header has 2"}


@runs_imports
def test_it_reports_a_bad_record_of_a_json_array_by_number_and_line(project, manager):
    job = import_file(project, manager, "data.json", b'[{"text": "a"},\n {"text": 2}]')

    [error] = errors_of_failed_import(job, project)
    assert error == {"record": 2, "line": 2, "reason": "'text' must be a string, not a number"}


@runs_imports
def test_it_reports_a_bad_posted_record_by_its_number(project, manager):
    job = import_records(project, manager, [{"text": "a"}, {"text": "b"}, {"prompt": "no response"}])

    [error] = errors_of_failed_import(job, project)
    assert error["record"] == 3
    assert "add 'response'" in error["reason"]


@runs_imports
def test_it_fails_a_file_that_cannot_be_read(project, manager):
    job = import_file(project, manager, "data.parquet", b'{"text": "a"}\n')

    assert job.status == Job.Status.FAILED
    assert not Example.objects.for_project(project).exists()
    assert job.error["message"].startswith("The file cannot be read: not a readable Parquet file")


@runs_imports
def test_it_fails_a_csv_file_that_is_not_utf8(project, manager):
    job = import_file(project, manager, "data.csv", "text\nbonjour\ncafé\n".encode("latin-1"))

    assert job.status == Job.Status.FAILED
    assert not Example.objects.for_project(project).exists()
    assert "not valid UTF-8" in job.error["message"]


@runs_imports
def test_it_imports_once_when_the_task_runs_twice(project, manager):
    job = import_start(
        project=project, created_by=manager, upload=SimpleUploadedFile("d.jsonl", GOOD_JSONL), enqueue=False
    )

    run_import(job.pk)
    run_import(job.pk)

    job.refresh_from_db()
    assert (job.status, Example.objects.for_project(project).count()) == (Job.Status.SUCCEEDED, 2)


@runs_imports
def test_it_deletes_the_uploaded_file_after_the_job(project, manager, import_dirs):
    import_file(project, manager, "data.jsonl", GOOD_JSONL)

    assert list((import_dirs / "media" / "imports").iterdir()) == []


@runs_imports
def test_it_deletes_the_uploaded_file_after_a_failed_job(project, manager, import_dirs):
    job = import_file(project, manager, "data.jsonl", b"not json\n")

    assert job.status == Job.Status.FAILED
    assert list((import_dirs / "media" / "imports").iterdir()) == []


@runs_imports
def test_it_leaves_no_temporary_file_behind(project, manager, import_dirs):
    import_file(project, manager, "data.jsonl", GOOD_JSONL)

    leftovers = [p for p in import_dirs.rglob("*") if p.is_file()]
    assert leftovers == []


@pytest.mark.django_db
def test_it_enqueues_the_task_with_the_job_id_when_the_transaction_commits(
    project, manager, django_capture_on_commit_callbacks
):
    with mock.patch("curation.tasks.run_import.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            job = import_start(project=project, created_by=manager, records=[{"text": "a"}])
            delay.assert_not_called()

        delay.assert_called_once_with(job.pk)


@pytest.mark.django_db
def test_it_does_not_enqueue_when_the_transaction_rolls_back(project, manager, django_capture_on_commit_callbacks):
    with (
        mock.patch("curation.tasks.run_import.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        import_start(project=project, created_by=manager, records=[{"text": "a"}])
        raise RuntimeError("the request failed after the job was created")

    delay.assert_not_called()


@pytest.mark.django_db
def test_it_creates_a_queued_job(project, manager):
    job = import_start(project=project, created_by=manager, records=[{"text": "a"}], enqueue=False)

    assert (job.kind, job.status, job.project, job.created_by) == (Job.Kind.IMPORT, Job.Status.QUEUED, project, manager)


@pytest.mark.django_db
def test_it_refuses_an_unsupported_file_type_before_creating_a_job(project, manager):
    with pytest.raises(ImportRequestError, match="unsupported file type"):
        import_start(project=project, created_by=manager, upload=SimpleUploadedFile("data.xlsx", b"x"))

    assert not Job.objects.exists()


@pytest.mark.django_db
def test_it_refuses_an_empty_list_of_records(project, manager):
    with pytest.raises(ImportRequestError, match="'records' is empty"):
        import_start(project=project, created_by=manager, records=[])


@pytest.mark.django_db
def test_it_refuses_both_a_file_and_records(project, manager):
    with pytest.raises(ImportRequestError, match="either a file or a list of records"):
        import_start(
            project=project,
            created_by=manager,
            upload=SimpleUploadedFile("d.jsonl", GOOD_JSONL),
            records=[{"text": "a"}],
        )


def posted_job_with_file(project, manager, content: Callable[[int], bytes]) -> Job:
    """A queued import whose file is ``content(job number)``: records can name the job's own number, which is
    known only once the job exists."""
    job = import_start(project=project, created_by=manager, records=[{"text": "x"}], enqueue=False)
    import_dirs_path(job).write_bytes(content(job.pk))
    return job


def made_up_id(job: Job, external_id: str, number: int) -> bool:
    """Whether ``external_id`` is an id made up by this job for its record ``number``."""
    return external_id.startswith(f"j{job.pk}-") and external_id.endswith(f"-{number}")


@runs_imports
@pytest.mark.parametrize(
    ("lines", "given", "number"),
    [
        # A later record gives the id record 1 would get; an earlier record gives record 2's.
        ([b'{"text": "no id"}', b'{"id": "j%d-1", "text": "gives it"}'], "j{}-1", 1),
        ([b'{"id": "j%d-2", "text": "gives it"}', b'{"text": "no id"}'], "j{}-2", 2),
    ],
    ids=["later record", "earlier record"],
)
def test_it_never_makes_up_an_id_that_another_record_gives(project, manager, lines, given, number):
    job = posted_job_with_file(
        project, manager, lambda pk: b"\n".join(line.replace(b"%d", b"%d" % pk) for line in lines)
    )

    job = run(job)

    assert job.status == Job.Status.SUCCEEDED, job.error
    ids = dict(Example.objects.filter(project=project).values_list("content__text", "external_id"))
    assert ids["gives it"] == given.format(job.pk)
    assert ids["no id"] != ids["gives it"] and made_up_id(job, ids["no id"], number)


@runs_imports
def test_it_never_makes_up_an_id_the_project_already_has(project, manager):
    job = posted_job_with_file(project, manager, lambda pk: b'{"text": "no id"}\n')
    ExampleFactory(project=project, external_id=f"j{job.pk}-1")

    job = run(job)

    assert job.status == Job.Status.SUCCEEDED, job.error
    made = Example.objects.get(project=project, content__text="no id").external_id
    assert made != f"j{job.pk}-1" and made_up_id(job, made, 1)


@runs_imports
def test_it_still_names_a_given_id_used_twice_even_when_it_looks_made_up(project, manager):
    job = posted_job_with_file(
        project, manager, lambda pk: b'{"id": "j%d-7", "text": "a"}\n{"id": "j%d-7", "text": "b"}\n' % (pk, pk)
    )

    job = run(job)

    [error] = errors_of_failed_import(job, project)
    assert error["record"] == 2
    assert f"'j{job.pk}-7'" in error["reason"] and "record 1" in error["reason"]
    assert not Example.objects.filter(project=project).exists()


def import_dirs_path(job):
    from curation.uploads import upload_path

    return upload_path(job)


@runs_imports
def test_it_checks_ids_without_reading_the_projects_ids_into_memory(project, manager):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO annotate_example (project_id, external_id, content, metadata, content_hash) "
            "SELECT %s, 'existing-' || n, '{\"text\": \"t\"}', '{}', 'h' FROM generate_series(1, 200000) n",
            [project.pk],
        )
    job = import_start(project=project, created_by=manager, records=[{"text": "new"}], enqueue=False)

    tracemalloc.start()
    job = run(job)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert job.status == Job.Status.SUCCEEDED
    # 200,000 ids held as Python strings would take well over 10 MB.
    assert peak < 5_000_000


@runs_imports
def test_it_reports_ids_taken_in_the_project_and_repeated_in_the_import_together(project, manager):
    for n in range(3):
        ExampleFactory(project=project, external_id=f"taken-{n}")
    records = [{"id": "taken-1", "text": "a"}, {"id": "fresh", "text": "b"}, {"id": "fresh", "text": "c"}]

    job = import_records(project, manager, records)

    assert (job.status, Example.objects.for_project(project).count()) == (Job.Status.FAILED, 3)
    assert [(e["record"], e["reason"]) for e in job.error["details"]["errors"]] == [
        (1, "the project already has an example with id 'taken-1'"),
        (3, "the id 'fresh' appears more than once in this import (first in record 2, line 2)"),
    ]


GOOD_RECORDS = [{"id": f"r{n}", "prompt": f"Question {n}?", "response": f"Answer {n}."} for n in range(5)]


@runs_imports
def test_it_counts_records_whose_content_the_project_already_has(project, manager):
    import_records(project, manager, GOOD_RECORDS[:3])
    again = [{**record, "id": f"again-{n}"} for n, record in enumerate(GOOD_RECORDS)]

    job = import_records(project, manager, again)

    assert job.status == Job.Status.SUCCEEDED
    assert job.result["imported"] == 5
    assert job.result["duplicates"] == {"total": 3, "records": [1, 2, 3], "skipped": False}
    assert Example.objects.for_project(project).count() == 8
    assert WorkItem.objects.filter(project=project).count() == 8


@runs_imports
def test_it_leaves_out_records_the_project_already_has_when_asked(project, manager):
    first = import_records(project, manager, GOOD_RECORDS[1:4])
    before = dict(Example.objects.for_project(project).values_list("external_id", "created_at"))
    again = [{**record, "id": f"again-{n}"} for n, record in enumerate(GOOD_RECORDS)]

    job = run(import_start(project=project, created_by=manager, records=again, on_duplicate="skip", enqueue=False))

    assert (first.status, job.status) == (Job.Status.SUCCEEDED, Job.Status.SUCCEEDED)
    assert job.result["imported"] == 2
    assert job.result["duplicates"] == {"total": 3, "records": [2, 3, 4], "skipped": True}
    ids = set(Example.objects.for_project(project).values_list("external_id", flat=True))
    assert ids == {"r1", "r2", "r3", "again-0", "again-4"}
    # The examples already there are untouched, and the queue holds each example once.
    assert dict(Example.objects.filter(external_id__in=before).values_list("external_id", "created_at")) == before
    queued = set(WorkItem.objects.filter(project=project).values_list("example__external_id", flat=True))
    assert queued == ids
    assert (job.progress_done, job.progress_total) == (2, 2)


@runs_imports
def test_it_imports_nothing_but_succeeds_when_every_record_is_already_there_and_skipped(project, manager):
    import_records(project, manager, GOOD_RECORDS)
    again = [{**record, "id": f"again-{n}"} for n, record in enumerate(GOOD_RECORDS)]

    job = run(import_start(project=project, created_by=manager, records=again, on_duplicate="skip", enqueue=False))

    assert (job.status, job.result["imported"], job.result["duplicates"]["total"]) == (Job.Status.SUCCEEDED, 0, 5)
    assert Example.objects.for_project(project).count() == WorkItem.objects.filter(project=project).count() == 5


@runs_imports
def test_it_queues_exactly_the_new_examples_in_the_order_the_queue_uses(project, manager):
    ExampleFactory(project=project)

    import_records(project, manager, GOOD_RECORDS)

    items = WorkItem.objects.filter(project=project).select_related("example")
    new = [item for item in items if item.example.external_id.startswith("r")]
    assert len(new) == 5 and len(items) == 5  # the older example was never queued, and is not queued by an import
    assert all(item.shuffle == (item.example_id * 2654435761) % 2147483647 for item in new)
    assert {(item.target, item.live, item.done, item.open, item.round) for item in new} == {(3, 0, 0, True, 1)}


@runs_imports
def test_it_writes_no_queue_entries_when_a_record_is_bad(project, manager):
    import_records(project, manager, [GOOD_RECORDS[0], {"text": 5}])

    assert not WorkItem.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("big.jsonl", b'{"text": "a", "n": 18446744073709551616}\n', "holds the integer 18446744073709551616, beyond"),
        (
            "neg.jsonl",
            b'{"text": "a", "metadata": {"n": -9223372036854775809}}\n',
            "holds the integer -9223372036854775809",
        ),
        ("big.json", b'[{"text": "a", "n": 18446744073709551616}]', "holds the integer 18446744073709551616, beyond"),
        ("lone.jsonl", b'{"text": "\\ud800"}\n', "unpaired UTF-16 surrogate"),
        ("lone.json", b'[{"text": "\\ud800"}]', "unpaired UTF-16 surrogate"),
        ("lonekey.json", b'[{"text": "a", "metadata": {"\\udc00": 1}}]', "unpaired UTF-16 surrogate"),
        ("nul.json", b'[{"text": "a\\u0000b"}]', "NUL character"),
        ("deep.jsonl", b'{"text": "a", "metadata": {"x": ' + b"[" * 100 + b"]" * 100 + b"}}\n", "nested more than 64"),
        ("deeper.jsonl", b'{"text": "a", "m": ' + b"[" * 2000 + b"]" * 2000 + b"}\n", "nested too deeply"),
        (
            "deep.json",
            b'[{"messages": [{"role": "user", "content": "hi", "x": ' + b"[" * 70 + b"]" * 70 + b"}]}]",
            "nested more than 64",
        ),
        ("big.csv", b'text,metadata\na,"{""n"": 99999999999999999999}"\n', "holds the integer 99999999999999999999"),
    ],
)
@runs_imports
def test_it_names_values_that_cannot_be_stored_exactly_per_record(project, manager, name, data, reason):
    job = import_file(project, manager, name, data)

    [error] = errors_of_failed_import(job, project)
    assert error["record"] == 1
    assert reason in error["reason"]


@runs_imports
def test_it_keeps_a_large_float_that_was_written_as_a_float(project, manager):
    job = import_file(project, manager, "f.jsonl", b'{"text": "a", "metadata": {"flops": 1e21, "big": 2e19}}\n')

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert Example.objects.get(project=project).metadata == {"flops": 1e21, "big": 2e19}


@runs_imports
def test_it_names_a_parquet_row_that_is_not_utf8(project, manager, tmp_path):
    offsets = struct.pack("<3i", 0, 2, 7)
    text = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(offsets), pa.py_buffer(b"ok\xed\xa0\x80ba")])
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"text": text}), path)

    job = import_file(project, manager, "bad.parquet", path.read_bytes())

    [error] = errors_of_failed_import(job, project)
    assert error["record"] == 2 and "not valid UTF-8" in error["reason"]


@runs_imports
def test_it_fails_a_decompression_bomb_saying_what_to_do(project, manager):
    job = import_file(project, manager, "bomb.jsonl.gz", gzip.compress(b"\n" * 100_000_000))

    assert job.status == Job.Status.FAILED
    assert "expands more than 100 times when decompressed" in job.error["message"]
    assert "upload it uncompressed" in job.error["message"]


@runs_imports
def test_it_fails_a_csv_file_with_a_million_columns_saying_what_to_do(project, manager):
    header = ",".join(f"c{n}" for n in range(1_000_000)).encode()

    job = import_file(project, manager, "wide.csv", header + b"\n")

    assert job.status == Job.Status.FAILED
    assert "the CSV header has 1,000,000 columns; at most 1,000 are allowed" in job.error["message"]


@runs_imports
def test_it_fails_a_file_of_only_white_space_as_holding_no_records(project, manager):
    job = import_file(project, manager, "blank.jsonl", b"  \n\t\n" * 2_000_000)

    assert job.status == Job.Status.FAILED
    assert "no records" in job.error["message"]


@pytest.mark.django_db
def test_it_refuses_posted_records_it_cannot_even_store_naming_them(project, manager, import_dirs):
    records = [{"text": "ok"}, {"text": "a", "n": 2**70}, {"text": "\udc00"}]

    with pytest.raises(ImportRequestError, match="record 2 holds the integer 1180591620717411303424") as caught:
        import_start(project=project, created_by=manager, records=records)

    assert [problem["record"] for problem in caught.value.details] == [2, 3]
    assert "unpaired UTF-16 surrogate" in caught.value.details[1]["reason"]
    assert not Job.objects.exists()
    assert not any((import_dirs / "media").rglob("*.jsonl"))


@pytest.mark.django_db
def test_it_removes_the_stored_upload_when_the_request_fails_after_storing_it(project, manager, import_dirs):
    upload = SimpleUploadedFile("data.jsonl", GOOD_JSONL)

    with (
        mock.patch.object(Job.objects, "create", side_effect=RuntimeError("database went away")),
        pytest.raises(RuntimeError),
    ):
        import_start(project=project, created_by=manager, upload=upload)

    assert not [p for p in (import_dirs / "media").rglob("*") if p.is_file()]


@pytest.mark.django_db
def test_it_refuses_an_empty_upload_and_an_unknown_duplicate_option(project, manager):
    with pytest.raises(ImportRequestError, match="the file is empty"):
        import_start(project=project, created_by=manager, upload=SimpleUploadedFile("d.jsonl", b""))
    with pytest.raises(ImportRequestError, match="on_duplicate must be 'keep' or 'skip'"):
        import_start(project=project, created_by=manager, records=[{"text": "a"}], on_duplicate="merge")
    assert not Job.objects.exists()


@pytest.fixture
def small_copies(monkeypatch):
    """Rows go in by many COPY statements of a few records each, as a large file's do."""
    from curation.services import import_writers

    monkeypatch.setattr(import_writers, "COPY_CHUNK", 1_000)


@runs_imports
def test_it_writes_and_queues_a_file_that_takes_many_copies(project, manager, small_copies):
    records = [{"id": f"m{n}", "text": f"text number {n}"} for n in range(300)]

    job = import_records(project, manager, records)

    assert (job.status, job.result["imported"]) == (Job.Status.SUCCEEDED, 300)
    ids = set(Example.objects.for_project(project).values_list("id", flat=True))
    assert len(ids) == 300
    assert set(WorkItem.objects.filter(project=project).values_list("example_id", flat=True)) == ids
    assert job.result["seconds"]["queueing"] > 0


@runs_imports
def test_it_reports_a_clash_in_a_later_copy_with_the_bad_records_after_it(project, manager, small_copies):
    ExampleFactory(project=project, external_id="old-250")
    records = [{"id": f"m{n}", "text": f"text number {n}"} for n in range(300)]
    records[250]["id"] = "old-250"
    records[280] = {"text": 7}

    job = import_records(project, manager, records)

    assert job.status == Job.Status.FAILED
    assert [(e["record"], e["reason"]) for e in job.error["details"]["errors"]] == [
        (251, "the project already has an example with id 'old-250'"),
        (281, "'text' must be a string, not a number"),
    ]
    assert Example.objects.for_project(project).count() == 1
    assert not WorkItem.objects.exists()


@runs_imports
def test_it_leaves_out_duplicates_written_by_earlier_copies(project, manager, small_copies):
    import_records(project, manager, [{"text": f"text number {n}"} for n in range(0, 300, 3)])

    job = run(
        import_start(
            project=project,
            created_by=manager,
            records=[{"text": f"text number {n}"} for n in range(300)],
            on_duplicate="skip",
            enqueue=False,
        )
    )

    assert (job.result["imported"], job.result["duplicates"]["total"]) == (200, 100)
    assert job.result["duplicates"]["records"][:3] == [1, 4, 7]
    assert Example.objects.for_project(project).count() == 300 == WorkItem.objects.filter(project=project).count()


def stages_reported(monkeypatch) -> list[tuple[str, int, int | None]]:
    """Every (stage, done, total) an import publishes, as it publishes them."""
    reported: list[tuple[str, int, int | None]] = []
    publish = Job.report_progress

    def spy(self, **progress):
        reported.append((progress["stage"], progress["done"], progress["total"]))
        return publish(self, **progress)

    monkeypatch.setattr(Job, "report_progress", spy)
    return reported


@runs_imports
def test_every_stage_of_an_import_shows_a_count(project, manager, monkeypatch):
    ExampleFactory(project=project, external_id="old")  # so that duplicates are looked for
    reported = stages_reported(monkeypatch)

    records = [{"text": f"t{n}"} for n in range(40)]
    job = run(import_start(project=project, created_by=manager, records=records, enqueue=False))

    assert job.status == Job.Status.SUCCEEDED, job.error
    last = {stage: (done, total) for stage, done, total in reported}
    assert list(last) == ["reading", "queueing", "checking_duplicates", "committing"]
    assert last["queueing"][0] == 40
    assert last["checking_duplicates"] == (40, 40)
    assert last["committing"] == (40, 40)


@runs_imports
def test_the_id_check_of_a_failed_import_shows_a_count(project, manager, monkeypatch):
    ExampleFactory(project=project, external_id="taken")
    reported = stages_reported(monkeypatch)
    records = [{"id": f"r{n}", "text": f"t{n}"} for n in range(30)] + [{"id": "taken", "text": "x"}]

    job = run(import_start(project=project, created_by=manager, records=records, enqueue=False))

    assert job.status == Job.Status.FAILED
    checking = [(done, total) for stage, done, total in reported if stage == "checking_ids"]
    assert checking[0] == (0, 31) and checking[-1] == (31, 31)


@runs_imports
def test_it_names_the_line_of_the_record_an_id_first_appeared_in(project, manager):
    data = b'{"id": "a", "text": "x"}\n\n{"id": "b", "text": "y"}\n{"id": "a", "text": "z"}\n'

    job = import_file(project, manager, "data.jsonl", data)

    assert job.error["message"] == "1 of 3 records is invalid; nothing was imported. Fix it and import again."
    [error] = job.error["details"]["errors"]
    assert (error["record"], error["line"]) == (3, 4)
    assert error["reason"] == "the id 'a' appears more than once in this import (first in record 1, line 1)"


@runs_imports
def test_it_says_them_of_several_bad_records(project, manager):
    job = import_file(project, manager, "data.jsonl", b'{"text": 1}\n{"text": 2}\n')

    assert job.error["message"] == "2 of 2 records are invalid; nothing was imported. Fix them and import again."
