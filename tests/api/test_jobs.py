"""Jobs through the API: who reads them by the role they hold now, cancelling, and import requests refused with
a message instead of a 500."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.models import Membership
from curation.models import Job
from curation.services.imports import import_start
from curation.uploads import upload_path
from tests.conftest import ROLES, api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(project, cast):
    return import_start(project=project, created_by=cast["manager"], records=[{"text": "a"}], enqueue=False)


@pytest.fixture
def reviewers_job(project, cast):
    return import_start(project=project, created_by=cast["reviewer"], records=[{"text": "a"}], enqueue=False)


@pytest.mark.parametrize(("role", "expected"), zip(ROLES, (200, 403, 404, 404, 401), strict=True))
def test_it_lets_only_the_projects_managers_cancel_a_job(role, expected, cast, reviewers_job):
    # The reviewer started this job, so sees it, but does not manage the project.
    response = api_client_for(cast[role]).post(f"/api/v1/jobs/{reviewers_job.pk}/cancel/")

    assert response.status_code == expected
    if expected >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}
    reviewers_job.refresh_from_db()
    assert reviewers_job.status == ("cancelled" if expected == 200 else "queued")


def test_it_cancels_a_queued_job_and_answers_with_it(cast, job):
    response = api_client_for(cast["manager"]).post(f"/api/v1/jobs/{job.pk}/cancel/")

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"]) == (job.pk, "cancelled")
    assert not upload_path(job).exists()


def test_it_answers_409_for_a_finished_job(cast, job):
    job.fail("3 of 10 records are invalid; nothing was imported.")

    response = api_client_for(cast["manager"]).post(f"/api/v1/jobs/{job.pk}/cancel/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "has already finished (failed)" in response.json()["error"]["message"]


def test_it_hides_a_job_from_the_member_who_started_it_once_they_leave(project, cast, reviewers_job):
    reviewers_job.fail("1 of 1 records is invalid", {"errors": [{"record": 1, "reason": "secret-id-7"}]})
    client = api_client_for(cast["reviewer"])
    assert client.get(f"/api/v1/jobs/{reviewers_job.pk}/").status_code == 200

    Membership.objects.filter(user=cast["reviewer"], project=project).delete()
    gone = client.get(f"/api/v1/jobs/{reviewers_job.pk}/")
    missing = client.get(f"/api/v1/jobs/{reviewers_job.pk + 1000}/")

    assert (gone.status_code, missing.status_code) == (404, 404)
    assert gone.json() == missing.json() == {"error": {"code": "not_found", "message": "No such job.", "details": None}}
    assert client.post(f"/api/v1/jobs/{reviewers_job.pk}/cancel/").json() == missing.json()


def test_it_reports_the_attempts_and_the_heartbeat_of_a_job(cast, job):
    body = api_client_for(cast["manager"]).get(f"/api/v1/jobs/{job.pk}/").json()

    assert (body["attempts"], body["heartbeat_at"]) == (0, None)
    assert set(body["progress"]) == {"done", "total", "stage", "unit"}


def test_it_takes_the_duplicate_option_as_a_form_field_or_a_json_key(project, cast, django_capture_on_commit_callbacks):
    client = api_client_for(cast["manager"])
    url = f"/api/v1/projects/{project.pk}/imports/"
    upload = SimpleUploadedFile("d.jsonl", b'{"text": "a"}\n')

    with django_capture_on_commit_callbacks():
        by_form = client.post(url, {"file": upload, "on_duplicate": "skip"}, format="multipart")
        by_json = client.post(url, {"records": [{"text": "a"}], "on_duplicate": "skip"}, format="json")
        default = client.post(url, {"records": [{"text": "a"}]}, format="json")

    assert [r.status_code for r in (by_form, by_json, default)] == [202, 202, 202]
    options = [Job.objects.get(pk=r.json()["job"]["id"]).params["on_duplicate"] for r in (by_form, by_json, default)]
    assert options == ["skip", "skip", "keep"]


def test_it_refuses_an_unknown_duplicate_option(project, cast):
    response = api_client_for(cast["manager"]).post(
        f"/api/v1/projects/{project.pk}/imports/", {"records": [{"text": "a"}], "on_duplicate": "merge"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("on_duplicate:")
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"records": [{"text": "a", "n": 123456789012345678901234567890}]}',
            "records[0].n: holds the integer 123456789012345678901234567890, beyond the 64-bit range",
        ),
        (b'{"records": [{"text": "ok"}, {"text": "\\ud800"}]}', "holds an unpaired UTF-16 surrogate"),
    ],
)
def test_it_refuses_posted_records_that_cannot_be_stored_with_a_400(project, cast, body, message, import_dirs):
    response = api_client_for(cast["manager"]).post(
        f"/api/v1/projects/{project.pk}/imports/", body, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert message in response.json()["error"]["message"]
    assert not Job.objects.exists()
    assert not [p for p in import_dirs.rglob("*") if p.is_file()]


def test_it_refuses_a_json_body_nested_too_deeply_to_parse_with_a_400(project, cast):
    body = b'{"records": [{"text": "a", "m": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"

    response = api_client_for(cast["manager"]).post(
        f"/api/v1/projects/{project.pk}/imports/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "nested" in response.json()["error"]["message"]


def test_it_refuses_an_empty_file_with_a_400(project, cast):
    response = api_client_for(cast["manager"]).post(
        f"/api/v1/projects/{project.pk}/imports/", {"file": SimpleUploadedFile("d.jsonl", b"")}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "file: The submitted file is empty."
