"""The guards at the edge behind a real gunicorn, in the embedded mode (no configuration): a huge anonymous body is
refused from its Content-Length without being read, and failed sign-ins are counted across worker processes."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
CREATE_USER = "from django.contrib.auth.models import User; User.objects.create_user('alice', password='right-one')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """gunicorn serving config.wsgi in the embedded mode; every worker exits after one request (--max-requests 1),
    so consecutive requests are answered by different processes."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    env.update(WINNOW_DATA_DIR=str(tmp_path), WINNOW_SIGN_IN_FAILURES_PER_USERNAME="3")
    for args in (["migrate", "--verbosity", "0"], ["shell", "-c", CREATE_USER]):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    process = subprocess.Popen(
        [*gunicorn, "--max-requests", "1"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    yield port, process
    process.terminate()
    process.wait(timeout=10)


def post_token(port: int, body: bytes) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/api/v1/auth/token/", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), json.loads(response.read())


def test_it_refuses_a_95_mb_anonymous_body_without_reading_it(server):
    port, process = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("POST", "/api/v1/auth/token/")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(95_000_000))
    connection.endheaders()
    # The server may close the connection before the client is done sending; its answer is waiting all the same.
    with contextlib.suppress(OSError):
        connection.send(b'{"username": "alice", "password": "' + b"p" * 1_000_000)
    response = connection.getresponse()
    body = json.loads(response.read())

    # The client sent 1 MB of the 95 it announced: a server that read the body would still be waiting for the rest
    # when the client's 10-second timeout ends the test. An answer at all is the proof (not its time, which a
    # loaded machine stretches).
    assert response.status == 413
    assert body["error"]["code"] == "too_large"
    workers = psutil.Process(process.pid).children()
    assert workers and max(worker.memory_info().rss for worker in workers) < 300 * 1024 * 1024


def test_failed_sign_ins_are_counted_across_worker_processes(server):
    port, _ = server
    wrong = json.dumps({"username": "alice", "password": "wrong"}).encode()
    answers = []
    for _ in range(3):
        status, _, _ = post_token(port, wrong)
        answers.append(status)

    status, headers, body = post_token(port, json.dumps({"username": "alice", "password": "right-one"}).encode())

    assert answers == [400, 400, 400]
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert body["error"]["code"] == "too_many_attempts"
