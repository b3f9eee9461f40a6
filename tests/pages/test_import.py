from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from curation.models import Job


def import_url(project) -> str:
    return reverse("curation:import", args=[project.pk])


def test_it_shows_the_upload_form_and_the_limits(client_as, project, settings):
    settings.WINNOW_IMPORT_MAX_RECORD_BYTES = 5_000_000

    html = client_as("manager").get(import_url(project)).content.decode()

    assert 'type="file"' in html
    assert 'accept=".jsonl,.ndjson,.json,.csv,.parquet,.gz"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "5 MB" in html
    for shape in ("text", "instruction", "chat", "candidates", "preference"):
        assert shape in html


def test_it_refuses_a_bad_file_type_with_a_message_and_no_job(client_as, project, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("data.xlsx", b"not really a spreadsheet")

    with django_capture_on_commit_callbacks() as callbacks:
        response = client_as("manager").post(import_url(project), {"file": upload})

    assert response.status_code == 400
    assert "unsupported file type" in response.content.decode()
    assert not Job.objects.exists()
    assert callbacks == []


def test_it_asks_for_a_file_when_none_is_sent(client_as, project):
    response = client_as("manager").post(import_url(project), {})

    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert not Job.objects.exists()


def test_it_queues_a_valid_file_and_redirects_to_its_job(client_as, project, cast, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("data.jsonl", b'{"text": "a"}\n{"text": "b"}\n')

    # Callbacks are captured and not run, so nothing is sent to a broker.
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_as("manager").post(import_url(project), {"file": upload})

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("curation:job_detail", args=[job.pk])
    assert job.status == Job.Status.QUEUED
    assert job.project == project
    assert job.created_by == cast["manager"]
    assert job.params["filename"] == "data.jsonl"
    assert len(callbacks) == 1


def test_it_refuses_uploads_from_a_reviewer(client_as, project):
    upload = SimpleUploadedFile("data.jsonl", b'{"text": "a"}\n')

    response = client_as("reviewer").post(import_url(project), {"file": upload})

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_it_lists_recent_imports(client_as, project, job):
    job.fail("3 of 10 records are invalid; nothing was imported.")

    html = client_as("manager").get(import_url(project)).content.decode()

    assert reverse("curation:job_detail", args=[job.pk]) in html
    assert "3 of 10 records are invalid" in html


def test_it_asks_what_to_do_with_records_already_in_the_project(client_as, project, django_capture_on_commit_callbacks):
    html = client_as("manager").get(import_url(project)).content.decode()
    assert 'name="on_duplicate" value="keep"' in html and 'name="on_duplicate" value="skip"' in html

    upload = SimpleUploadedFile("data.jsonl", b'{"text": "a"}\n')
    with django_capture_on_commit_callbacks():
        client_as("manager").post(import_url(project), {"file": upload, "on_duplicate": "skip"})

    assert Job.objects.get().params["on_duplicate"] == "skip"


def test_it_refuses_an_empty_file_with_a_message(client_as, project):
    response = client_as("manager").post(import_url(project), {"file": SimpleUploadedFile("data.jsonl", b"")})

    assert response.status_code == 400
    assert "The submitted file is empty." in response.content.decode()
    assert not Job.objects.exists()
