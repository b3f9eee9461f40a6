"""The embedded mode (no configuration): SQLite in WAL mode, and an import through its own writer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
from django.contrib.auth.models import User
from django.db import connection
from annotate.models import Example
from annotate.services import project_create
from curation.services.imports import import_run, import_start
user = User.objects.create_user("embedded")
project = project_create(name="embedded", created_by=user)
good = import_start(project=project, created_by=user, enqueue=False,
                    records=[{"id": "a", "text": "one"}, {"prompt": "p", "response": "r"}])
good.start(); import_run(job=good); good.refresh_from_db()
bad = import_start(project=project, created_by=user, enqueue=False,
                   records=[{"text": "three"}, {"id": "a", "text": "x"}])
bad.start(); import_run(job=bad); bad.refresh_from_db()
journal = connection.cursor().execute("PRAGMA journal_mode").fetchone()[0]
first_bad = bad.error["details"]["errors"][0]["record"]
print("RESULT", connection.vendor, journal, good.status, bad.status, Example.objects.count(), first_bad)
"""


def test_it_imports_on_sqlite_with_no_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    env["WINNOW_DATA_DIR"] = str(tmp_path)

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    manage("migrate", "--verbosity", "0")
    result = [line for line in manage("shell", "-c", SCRIPT).splitlines() if line.startswith("RESULT ")]
    assert result == ["RESULT sqlite wal succeeded failed 2 2"]
    assert (tmp_path / "winnow.sqlite3").exists()


QUEUE_SCRIPT = """
import threading
from collections import Counter
from django.contrib.auth.models import User
from django.db import connection
from annotate.models import Annotation, Membership, WorkItem
from annotate.questions import parse_questions
from annotate.services import project_create
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment
from curation.services.imports import import_run, import_start
owner = User.objects.create_user("owner")
project = project_create(name="queue", created_by=owner, overlap=2,
                         questions=parse_questions([{"name": "q", "kind": "rating", "min": 1, "max": 3}]))
job = import_start(project=project, created_by=owner, enqueue=False, records=[{"text": str(n)} for n in range(30)])
job.start(); import_run(job=job)
users = [User.objects.create_user(f"a{n}") for n in range(4)]
for user in users:
    Membership.objects.create(user=user, project=project, role="annotator")
errors = []
def work(user):
    try:
        while (held := next_assignment(project=project, annotator=user)) is not None:
            annotation_submit(project=project, annotator=user, example_id=held.example_id, answers={"q": 2})
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()
threads = [threading.Thread(target=work, args=(user,)) for user in users]
[t.start() for t in threads]; [t.join() for t in threads]
counts = Counter(Annotation.objects.values_list("example_id", flat=True))
print("RESULT", len(errors), len(counts), sorted(set(counts.values())), WorkItem.objects.filter(open=True).count())
"""


def test_it_shares_out_work_correctly_on_sqlite_with_concurrent_annotators(tmp_path):
    """SQLite has no row locks: its write transactions run one at a time (IMMEDIATE), which must be enough."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    env["WINNOW_DATA_DIR"] = str(tmp_path)
    for args in (["migrate", "--verbosity", "0"], ["shell", "-c", QUEUE_SCRIPT]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines == ["RESULT 0 30 [2] 0"]


DUPLICATES_SCRIPT = """
from django.contrib.auth.models import User
from annotate.models import Example, WorkItem
from annotate.services import project_create
from curation.services.imports import import_run, import_start
user = User.objects.create_user("embedded")
project = project_create(name="embedded", created_by=user)
def imported(records, **options):
    job = import_start(project=project, created_by=user, enqueue=False, records=records, **options)
    job.start(); import_run(job=job); job.refresh_from_db()
    return job
first = imported([{"text": "one"}, {"text": "two"}])
kept = imported([{"text": "two"}, {"text": "three"}])
skipped = imported([{"text": "three"}, {"text": "four"}, {"text": "one"}], on_duplicate="skip")
print("RESULT", [job.status for job in (first, kept, skipped)], kept.result["duplicates"], skipped.result["imported"],
      skipped.result["duplicates"], Example.objects.count(), WorkItem.objects.count())
"""


def test_it_counts_and_skips_records_already_in_the_project_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    env["WINNOW_DATA_DIR"] = str(tmp_path)
    for args in (["migrate", "--verbosity", "0"], ["shell", "-c", DUPLICATES_SCRIPT]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert line == (
        "RESULT ['succeeded', 'succeeded', 'succeeded'] {'total': 1, 'records': [1], 'skipped': False} 1 "
        "{'total': 2, 'records': [1, 3], 'skipped': True} 5 5"
    )
