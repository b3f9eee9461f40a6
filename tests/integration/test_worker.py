"""A real Celery worker process on Redis runs import jobs submitted through the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from annotate.models import Example
from curation.models import Job
from tests.conftest import api_client_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, databases=["default", "progress"])]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(tmp_path, settings):
    """A worker process on the test database and the configured Redis broker, sharing this process's media."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "the worker test runs on Redis: set CELERY_BROKER_URL"
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # no stale messages from an earlier run
    settings.MEDIA_ROOT = tmp_path / "media"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "WINNOW_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "WINNOW_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "worker-under-test",
    }
    log = open(tmp_path / "worker.log", "w+")  # noqa: SIM115 - read back on failure
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process, log
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def wait_for(job_id: int, worker, timeout: float = 60) -> Job:
    process, log = worker
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_finished:
            return job
        if process.poll() is not None:
            break
        time.sleep(0.2)
    log.seek(0)
    pytest.fail(f"job {job_id} did not finish (status {Job.objects.get(pk=job_id).status}); worker log:\n{log.read()}")


def test_it_imports_a_file_through_the_worker(cast, project, worker):
    lines = b"".join(b'{"id": "r%d", "prompt": "Say %d", "response": "%d"}\n' % (n, n, n) for n in range(250))
    upload = SimpleUploadedFile("batch.jsonl", lines)
    response = api_client_for(cast["manager"]).post(
        f"/api/v1/projects/{project.pk}/imports/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 202
    job = wait_for(response.json()["job"]["id"], worker)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["imported"] == 250
    assert (job.progress_done, job.progress_total) == (250, 250)
    assert Example.objects.for_project(project).count() == 250
    assert Example.objects.get(project=project, external_id="r7").content == {"prompt": "Say 7", "response": "7"}
    assert not any(Path(settings.MEDIA_ROOT, "imports").iterdir()), "the upload is removed once imported"


def test_it_reports_bad_records_from_the_worker_and_writes_nothing(cast, project, worker):
    records = [{"prompt": "ok", "response": "fine"}, {"prompt": 5, "response": "x"}, {"nothing": True}]
    client = api_client_for(cast["manager"])
    response = client.post(f"/api/v1/projects/{project.pk}/imports/", {"records": records}, format="json")
    job = wait_for(response.json()["job"]["id"], worker)
    assert job.status == Job.Status.FAILED
    assert [e["record"] for e in job.error["details"]["errors"]] == [2, 3]
    assert "'prompt' must be a string" in job.error["details"]["errors"][0]["reason"]
    assert Example.objects.for_project(project).count() == 0
    polled = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert polled["status"] == "failed" and polled["error"]["details"]["total"] == 2
