"""Labels for the agreement tests: six examples, three annotators, a 1–5 rating and a label of three, written through
the queue and the submit service as annotators would."""

from __future__ import annotations

import random

from annotate.models import Membership
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, skip, work_items_create
from tests.factories import ExampleFactory, ProjectFactory, QuestionFactory, UserFactory

ANNOTATORS = ("ann-a", "ann-b", "ann-c")
# Per example: its metadata and each annotator's (quality 1–5, topic); None: the annotator skipped it.
LABELS = {
    "e1": ({"lang": "en"}, [(1, "code"), (5, "code"), (3, "code")]),
    "e2": ({"lang": "de"}, [(2, "code"), (3, "math"), (3, "general")]),
    "e3": ({"lang": "en"}, [(4, "math"), (4, "math"), (4, "code")]),
    "e4": ({}, [(4, "general"), (5, "general"), None]),
    "e5": ({"lang": "en"}, [(2, "math"), (2, "math"), (1, "math")]),
    "e6": ({"lang": "de"}, [(5, "general"), (4, "code"), (5, "general")]),
}
TOPICS = ["code", "math", "general"]


def write_labels(project):
    """LABELS written through the queue and the submit service; returns the annotators by username."""
    ids = {
        ExampleFactory(project=project, external_id=name, metadata=metadata).pk: name
        for name, (metadata, _) in LABELS.items()
    }
    work_items_create(project=project)
    users = {}
    for column, username in enumerate(ANNOTATORS):
        users[username] = user = UserFactory(username=username)
        Membership.objects.create(user=user, project=project, role="annotator")
        while (assignment := next_assignment(project=project, annotator=user)) is not None:
            answer = LABELS[ids[assignment.example_id]][1][column]
            if answer is None:
                skip(project=project, annotator=user, example_id=assignment.example_id)
                continue
            quality, topic = answer
            annotation_submit(
                project=project,
                annotator=user,
                example_id=assignment.example_id,
                answers={"quality": quality, "topic": topic},
            )
    return users


def work_through(project, users, answer_for):
    """Each user takes examples from the queue until none is left, answering answer_for(username, example)."""
    for user in users:
        while (assignment := next_assignment(project=project, annotator=user)) is not None:
            answers, order = answer_for(user.username, assignment.example)
            annotation_submit(
                project=project,
                annotator=user,
                example_id=assignment.example_id,
                answers=answers,
                display_order=order,
                duration_ms=4000,
            )


def rated_project():
    """40 examples rated 1–5 by four annotators: three honest (the truth, now and then one off), one lenient (two
    above the truth, at most 5)."""
    project = ProjectFactory(overlap=4)
    QuestionFactory(project=project, name="quality", kind="rating", options={"min": 1, "max": 5}, level="interval")
    rng = random.Random(3)
    truth = {}
    for n in range(40):
        truth[ExampleFactory(project=project, external_id=f"r{n}").pk] = rng.randint(1, 3)
    work_items_create(project=project)
    users = []
    for name in ("honest-1", "honest-2", "honest-3", "lenient"):
        users.append(UserFactory(username=name))
        Membership.objects.create(user=users[-1], project=project, role="annotator")

    def answer(username, example):
        value = truth[example.pk]
        if username == "lenient":
            value = min(5, value + 2)
        elif rng.random() < 0.2:
            value = max(1, min(5, value + rng.choice([-1, 1])))
        return {"quality": value}, None

    work_through(project, users, answer)
    reviewer = UserFactory(username="rated-reviewer")
    Membership.objects.create(user=reviewer, project=project, role="reviewer")
    return project, reviewer
