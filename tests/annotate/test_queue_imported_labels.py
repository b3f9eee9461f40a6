"""Labels made elsewhere, in the queue: each is its annotator's done assignment, and the example counts it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Assignment, Membership, WorkItem
from annotate.services.queue import (
    labels_imported,
    lock_items_by_id,
    next_assignment,
    release_idle,
    reopen,
    skip,
    work_items_create,
)
from tests.factories import ExampleFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = ProjectFactory(overlap=2)
    ExampleFactory.create_batch(3, project=project)
    work_items_create(project=project)
    return project


def members(project, count: int):
    users = [UserFactory() for _ in range(count)]
    for user in users:
        Membership.objects.create(user=user, project=project, role="annotator")
    return users


def first_example(project) -> int:
    return WorkItem.objects.filter(project=project).order_by("pk").values_list("pk", flat=True).first()


def imported(project, pairs) -> None:
    items = lock_items_by_id(project, [example_id for example_id, _ in pairs])
    labels_imported(project=project, items=items, pairs=[(example_id, user.pk) for example_id, user in pairs])


def counts(example_id: int) -> tuple[int, int, int, bool]:
    item = WorkItem.objects.get(pk=example_id)
    return item.live, item.done, item.target, item.open


def test_it_makes_each_label_a_submitted_assignment_of_the_current_round(project):
    example = first_example(project)
    ana, bo = members(project, 2)
    reopen(project=project, example_ids=[example])

    imported(project, [(example, ana), (example, bo)])

    rows = Assignment.objects.filter(example_id=example).values_list("annotator_id", "round", "status")
    assert sorted(rows) == sorted([(ana.pk, 2, "submitted"), (bo.pk, 2, "submitted")])
    assert counts(example) == (2, 2, 2, False)


def test_it_never_hands_the_example_to_its_importing_annotator_again(project):
    example = first_example(project)
    (ana,) = members(project, 1)

    imported(project, [(example, ana)])

    handed = [next_assignment(project=project, annotator=ana) for _ in range(3)]
    assert example not in {a.example_id for a in handed if a is not None}
    assert counts(example) == (1, 1, 2, True)


def test_it_raises_the_target_to_the_labels_when_they_are_more_than_the_overlap(project):
    example = first_example(project)
    users = members(project, 3)

    imported(project, [(example, user) for user in users])

    assert counts(example) == (3, 3, 3, False)


def test_it_takes_the_label_of_an_annotator_who_holds_the_example_as_their_answer(project):
    (ana,) = members(project, 1)
    held = next_assignment(project=project, annotator=ana)

    imported(project, [(held.example_id, ana)])

    held.refresh_from_db()
    assert held.status == "submitted"
    assert counts(held.example_id) == (1, 1, 2, True)
    assert next_assignment(project=project, annotator=ana).example_id != held.example_id


def test_it_counts_the_label_of_an_annotator_who_skipped_or_was_released_from_the_example(project):
    ana, bo = members(project, 2)
    skipped = next_assignment(project=project, annotator=ana)
    skip(project=project, annotator=ana, example_id=skipped.example_id)
    released = next_assignment(project=project, annotator=bo)
    Assignment.objects.filter(pk=released.pk).update(assigned_at=timezone.now() - timedelta(days=1))
    release_idle(project=project)

    imported(project, [(skipped.example_id, ana), (released.example_id, bo)])

    statuses = Assignment.objects.filter(pk__in=[skipped.pk, released.pk]).values_list("status", flat=True)
    assert set(statuses) == {"submitted"}
    # Neither held its place any more, so each label takes one again (bo may have been handed the example ana
    # skipped: then it counts both).
    for example_id, labels in Counter([skipped.example_id, released.example_id]).items():
        assert counts(example_id)[:2] == (labels, labels)


def test_it_keeps_the_counts_right_across_calls_for_the_same_example(project):
    example = first_example(project)
    ana, bo, cy = members(project, 3)
    items = lock_items_by_id(project, [example])

    labels_imported(project=project, items=items, pairs=[(example, ana.pk)])
    labels_imported(project=project, items=items, pairs=[(example, bo.pk), (example, cy.pk)])

    assert counts(example) == (3, 3, 3, False)


def test_it_locks_work_items_of_more_examples_than_one_statement_takes(project, monkeypatch):
    monkeypatch.setattr("annotate.services.queue.LOCK_CHUNK", 2)
    ids = list(WorkItem.objects.filter(project=project).values_list("pk", flat=True))

    assert sorted(lock_items_by_id(project, reversed(ids))) == sorted(ids)
