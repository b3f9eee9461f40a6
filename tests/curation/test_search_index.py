"""Indexing imported examples for search in the background (curation/services/search_index.py): the import queues
the job, the job writes the search table a chunk at a time, and running it again (its reaper's retry, a rerun of a
cancelled or failed job) gives the same rows without computing them again.

Imports and index jobs run in real transactions, as in test_import_service.py. Jobs run by calling their task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotate.models import Example, ExampleSearch, Project
from annotate.search_index import documents_write
from curation.models import Job
from curation.services import search_index
from curation.services.imports import import_start
from curation.services.jobs import job_cancel, jobs_reap
from curation.services.search_index import search_index_project, search_index_rerun, search_pending
from curation.tasks import run_import, run_search_index
from tests.factories import ExampleFactory, ProjectFactory

runs_imports = pytest.mark.django_db(transaction=True, databases=["default", "progress"])
RECORDS = [{"id": f"r{n}", "prompt": f"Name a colour, number {n}", "response": f"Teal {n}"} for n in range(25)]


def imported(project, user, records=RECORDS) -> Job:
    job = import_start(project=project, created_by=user, records=records, enqueue=False)
    run_import(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


def index_job(project) -> Job:
    return Job.objects.get(project=project, kind=Job.Kind.SEARCH_INDEX, status=Job.Status.QUEUED)


def run(job: Job) -> Job:
    run_search_index(job.pk)
    job.refresh_from_db()
    return job


def searched(project, q: str) -> list[str]:
    from annotate import browse, search

    page = browse.page(Example.objects.for_project(project), search.ExampleFilters(q=q), size=100)
    return [example.external_id for example in page.examples]


def rows() -> list[tuple[int, int, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT example_id, project_id, document::text FROM annotate_examplesearch ORDER BY 1")
        return cursor.fetchall()


@runs_imports
def test_an_import_queues_an_index_job_for_its_examples_once_it_commits(project, manager, search_index_sent):
    job = imported(project, manager)

    index = index_job(project)
    assert (index.progress_total, index.params["examples"]) == (25, 25)
    assert job.result["search_index_job"] == index.pk
    search_index_sent.assert_called_once_with(index.pk)
    assert not ExampleSearch.objects.exists()  # the import itself wrote no search row


@runs_imports
def test_an_imported_example_is_found_once_its_index_job_has_run(project, manager):
    imported(project, manager)
    assert searched(project, "teal") == []

    index = run(index_job(project))

    assert (index.status, index.result["examples"], index.result["written"]) == (Job.Status.SUCCEEDED, 25, 25)
    assert searched(project, "teal") == [f"r{n}" for n in range(25)]
    assert searched(project, '"teal 7"') == ["r7"]  # a phrase, read from the stored positions
    assert searched(project, '"7 teal"') == []


@runs_imports
def test_the_examples_an_index_job_has_not_done_are_pending(project, manager):
    imported(project, manager)
    assert search_pending(project) == 25

    run(index_job(project))

    assert search_pending(project) == 0


@runs_imports
def test_a_running_index_job_counts_only_what_it_has_not_done_yet(project, manager, monkeypatch):
    imported(project, manager)
    monkeypatch.setattr(search_index, "CHUNK", 10)
    seen = []
    real = search_index.documents_write

    def write(**kwargs):
        seen.append(search_pending(project))
        return real(**kwargs)

    monkeypatch.setattr(search_index, "documents_write", write)

    run(index_job(project))

    assert seen == [25, 15, 5]


@runs_imports
def test_running_the_index_job_again_gives_the_same_rows_and_computes_none_again(project, manager):
    imported(project, manager)
    first = run(index_job(project))
    before = rows()

    again = run(search_index_rerun(job=first))

    assert rows() == before and len(before) == 25
    assert (again.status, again.result["examples"], again.result["written"]) == (Job.Status.SUCCEEDED, 25, 0)


@runs_imports
def test_a_second_delivery_of_the_index_task_does_nothing(project, manager):
    imported(project, manager)
    index = run(index_job(project))
    finished_at = index.finished_at

    assert run(index).finished_at == finished_at


@runs_imports
def test_a_cancelled_index_job_can_be_run_again(project, manager):
    imported(project, manager)
    cancelled = job_cancel(job=index_job(project))
    assert run(cancelled).status == Job.Status.CANCELLED  # a cancelled job is not run
    assert search_pending(project) == 0 and searched(project, "teal") == []

    rerun = search_index_rerun(job=cancelled)
    assert search_pending(project) == 25
    run(rerun)

    assert len(searched(project, "teal")) == 25 and search_pending(project) == 0


@runs_imports
def test_an_index_job_cancelled_while_it_runs_stops_and_keeps_the_chunks_it_wrote(project, manager, monkeypatch):
    imported(project, manager)
    monkeypatch.setattr(search_index, "CHUNK", 10)
    index = index_job(project)
    real = search_index.documents_write

    def write_then_cancel(**kwargs):
        written = real(**kwargs)
        job_cancel(job=Job.objects.get(pk=index.pk))
        return written

    monkeypatch.setattr(search_index, "documents_write", write_then_cancel)

    assert run(index).status == Job.Status.CANCELLED
    assert ExampleSearch.objects.count() == 10


@runs_imports
def test_an_index_job_whose_worker_died_twice_fails_saying_how_to_run_it_again(project, manager):
    imported(project, manager)
    index = index_job(project)
    first = Example.objects.for_project(project).order_by("pk").first()
    documents_write(project_id=project.pk, low=first.pk, high=first.pk)  # what the dead worker did
    long_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=index.pk).update(status="running", attempts=2, heartbeat_at=long_ago, started_at=long_ago)

    assert jobs_reap().failed == [index.pk]
    index.refresh_from_db()
    assert f"manage.py search_index --job {index.pk}" in index.error["message"]

    again = run(search_index_rerun(job=index))
    assert (again.result["examples"], again.result["written"]) == (25, 24)
    assert len(searched(project, "teal")) == 25


@runs_imports
def test_a_failed_import_queues_no_index_job(project, manager):
    job = import_start(project=project, created_by=manager, records=[*RECORDS, {"nothing": 1}], enqueue=False)
    run_import(job.pk)

    assert Job.objects.get(pk=job.pk).status == Job.Status.FAILED
    assert not Job.objects.filter(kind=Job.Kind.SEARCH_INDEX).exists()


@runs_imports
def test_an_import_skipping_duplicates_counts_only_the_examples_it_kept(project, manager):
    imported(project, manager, RECORDS[:5])
    run(index_job(project))
    again = [{**record, "id": f"again-{n}"} for n, record in enumerate(RECORDS)]
    job = import_start(project=project, created_by=manager, records=again, on_duplicate="skip", enqueue=False)
    run_import(job.pk)

    assert search_pending(project) == 20
    assert run(index_job(project)).result["examples"] == 20
    assert search_pending(project) == 0 and len(searched(project, "teal")) == 25


@runs_imports
def test_a_project_can_be_indexed_whole_skipping_what_is_indexed(project):
    indexed = ExampleFactory(project=project, content={"text": "indexed"})
    waiting = ExampleFactory(project=project, content={"text": "waiting"}, searchable=False)
    ExampleFactory(project=ProjectFactory(), content={"text": "waiting elsewhere"}, searchable=False)

    job = run(search_index_project(project=project))

    assert (job.result["examples"], job.result["written"]) == (2, 1)
    assert set(ExampleSearch.objects.values_list("example_id", flat=True)) == {indexed.pk, waiting.pk}


@pytest.mark.django_db
def test_deleting_an_example_or_a_project_deletes_its_search_rows(project):
    # The table has no foreign-key constraints: Django's on_delete does it.
    kept, deleted = ExampleFactory(project=project), ExampleFactory(project=project)
    other = ExampleFactory(project=ProjectFactory())

    Example.objects.filter(pk=deleted.pk).delete()
    assert set(ExampleSearch.objects.values_list("example_id", flat=True)) == {kept.pk, other.pk}

    Project.objects.filter(pk=project.pk).delete()
    assert list(ExampleSearch.objects.values_list("example_id", flat=True)) == [other.pk]
