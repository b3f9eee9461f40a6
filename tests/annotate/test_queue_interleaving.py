"""The queue stays correct under any interleaving of what annotators, reviewers and managers do.

A dozen threads act as annotators, a reviewer and a manager through the REST API at random — next, submit,
skip, edit, tie-break, reopen, member removal and re-adding — with the assignment timeout shortened so that idle
releases happen too. Afterwards SQL checks every invariant of the queue, and no request may have failed with a
server error (a deadlock surfaces as one).

Runs for ``--queue-seconds`` (default 20; e.g. ``scripts/test tests/annotate/test_queue_interleaving.py
--queue-seconds 300`` for a longer hunt) with ``--queue-seed`` choosing the random plan.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.signals import got_request_exception
from django.db import connection, connections

from annotate.models import Annotation, LabelSummary, Membership, Role, WorkItem
from annotate.services.queue import work_items_create
from annotate.services.summaries import summaries_rebuild
from tests.conftest import api_client_for
from tests.factories import ExampleFactory, ProjectFactory, QuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ANNOTATORS = 10  # with the reviewer and the manager, a dozen threads
EXAMPLES = 60
OVERLAP = 3


@dataclass
class Log:
    """What the actors saw, shared by all threads (appends to lists are atomic under the GIL)."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    # (example, username) -> answers of the last submit that was answered 201
    accepted: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, action: str, response: Any) -> Any:
        with self.lock:
            self.statuses[(action, response.status_code)] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{action}: {response.status_code} {response.content[:300]!r}")
        return response


class Actor(threading.Thread):
    def __init__(self, name: str, user: Any, project: Any, log: Log, seed: int, until: float):
        super().__init__(name=name, daemon=True)
        self.user, self.project, self.log = user, project, log
        self.random = random.Random(seed)
        self.until = until
        self.failure: BaseException | None = None

    def url(self, path: str) -> str:
        return f"/api/v1/projects/{self.project.pk}/{path}"

    def run(self) -> None:
        self.client = api_client_for(self.user)
        self.client.raise_request_exception = False
        try:
            while time.monotonic() < self.until:
                self.act()
                time.sleep(self.random.random() * 0.01)
        except BaseException as exc:
            self.failure = exc
        finally:
            connection.close()

    def act(self) -> None:
        raise NotImplementedError


class Annotator(Actor):
    """Gets work and answers it; sometimes skips, sometimes idles past the timeout, sometimes edits old work."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.done: list[int] = []

    def submit(self, example: int, action: str) -> None:
        answers = {"quality": self.random.randint(1, 3), "topic": self.random.choice(["a", "b"])}
        response = self.log.saw(
            action, self.client.post(self.url("annotations/"), {"example": example, "answers": answers})
        )
        if response.status_code == 201:
            with self.log.lock:
                self.log.accepted[(example, self.user.username)] = answers
            self.done.append(example)

    def act(self) -> None:
        roll = self.random.random()
        if roll < 0.1 and self.done:
            self.submit(self.random.choice(self.done), "edit")
            return
        response = self.log.saw("next", self.client.get(self.url("next/")))
        if response.status_code != 200:
            time.sleep(0.05)
            return
        example = response.json()["example"]["id"]
        if roll < 0.2:
            self.log.saw("skip", self.client.post(self.url("skips/"), {"example": example}))
        elif roll < 0.27:
            time.sleep(1.2)  # past the assignment timeout: another annotator's next releases it
            self.submit(example, "late submit")
        else:
            self.submit(example, "submit")


class Reviewer(Actor):
    """Asks for tie-breakers and sends examples back, on examples anyone may be working on."""

    def act(self) -> None:
        examples = self.random.sample(self.example_ids, k=self.random.randint(1, 3))
        roll = self.random.random()
        if roll < 0.35:
            self.log.saw("tiebreak", self.client.post(self.url("tiebreak/"), {"examples": examples}))
        elif roll < 0.7:
            self.log.saw("reopen", self.client.post(self.url("reopen/"), {"examples": examples}))
        elif roll < 0.9:
            body = {"example": examples[0], "question": "topic", "value": self.random.choice(["a", "b"])}
            self.log.saw("resolve", self.client.post(self.url("resolutions/"), body))
        else:
            body = {"question": "quality", "method": "majority", "threshold": 0.5}
            self.log.saw("consensus", self.client.post(self.url("resolutions/consensus/"), body))
        time.sleep(0.05)


class Manager(Actor):
    """Removes an annotator (taking back what they hold) and adds them back a moment later."""

    def act(self) -> None:
        username = self.random.choice(self.usernames)
        self.log.saw("remove member", self.client.delete(self.url(f"members/{username}/")))
        time.sleep(self.random.random() * 0.2)
        body = {"username": username, "role": "annotator"}
        self.log.saw("add member", self.client.post(self.url("members/"), body))
        time.sleep(0.1)


def fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def invariant_violations(project_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Each check lists the rows that break it; every list must be empty."""
    p = [project_id]
    return {
        "live counts the round's held and submitted assignments": fetch(
            "SELECT w.example_id, w.live, count(a.id) FROM annotate_workitem w LEFT JOIN annotate_assignment a "
            "ON a.example_id = w.example_id AND a.round = w.round AND a.status IN ('active', 'submitted') "
            "WHERE w.project_id = %s GROUP BY w.example_id HAVING w.live <> count(a.id)",
            p,
        ),
        "done counts the round's submitted assignments": fetch(
            "SELECT w.example_id, w.done, count(a.id) FROM annotate_workitem w LEFT JOIN annotate_assignment a "
            "ON a.example_id = w.example_id AND a.round = w.round AND a.status = 'submitted' "
            "WHERE w.project_id = %s GROUP BY w.example_id HAVING w.done <> count(a.id)",
            p,
        ),
        "done <= live <= target = overlap + extra, open while live < target": fetch(
            "SELECT w.example_id, w.done, w.live, w.target, w.extra, w.open FROM annotate_workitem w "
            "JOIN annotate_project pr ON pr.id = w.project_id WHERE w.project_id = %s AND NOT "
            "(w.done <= w.live AND w.live <= w.target AND w.target = pr.overlap + w.extra "
            "AND w.open = (w.live < w.target))",
            p,
        ),
        "no example twice to one annotator in a round": fetch(
            "SELECT example_id, annotator_id, round FROM annotate_assignment WHERE project_id = %s "
            "GROUP BY example_id, annotator_id, round HAVING count(*) > 1",
            p,
        ),
        "a skipped example is never handed to the same annotator again": fetch(
            "SELECT s.example_id, s.annotator_id FROM annotate_assignment s JOIN annotate_assignment a "
            "ON a.example_id = s.example_id AND a.annotator_id = s.annotator_id AND a.id > s.id "
            "WHERE s.project_id = %s AND s.status = 'skipped'",
            p,
        ),
        "at most one held example per annotator": fetch(
            "SELECT annotator_id, count(*) FROM annotate_assignment WHERE project_id = %s AND status = 'active' "
            "GROUP BY annotator_id HAVING count(*) > 1",
            p,
        ),
        "an active assignment belongs to its example's current round": fetch(
            "SELECT a.id FROM annotate_assignment a JOIN annotate_workitem w ON w.example_id = a.example_id "
            "WHERE a.project_id = %s AND a.status = 'active' AND a.round <> w.round",
            p,
        ),
    }


def test_it_keeps_every_invariant_under_random_concurrent_work(request):
    seconds = request.config.getoption("--queue-seconds")
    seed = request.config.getoption("--queue-seed")
    project = ProjectFactory(overlap=OVERLAP, assignment_timeout=1)
    QuestionFactory(project=project, name="quality", kind="rating", options={"min": 1, "max": 3})
    QuestionFactory(project=project, name="topic", kind="label", options={"labels": ["a", "b"]}, level="nominal")
    example_ids = [e.pk for e in ExampleFactory.create_batch(EXAMPLES, project=project)]
    work_items_create(project=project)
    users = [UserFactory(username=f"stress-ann-{i}") for i in range(ANNOTATORS)]
    for user in users:
        Membership.objects.create(user=user, project=project, role=Role.ANNOTATOR)
    reviewer, manager = UserFactory(username="stress-reviewer"), UserFactory(username="stress-manager")
    Membership.objects.create(user=reviewer, project=project, role=Role.REVIEWER)
    Membership.objects.create(user=manager, project=project, role=Role.MANAGER)

    log = Log()

    def server_error(sender: Any, request: Any = None, **kwargs: Any) -> None:
        import traceback

        log.server_errors.append(traceback.format_exc(limit=8))

    got_request_exception.connect(server_error)
    until = time.monotonic() + seconds
    rng = random.Random(seed)
    actors: list[Actor] = [
        Annotator(f"ann{i}", u, project, log, rng.randrange(2**32), until) for i, u in enumerate(users)
    ]
    review = Reviewer("reviewer", reviewer, project, log, rng.randrange(2**32), until)
    review.example_ids = example_ids
    manage = Manager("manager", manager, project, log, rng.randrange(2**32), until)
    manage.usernames = [u.username for u in users[:3]]
    actors += [review, manage]
    try:
        for actor in actors:
            actor.start()
        for actor in actors:
            actor.join(timeout=seconds + 60)
    finally:
        got_request_exception.disconnect(server_error)
        for alias in connections:
            connections[alias].close_if_unusable_or_obsolete()

    assert all(not actor.is_alive() for actor in actors), "an actor hung (a lock wait that never ended?)"
    assert [a.failure for a in actors if a.failure] == []
    assert log.server_errors == [], "\n".join(log.server_errors[:5])
    summary = dict(log.statuses)
    # The run exercised what it is meant to: every kind of action succeeded at least once.
    for action, status in [
        ("next", 200),
        ("submit", 201),
        ("skip", 204),
        ("edit", 201),
        ("tiebreak", 200),
        ("reopen", 200),
        ("resolve", 201),
        ("consensus", 200),
        ("remove member", 204),
        ("add member", 201),
    ]:
        assert summary.get((action, status), 0) > 0, f"no successful {action} in {summary}"
    assert any(status == 201 for (action, status) in summary if action == "late submit"), summary

    assert {check: rows for check, rows in invariant_violations(project.pk).items() if rows} == {}
    stored = {
        (example, username): answers
        for example, username, answers in Annotation.objects.filter(project=project).values_list(
            "example_id", "annotator__username", "answers"
        )
    }
    lost = {key: answers for key, answers in log.accepted.items() if stored.get(key) != answers}
    assert lost == {}, "answers acknowledged with 201 but not stored as the last answers"
    assert WorkItem.objects.filter(project=project).count() == EXAMPLES

    # The label summaries kept in step answer by answer are what a rebuild from scratch makes.
    kept = summary_rows(project)
    assert any(row[3] > 0 for row in kept) and any(row[6] for row in kept), "the run left cases and resolutions"
    summaries_rebuild(project=project)
    assert kept == summary_rows(project)


def summary_rows(project: Any) -> list[tuple[Any, ...]]:
    fields = ("example_id", "question_id", "labels", "disagreement", "consensus", "consensus_share", "resolved")
    return list(LabelSummary.objects.filter(project=project).order_by("example_id", "question_id").values_list(*fields))
