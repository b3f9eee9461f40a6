"""Real Celery worker processes on Redis run import jobs submitted through the API, survive being killed, and
stop when a job is cancelled.

Why this test once saw a job stay queued for a minute beside a worker that said it was ready, and what guards
against each cause now:
- the minute began when the worker *process* started, not when it could take jobs: on a loaded machine a cold
  worker start (Django, pyarrow, the broker) can take most of it. Workers are now waited for until they log
  "ready" (with a budget of their own), and a job is timed from then.
- every test run on the machine used the same Redis database (scripts/test's default) and the same queue name
  ("celery"), and this fixture flushed that database: another run's fixture could delete the job's message
  before the worker took it, and another run's worker could take it and find no such job in its own database.
  Each test now has a queue of its own (WINNOW_TASK_QUEUE, which the sending side reads when a task is sent),
  and nothing flushes Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from annotate.models import Example, WorkItem
from curation.models import Job
from tests.conftest import api_client_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, databases=["default", "progress"])]
REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180  # a cold worker start on a loaded machine; separate from how long a job may take
JOB_SECONDS = 60


class Worker:
    """A worker process (with its pool process) on the test database and its own queue."""

    def __init__(self, tmp_path: Path, settings, *, reap_every: int = 1):
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "WINNOW_TASK_QUEUE": settings.WINNOW_TASK_QUEUE,
            "WINNOW_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "WINNOW_DATA_DIR": str(settings.DATA_DIR),
            "WINNOW_JOB_HEARTBEAT_SECONDS": "1",
            "WINNOW_JOB_STALE_SECONDS": "4",
            "WINNOW_JOB_REAP_SECONDS": str(reap_every),
            "SECRET_KEY": "worker-under-test",
        }
        name = f"winnow-test-{uuid.uuid4().hex[:8]}@%h"
        self.log_path = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.log = open(self.log_path, "w+")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-n", name, "--pool=prefork"]
        command += ["--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle"]
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_until_ready()

    def text(self) -> str:
        return self.log_path.read_text()

    def wait_until_ready(self) -> None:
        """Jobs are timed from when the worker consumes, not from when its process was started."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if " ready." in self.text():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"the worker did not get ready; its log:\n{self.text()}")

    def kill_pool_process(self) -> None:
        """SIGKILL the process running the task, as the kernel's OOM killer would; the worker itself lives."""
        [child] = psutil.Process(self.process.pid).children()
        child.send_signal(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the worker and its pool process at once: the machine lost power, the container was killed."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture
def own_queue(settings, tmp_path):
    """This test's queue name, for this process (read when a task is sent) and for its workers."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "the worker test runs on Redis: set CELERY_BROKER_URL"
    queue = settings.WINNOW_TASK_QUEUE = f"winnow-test-{uuid.uuid4().hex}"
    yield queue
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue, f"_kombu.binding.{queue}")
    # A killed worker leaves its message unacknowledged; a later worker would put it back in this queue.
    for tag, message in broker.hscan_iter("unacked"):
        if queue.encode() in message:
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)


@pytest.fixture
def start_worker(own_queue, tmp_path, settings):
    workers: list[Worker] = []

    def start(**options) -> Worker:
        workers.append(Worker(tmp_path, settings, **options))
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def worker(start_worker):
    return start_worker()


def wait_for(job_id: int, worker: Worker, *, until=lambda job: job.is_finished, timeout: float = JOB_SECONDS) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if until(job):
            return job
        time.sleep(0.05)
    job = Job.objects.get(pk=job_id)
    pytest.fail(f"job {job_id} did not get there (status {job.status}, stage {job.stage!r}); log:\n{worker.text()}")


def reading(job: Job) -> bool:
    return job.status == "running" and job.stage == "reading" and job.progress_done > 0


def post_import(client, project, data: bytes, name: str = "batch.jsonl") -> int:
    response = client.post(
        f"/api/v1/projects/{project.pk}/imports/", {"file": SimpleUploadedFile(name, data)}, format="multipart"
    )
    assert response.status_code == 202, response.content
    return response.json()["job"]["id"]


def big_file(records: int = 150_000) -> bytes:
    """Enough records that the import is still reading when a test acts on it."""
    return b"".join(b'{"id": "b%d", "prompt": "Say %d", "response": "%d times"}\n' % (n, n, n) for n in range(records))


def leftovers(settings) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def test_it_imports_a_file_through_the_worker(cast, project, worker, settings):
    lines = b"".join(b'{"id": "r%d", "prompt": "Say %d", "response": "%d"}\n' % (n, n, n) for n in range(250))

    job = wait_for(post_import(api_client_for(cast["manager"]), project, lines), worker)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["imported"] == 250
    assert (job.progress_done, job.progress_total) == (250, 250)
    assert Example.objects.for_project(project).count() == 250 == WorkItem.objects.filter(project=project).count()
    assert Example.objects.get(project=project, external_id="r7").content == {"prompt": "Say 7", "response": "7"}
    assert leftovers(settings) == [], "the upload is removed once imported"


def test_the_worker_indexes_an_import_for_search_once_it_is_done(cast, project, worker):
    lines = b"".join(b'{"id": "r%d", "prompt": "Say %d", "response": "word%d"}\n' % (n, n, n) for n in range(50))
    job = wait_for(post_import(api_client_for(cast["manager"]), project, lines), worker)
    assert job.status == Job.Status.SUCCEEDED, job.error

    index = wait_for(job.result["search_index_job"], worker)

    assert (index.kind, index.status, index.result["written"]) == (Job.Kind.SEARCH_INDEX, Job.Status.SUCCEEDED, 50)
    found = api_client_for(cast["reviewer"]).get(f"/api/v1/projects/{project.pk}/examples/", {"q": "word7"}).json()
    assert [e["external_id"] for e in found["results"]] == ["r7"] and found["search_pending"] == 0


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


def test_it_keeps_to_its_own_queue_on_a_shared_broker(cast, project, own_queue, start_worker, settings):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # Another test run (or deployment) on the same Redis database: its queued message, and its data.
    foreign = f"another-run-{uuid.uuid4().hex}"
    broker.rpush(foreign, b"a message of another run")
    broker.set(f"{foreign}-data", b"keep me")
    try:
        worker = start_worker()
        job = wait_for(post_import(api_client_for(cast["manager"]), project, b'{"text": "a"}\n'), worker)

        assert job.status == Job.Status.SUCCEEDED, job.error
        assert broker.lrange(foreign, 0, -1) == [b"a message of another run"]
        assert broker.get(f"{foreign}-data") == b"keep me"
        assert f"queues]\n                .> {own_queue}" in worker.text().replace("\r", "")
    finally:
        broker.delete(foreign, f"{foreign}-data")


def test_it_runs_an_import_again_when_its_worker_process_is_killed(cast, project, worker, settings):
    job_id = post_import(api_client_for(cast["manager"]), project, big_file())
    wait_for(job_id, worker, until=reading)

    worker.kill_pool_process()
    job = wait_for(job_id, worker, timeout=JOB_SECONDS * 2)

    assert (job.status, job.attempts) == (Job.Status.SUCCEEDED, 2), job.error
    assert Example.objects.for_project(project).count() == 150_000 == WorkItem.objects.filter(project=project).count()
    assert leftovers(settings) == []


def test_it_fails_an_import_whose_worker_process_is_killed_on_the_retry_too(cast, project, worker, settings):
    job_id = post_import(api_client_for(cast["manager"]), project, big_file())
    wait_for(job_id, worker, until=reading)
    worker.kill_pool_process()
    wait_for(job_id, worker, until=lambda job: job.attempts == 2 and reading(job))

    worker.kill_pool_process()
    job = wait_for(job_id, worker)

    assert job.status == Job.Status.FAILED
    assert "The worker running this job stopped before the job finished, 2 times" in job.error["message"]
    assert "Import the file again" in job.error["message"]
    assert (Example.objects.count(), WorkItem.objects.count()) == (0, 0)
    assert leftovers(settings) == []


def test_it_reaps_a_job_of_a_killed_worker_when_the_next_worker_starts(cast, project, start_worker, settings):
    first = start_worker()
    job_id = post_import(api_client_for(cast["manager"]), project, big_file())
    wait_for(job_id, first, until=reading)

    first.kill()
    time.sleep(5)  # longer than WINNOW_JOB_STALE_SECONDS: the job now looks as dead as it is
    second = start_worker(reap_every=3600)  # so only the reaping done when it is ready can pick the job up
    job = wait_for(job_id, second, timeout=JOB_SECONDS * 2)

    assert (job.status, job.attempts) == (Job.Status.SUCCEEDED, 2), job.error
    assert Example.objects.for_project(project).count() == 150_000
    assert leftovers(settings) == []


def test_it_stops_a_running_import_cancelled_through_the_api(cast, project, worker, settings):
    client = api_client_for(cast["manager"])
    job_id = post_import(client, project, big_file())
    wait_for(job_id, worker, until=reading)

    response = client.post(f"/api/v1/jobs/{job_id}/cancel/")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    # One worker process: the next job runs once the cancelled one has stopped and rolled back.
    after = wait_for(post_import(client, project, b'{"id": "after", "text": "a"}\n'), worker)

    assert after.status == Job.Status.SUCCEEDED, after.error
    assert Job.objects.get(pk=job_id).status == Job.Status.CANCELLED
    assert list(Example.objects.values_list("external_id", flat=True)) == ["after"]
    assert WorkItem.objects.count() == 1
    assert f"import job {job_id} stopped" in worker.text()
    assert leftovers(settings) == []
