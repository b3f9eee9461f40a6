"""The embedded mode (no configuration): SQLite in WAL mode, and an import through its own writer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def embedded(tmp_path: Path, script: str) -> list[str]:
    """Migrate a fresh embedded instance (no DATABASE_URL, broker or secret) under tmp_path, run the script in its
    shell, and return the lines it printed starting with RESULT."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    env["WINNOW_DATA_DIR"] = str(tmp_path)
    for args in (["migrate", "--verbosity", "0"], ["shell", "-c", script]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]


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
    assert embedded(tmp_path, SCRIPT) == ["RESULT sqlite wal succeeded failed 2 2"]
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
    assert embedded(tmp_path, QUEUE_SCRIPT) == ["RESULT 0 30 [2] 0"]


REVIEW_SCRIPT = """
from django.contrib.auth.models import User
from annotate import review_queue
from annotate.models import LabelSummary, Membership, Question
from annotate.questions import parse_questions
from annotate.services import project_create
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment
from annotate.services.summaries import summaries_rebuild
from curation.services.imports import import_run, import_start
owner = User.objects.create_user("owner")
questions = parse_questions([
    {"name": "q", "kind": "rating", "min": 1, "max": 3},
    {"name": "topic", "kind": "label", "labels": ["a", "b", "c"]},
    {"name": "tags", "kind": "multi_label", "labels": ["x", "y"], "required": False},
])
project = project_create(name="review", created_by=owner, overlap=3, questions=questions)
job = import_start(project=project, created_by=owner, enqueue=False,
                   records=[{"text": str(n), "metadata": {"lang": "de" if n % 2 else "en"}} for n in range(12)])
job.start(); import_run(job=job)
users = [User.objects.create_user(f"a{n}") for n in range(3)]
for index, user in enumerate(users):
    Membership.objects.create(user=user, project=project, role="annotator")
    while (held := next_assignment(project=project, annotator=user)) is not None:
        n = held.example_id
        answers = {"q": 1 + (n * (index + 1)) % 3, "topic": "abc"[(n + index) % 3 if n % 3 else 0],
                   "tags": [["x"], ["x", "y"], []][(n + index) % 3]}
        annotation_submit(project=project, annotator=user, example_id=n, answers=answers)
fields = ("example_id", "question_id", "labels", "disagreement", "consensus", "consensus_share", "resolved")
kept = list(LabelSummary.objects.order_by("example_id", "question_id").values_list(*fields))
summaries_rebuild(project=project)
rebuilt = list(LabelSummary.objects.order_by("example_id", "question_id").values_list(*fields))
topic = Question.objects.get(name="topic")
filters = review_queue.Filters(question=topic, resolved=None, metadata={"lang": "de"})
page = review_queue.page(filters, size=50)
print("RESULT", len(kept), kept == rebuilt, len(page.cases) > 0, all(c.disagreement > 0 for c in page.cases))
"""


def test_it_keeps_label_summaries_and_pages_the_review_queue_on_sqlite(tmp_path):
    """The labels layer reads SQLite's own JSON and datetime text; the summaries it keeps match a rebuild."""
    assert embedded(tmp_path, REVIEW_SCRIPT) == ["RESULT 36 True True True"]


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
    assert embedded(tmp_path, DUPLICATES_SCRIPT) == [
        "RESULT ['succeeded', 'succeeded', 'succeeded'] {'total': 1, 'records': [1], 'skipped': False} 1 "
        "{'total': 2, 'records': [1, 3], 'skipped': True} 5 5"
    ]
