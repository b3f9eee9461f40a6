"""Every request body has a limit (config/middleware/body_limit.py): small for anonymous requests and sign-in, the
JSON limit for signed-in users, the upload limit for files sent to the import endpoints."""

from __future__ import annotations

import asyncio
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.test.client import ClientHandler
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.middleware.body_limit import SIGN_IN_VIEWS, UPLOAD_VIEWS
from curation.models import Job
from tests.conftest import api_client_for

KB = 1024


def records_body(size: int) -> dict:
    """``{"records": [...]}`` of about ``size`` bytes of JSON."""
    count = max(1, size // 1000)
    return {"records": [{"text": "x" * 980} for _ in range(count)]}


def imports_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/imports/"


def assert_too_large(response, mentions: str) -> None:
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["details"] is None
    assert mentions in error["message"]


def test_it_refuses_a_large_anonymous_body_to_the_token_endpoint_before_reading_it(db):
    body = orjson.dumps({"username": "alice", "password": "p" * (100 * KB)})

    response = APIClient().post("/api/v1/auth/token/", body, content_type="application/json")

    assert_too_large(response, "64 KB a sign-in request may send")


def test_it_refuses_a_large_body_to_the_token_endpoint_even_from_a_signed_in_user(api_as):
    body = orjson.dumps({"username": "alice", "password": "p" * (100 * KB)})

    response = api_as("manager").post("/api/v1/auth/token/", body, content_type="application/json")

    assert response.status_code == 413


def test_it_gives_a_request_with_a_wrong_token_the_anonymous_limit(project):
    client = APIClient(HTTP_AUTHORIZATION="Token " + "0" * 40)

    response = client.post("/api/v1/projects/", records_body(100 * KB), format="json")

    assert_too_large(response, "without a signed-in user")


def test_it_refuses_a_json_body_over_the_json_limit(api_as, project, settings):
    settings.WINNOW_MAX_JSON_BODY_BYTES = 200 * KB

    response = api_as("manager").post(imports_url(project), records_body(300 * KB), format="json")

    assert_too_large(response, "WINNOW_MAX_JSON_BODY_BYTES")
    assert not Job.objects.exists()


def test_it_takes_a_json_body_under_the_json_limit(api_as, project, settings, django_capture_on_commit_callbacks):
    settings.WINNOW_MAX_JSON_BODY_BYTES = 200 * KB

    with django_capture_on_commit_callbacks():
        response = api_as("manager").post(imports_url(project), records_body(150 * KB), format="json")

    assert response.status_code == 202


def test_it_takes_a_file_upload_larger_than_the_json_limit(
    api_as, project, settings, django_capture_on_commit_callbacks
):
    settings.WINNOW_MAX_JSON_BODY_BYTES = 100 * KB
    lines = b"".join(orjson.dumps({"text": f"{i} " + "x" * 100}) + b"\n" for i in range(3000))

    with django_capture_on_commit_callbacks():
        response = api_as("manager").post(
            imports_url(project), {"file": SimpleUploadedFile("big.jsonl", lines)}, format="multipart"
        )

    assert response.status_code == 202, response.json()
    assert Job.objects.get().params["size"] == len(lines)


def test_it_refuses_an_upload_over_the_upload_limit(api_as, project, settings):
    settings.WINNOW_MAX_UPLOAD_BYTES = 200 * KB
    upload = SimpleUploadedFile("big.jsonl", b'{"text": "x"}\n' * (20 * KB))

    response = api_as("manager").post(imports_url(project), {"file": upload}, format="multipart")

    assert_too_large(response, "WINNOW_MAX_UPLOAD_BYTES")


@pytest.mark.parametrize("role", ["reviewer", "annotator", "outsider"])
def test_it_gives_the_upload_limit_only_to_those_who_may_import_there(api_as, project, settings, role):
    """A file from someone who may not import into the project is refused at the JSON limit, before it is
    streamed to disk for a view that would refuse it anyway."""
    settings.WINNOW_MAX_JSON_BODY_BYTES = 100 * KB
    upload = SimpleUploadedFile("big.jsonl", b'{"text": "x"}\n' * (20 * KB))

    response = api_as(role).post(imports_url(project), {"file": upload}, format="multipart")

    assert_too_large(response, "may not import into")
    assert not Job.objects.exists()


def test_it_gives_the_upload_limit_on_the_import_page_only_to_a_manager(client, cast, project, settings):
    settings.WINNOW_MAX_JSON_BODY_BYTES = 100 * KB
    upload = SimpleUploadedFile("big.jsonl", b'{"text": "x"}\n' * (20 * KB))
    client.force_login(cast["annotator"])

    response = client.post(reverse("curation:import", args=[project.pk]), {"file": upload})

    assert response.status_code == 413
    assert b"may not import into" in response.content


def test_it_gives_the_upload_limit_only_to_the_import_endpoints(api_as, project, settings):
    settings.WINNOW_MAX_JSON_BODY_BYTES = 100 * KB
    upload = SimpleUploadedFile("big.txt", b"x" * (200 * KB))

    url = f"/api/v1/projects/{project.pk}/guidelines/"
    response = api_as("manager").post(url, {"text": "v2", "file": upload}, format="multipart")

    assert_too_large(response, "WINNOW_MAX_JSON_BODY_BYTES")


def test_it_refuses_a_large_post_to_the_sign_in_page_with_a_page(db):
    response = Client().post(reverse("login"), {"username": "alice", "password": "p" * (100 * KB)})

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert "larger than the 64 KB a sign-in request may send" in response.content.decode()


def test_it_streams_an_upload_to_disk_rather_than_into_memory(project, cast, django_capture_on_commit_callbacks):
    size = 24 * 1024 * KB
    token, _ = Token.objects.get_or_create(user=cast["manager"])
    upload = SimpleUploadedFile("big.jsonl", (b'{"text": "' + b"x" * 1000 + b'"}\n') * (size // 1014))
    # Build the request (and its 24 MB body) first, so that only the server's side is measured.
    environ = RequestFactory().post(imports_url(project), {"file": upload}, HTTP_AUTHORIZATION=f"Token {token}").environ

    tracemalloc.start()
    try:
        with django_capture_on_commit_callbacks():
            response = ClientHandler(enforce_csrf_checks=False)(environ)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert response.status_code == 202
    assert peak < 8 * 1024 * KB, f"the upload took {peak / 1024 / KB:.1f} MB of memory"


def test_it_counts_the_bytes_of_a_body_whose_length_is_not_declared(db):
    """Under ASGI a chunked body reaches the request whole, with no Content-Length: it is refused while read."""
    from config.asgi import application

    chunks = [b"username=alice&password=" + b"p" * 16 * KB] + [b"p" * 16 * KB] * 6
    sent: list[dict] = []

    async def receive() -> dict:
        if not chunks:  # the whole body was sent: the client waits for the answer
            await asyncio.Event().wait()
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/accounts/login/",
        "raw_path": b"/accounts/login/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    # In a thread of its own: the browser tests leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, application(scope, receive, send)).result()

    start = next(message for message in sent if message["type"] == "http.response.start")
    assert start["status"] == 413


@pytest.mark.parametrize("view_name", sorted(SIGN_IN_VIEWS | UPLOAD_VIEWS))
def test_every_view_named_in_the_limits_exists(view_name):
    kwargs = {"project_id": 1} if view_name in UPLOAD_VIEWS else {}
    assert reverse(view_name, kwargs=kwargs)


def test_it_answers_a_small_anonymous_body_as_usual(db):
    response = api_client_for(None).post("/api/v1/auth/token/", {"username": "nobody", "password": "x"})

    assert response.status_code == 400
