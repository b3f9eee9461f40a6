"""The import service and task: files and posted records become Examples, all or nothing.

Imports run in a transaction and publish progress on the second database alias, so the tests that run one use
real transactions: inside the usual test transaction the progress connection could not see the job row.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from annotate.models import Example
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

    assert job.result == {
        "imported": 3,
        "shapes": {"text": 1, "instruction": 1, "preference": 1},
        "moved_to_metadata": {"source": 2},
    }


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
def test_it_reports_a_bad_record_of_a_json_array_by_number_alone(project, manager):
    job = import_file(project, manager, "data.json", b'[{"text": "a"}, {"text": 2}]')

    [error] = errors_of_failed_import(job, project)
    assert error == {"record": 2, "reason": "'text' must be a string, not a number"}


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
