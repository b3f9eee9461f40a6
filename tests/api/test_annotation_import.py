"""POST /api/v1/projects/{id}/annotations/import/: labels made elsewhere, queued as a job (202), or a 400 that
says what is wrong with the request itself. The job's own checks are tests/curation/test_label_import.py."""

from __future__ import annotations

import json

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.models import Annotation
from annotate.services.queue import work_items_create
from curation.models import Job
from curation.tasks import run_annotation_import
from tests.conftest import api_client_for
from tests.factories import ExampleFactory

pytestmark = pytest.mark.django_db
RECORD = {"example": "e1", "annotator": "crowd-1", "answers": {"quality": 4, "topic": "code"}}
KB = 1024


def url(project) -> str:
    return f"/api/v1/projects/{project.pk}/annotations/import/"


def test_it_queues_a_job_for_posted_records(api_as, project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = api_as("manager").post(url(project), {"records": [RECORD]}, format="json")

    assert response.status_code == 202, response.json()
    job = response.json()["job"]
    assert (job["kind"], job["status"], job["created_by"]) == ("annotation_import", "queued", "manager-user")
    assert Job.objects.get(pk=job["id"]).params["posted_records"] == 1
    assert len(queued) == 1


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("crowd.jsonl", orjson.dumps(RECORD) + b"\n"),
        ("crowd.csv", b'example,annotator,answers\ne1,crowd-1,"{""quality"": 4, ""topic"": ""code""}"\n'),
        ("crowd.json.gz", b"\x1f\x8b"),  # checked by the job, not the request
    ],
)
def test_it_queues_a_job_for_an_uploaded_file(api_as, project, name, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        response = api_as("manager").post(url(project), {"file": SimpleUploadedFile(name, data)}, format="multipart")

    assert response.status_code == 202, response.json()
    assert Job.objects.get(pk=response.json()["job"]["id"]).params["filename"] == name


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "file: send a multipart 'file' (.jsonl, .json, .csv, .parquet) or JSON {\"records\": [...]}"),
        ({"records": []}, "records: This list may not be empty."),
        ({"records": {"example": "e1"}}, 'records: Expected a list of items but got type "dict".'),
    ],
)
def test_it_refuses_a_body_without_records_with_a_400(api_as, project, body, message):
    response = api_as("manager").post(url(project), body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("crowd.txt", b"e1,crowd-1", "file: unsupported file type '.txt'"),
        ("crowd.jsonl", b"", "file: The submitted file is empty."),
    ],
)
def test_it_refuses_a_file_it_cannot_take_with_a_400(api_as, project, name, data, message, import_dirs):
    response = api_as("manager").post(url(project), {"file": SimpleUploadedFile(name, data)}, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)
    assert not Job.objects.exists()
    assert not [path for path in import_dirs.rglob("*") if path.is_file()]


def test_it_refuses_a_multipart_upload_from_a_reviewer(api_as, project):
    upload = SimpleUploadedFile("crowd.jsonl", orjson.dumps(RECORD) + b"\n")

    response = api_as("reviewer").post(url(project), {"file": upload}, format="multipart")

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_it_takes_a_file_larger_than_the_json_limit_from_a_manager(
    api_as, project, settings, django_capture_on_commit_callbacks
):
    settings.WINNOW_MAX_JSON_BODY_BYTES = 100 * KB
    data = b"".join(orjson.dumps({**RECORD, "annotator": f"crowd-{n}"}) + b"\n" for n in range(3000))

    with django_capture_on_commit_callbacks():
        response = api_as("manager").post(
            url(project), {"file": SimpleUploadedFile("big.jsonl", data)}, format="multipart"
        )

    assert response.status_code == 202, response.json()


def test_it_describes_the_endpoint_in_the_schema(api_as):
    schema = api_as("manager").get("/api/v1/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/projects/{project_id}/annotations/import/"]["post"]
    assert set(operation["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"202", "400", "401", "403", "404"} <= set(operation["responses"])


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_it_imports_the_labels_once_the_job_runs(project, cast, django_capture_on_commit_callbacks):
    ExampleFactory(project=project, external_id="e1")
    work_items_create(project=project)
    manager = api_client_for(cast["manager"])
    with django_capture_on_commit_callbacks():
        job = manager.post(url(project), {"records": [RECORD]}, format="json").json()["job"]

    run_annotation_import(job["id"])

    done = manager.get(f"/api/v1/jobs/{job['id']}/").json()
    assert (done["status"], done["result"]["imported"]) == ("succeeded", 1), json.dumps(done)
    listed = manager.get(f"/api/v1/projects/{project.pk}/annotations/?annotator=crowd-1").json()["results"]
    assert [(a["annotator"], a["answers"]) for a in listed] == [("crowd-1", RECORD["answers"])]
    assert Annotation.objects.get().guideline_version == 1
