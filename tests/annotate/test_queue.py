"""The assignment engine: k-fold, blind, never over-assigned, under concurrency too."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotate.models import Annotation, Assignment, Membership, WorkItem
from annotate.services import NotAssigned
from annotate.services.annotations import annotation_submit
from annotate.services.queue import answerable, next_assignment, skip, takes_answer, work_items_create
from tests.factories import ExampleFactory, ProjectFactory, QuestionFactory, UserFactory


def make_project(examples: int, overlap: int):
    project = ProjectFactory(overlap=overlap)
    QuestionFactory(project=project, name="quality", kind="rating", options={"min": 1, "max": 5})
    ExampleFactory.create_batch(examples, project=project)
    work_items_create(project=project)
    return project


def annotators(project, count: int):
    users = [UserFactory() for _ in range(count)]
    for user in users:
        Membership.objects.create(user=user, project=project, role="annotator")
    return users


@pytest.mark.django_db
def test_it_gives_back_the_example_an_annotator_already_holds():
    project = make_project(5, overlap=2)
    (ann,) = annotators(project, 1)
    first = next_assignment(project=project, annotator=ann)
    again = next_assignment(project=project, annotator=ann)
    assert first.example_id == again.example_id
    assert Assignment.objects.filter(annotator=ann).count() == 1


@pytest.mark.django_db
def test_it_prefers_examples_closest_to_completion():
    project = make_project(10, overlap=3)
    ann1, ann2 = annotators(project, 2)
    held = next_assignment(project=project, annotator=ann1)
    annotation_submit(project=project, annotator=ann1, example_id=held.example_id, answers={"quality": 4})
    assert next_assignment(project=project, annotator=ann2).example_id == held.example_id


@pytest.mark.django_db
def test_it_never_hands_one_example_to_more_than_overlap_annotators():
    project = make_project(1, overlap=2)
    users = annotators(project, 3)
    got = [next_assignment(project=project, annotator=user) for user in users]
    assert [a is not None for a in got] == [True, True, False]


@pytest.mark.django_db
def test_it_never_offers_a_skipped_example_to_the_same_annotator_again():
    project = make_project(2, overlap=2)
    (ann,) = annotators(project, 1)
    first = next_assignment(project=project, annotator=ann)
    skip(project=project, annotator=ann, example_id=first.example_id)
    second = next_assignment(project=project, annotator=ann)
    assert second.example_id != first.example_id
    annotation_submit(project=project, annotator=ann, example_id=second.example_id, answers={"quality": 3})
    assert next_assignment(project=project, annotator=ann) is None
    assert WorkItem.objects.get(pk=first.example_id).live == 0


@pytest.mark.django_db
def test_it_releases_assignments_held_too_long():
    project = make_project(1, overlap=1)
    ann1, ann2 = annotators(project, 2)
    held = next_assignment(project=project, annotator=ann1)
    assert next_assignment(project=project, annotator=ann2) is None
    Assignment.objects.filter(pk=held.pk).update(assigned_at=timezone.now() - timedelta(seconds=3601))
    assert next_assignment(project=project, annotator=ann2).example_id == held.example_id
    assert Assignment.objects.get(pk=held.pk).status == "released"
    with pytest.raises(NotAssigned):
        annotation_submit(project=project, annotator=ann1, example_id=held.example_id, answers={"quality": 1})


@pytest.mark.django_db
def test_it_still_takes_late_answers_when_nobody_took_the_released_place():
    project = make_project(1, overlap=1)
    (ann,) = annotators(project, 1)
    held = next_assignment(project=project, annotator=ann)
    Assignment.objects.filter(pk=held.pk).update(assigned_at=timezone.now() - timedelta(seconds=3601))
    assert next_assignment(project=project, annotator=ann) is None  # released, and not offered again this round
    annotation_submit(project=project, annotator=ann, example_id=held.example_id, answers={"quality": 1})
    item = WorkItem.objects.get(pk=held.example_id)
    assert (item.live, item.done, item.open) == (1, 1, False)
    assert Assignment.objects.get(pk=held.pk).status == "submitted"


@pytest.mark.django_db
def test_it_refuses_an_answer_for_an_example_not_assigned():
    project = make_project(2, overlap=1)
    ann1, ann2 = annotators(project, 2)
    held = next_assignment(project=project, annotator=ann1)
    with pytest.raises(NotAssigned):
        annotation_submit(project=project, annotator=ann2, example_id=held.example_id, answers={"quality": 1})


@pytest.mark.django_db(transaction=True)
def test_it_holds_under_30_concurrent_threads_for_10_annotators():
    project = make_project(200, overlap=3)
    users = annotators(project, 10)
    errors: list[BaseException] = []

    def work(user):
        try:
            while (held := next_assignment(project=project, annotator=user)) is not None:
                # A sibling thread of the same annotator may have submitted it first.
                with contextlib.suppress(NotAssigned):
                    annotation_submit(
                        project=project, annotator=user, example_id=held.example_id, answers={"quality": 3}
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(users[i % 10],)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    per_example = Counter(Annotation.objects.filter(project=project).values_list("example_id", flat=True))
    assert len(per_example) == 200 and set(per_example.values()) == {3}
    pairs = Annotation.objects.filter(project=project).values_list("example_id", "annotator_id")
    assert len(set(pairs)) == 600
    assert not WorkItem.objects.filter(project=project, open=True).exists()


@pytest.mark.django_db
def test_it_applies_a_new_overlap_to_the_queue():
    from annotate.services import project_update

    project = make_project(2, overlap=1)
    ann1, ann2 = annotators(project, 2)
    held = next_assignment(project=project, annotator=ann1)
    annotation_submit(project=project, annotator=ann1, example_id=held.example_id, answers={"quality": 2})
    project_update(project=project, overlap=2)
    assert WorkItem.objects.get(pk=held.example_id).open
    assert next_assignment(project=project, annotator=ann2).example_id == held.example_id
    project_update(project=project, overlap=1)
    item = WorkItem.objects.get(pk=held.example_id)
    assert (item.target, item.open) == (2, False)  # never below the annotators it already has


class HeldTransaction(threading.Thread):
    """Runs ``work`` in a transaction on its own connection and keeps the transaction open until ``finish()``:
    another request meanwhile meets the row locks ``work`` took, as it would in production."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work, self.done, self.release = work, threading.Event(), threading.Event()
        self.failure: BaseException | None = None

    def run(self):
        from django.db import transaction

        try:
            with transaction.atomic():
                self.work()
                self.done.set()
                self.release.wait(timeout=30)
        except BaseException as exc:
            self.failure = exc
            self.done.set()
        finally:
            connection.close()

    def finish(self):
        self.release.set()
        self.join(timeout=30)
        assert self.failure is None, self.failure


def in_thread(work):
    """Start ``work`` on its own connection; the returned thread's ``result`` or ``failure`` holds the outcome."""

    class Worker(threading.Thread):
        result = failure = None

        def run(self):
            try:
                self.result = work()
            except BaseException as exc:
                self.failure = exc
            finally:
                connection.close()

    thread = Worker(daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_it_counts_an_answer_that_lands_while_its_annotator_is_being_removed():
    from annotate.services import member_remove

    project = make_project(1, overlap=2)
    ann, other = annotators(project, 2)
    held = next_assignment(project=project, annotator=ann)
    submitting = HeldTransaction(
        lambda: annotation_submit(project=project, annotator=ann, example_id=held.example_id, answers={"quality": 2})
    )
    submitting.start()
    assert submitting.done.wait(timeout=10)
    removing = in_thread(lambda: member_remove(project=project, username=ann.username))
    time.sleep(0.3)  # the removal now waits for the answer's locks
    submitting.finish()
    removing.join(timeout=30)

    assert removing.failure is None, removing.failure
    item = WorkItem.objects.get(pk=held.example_id)
    assert (item.live, item.done) == (1, 1), "the answer stands; nothing was released twice"
    assert Assignment.objects.get(annotator=ann).status == Assignment.Status.SUBMITTED
    assert not Membership.objects.filter(user=ann).exists()
    assert next_assignment(project=project, annotator=other).example_id == held.example_id


@pytest.mark.django_db(transaction=True)
def test_it_takes_back_an_example_claimed_while_it_was_being_reopened():
    from annotate.services.reviews import reopen

    project = make_project(1, overlap=2)
    (ann,) = annotators(project, 1)
    claiming = HeldTransaction(lambda: next_assignment(project=project, annotator=ann))
    claiming.start()
    assert claiming.done.wait(timeout=10)
    example_id = WorkItem.objects.get(project=project).pk
    reopening = in_thread(lambda: reopen(project=project, example_ids=[example_id]))
    time.sleep(0.3)  # the reopen now waits for the claim's lock on the example
    claiming.finish()
    reopening.join(timeout=30)

    assert reopening.failure is None, reopening.failure
    item = WorkItem.objects.get(pk=example_id)
    assert (item.round, item.live) == (2, 0)
    assert list(Assignment.objects.values_list("round", "status")) == [(1, "released")]
    # The annotator is not stuck with a first-round example they can no longer answer: they get it afresh.
    again = next_assignment(project=project, annotator=ann)
    assert (again.example_id, again.round) == (example_id, 2)
    annotation_submit(project=project, annotator=ann, example_id=example_id, answers={"quality": 5})


@pytest.mark.django_db
def test_it_refuses_to_demote_the_last_manager():
    from annotate.services import ServiceError, member_set

    project = ProjectFactory()
    boss = UserFactory()
    Membership.objects.create(user=boss, project=project, role="manager")
    with pytest.raises(ServiceError, match="at least one manager"):
        member_set(project=project, username=boss.username, role="annotator")
    assert Membership.objects.get(user=boss).role == "manager"
    deputy = UserFactory()
    member_set(project=project, username=deputy.username, role="manager")
    member_set(project=project, username=boss.username, role="annotator")
    assert Membership.objects.get(user=boss).role == "annotator"


@pytest.mark.django_db
def test_it_refuses_a_tiebreak_nobody_is_left_to_take():
    from annotate.services import ServiceError
    from annotate.services.reviews import tiebreak

    project = make_project(1, overlap=2)
    ann1, ann2 = annotators(project, 2)
    for ann in (ann1, ann2):
        held = next_assignment(project=project, annotator=ann)
        annotation_submit(project=project, annotator=ann, example_id=held.example_id, answers={"quality": 1})
    with pytest.raises(ServiceError, match="no member left"):
        tiebreak(project=project, example_ids=[held.example_id])
    assert WorkItem.objects.get(pk=held.example_id).extra == 0
    (ann3,) = annotators(project, 1)
    assert tiebreak(project=project, example_ids=[held.example_id]) == 1
    assert next_assignment(project=project, annotator=ann3).example_id == held.example_id


@pytest.mark.django_db
def test_takes_answer_agrees_with_answerable_on_every_state():
    """lock_for_answer decides with takes_answer (no query); the queue's reads with answerable (SQL). Every
    combination of assignment status, round and free places must get the same answer from both."""
    project = make_project(1, overlap=2)
    (annotator,) = annotators(project, 1)
    item = WorkItem.objects.get(project=project)
    assignment = Assignment.objects.create(
        example_id=item.pk, project=project, annotator=annotator, round=1, status=Assignment.Status.ACTIVE
    )
    seen = Counter()
    for status in Assignment.Status.values:
        for assignment_round in (1, 2):
            for live in (0, 1, 2):
                WorkItem.objects.filter(pk=item.pk).update(round=1, live=live, done=0, target=2)
                Assignment.objects.filter(pk=assignment.pk).update(status=status, round=assignment_round)
                item.refresh_from_db()
                assignment.refresh_from_db()
                in_sql = answerable().filter(pk=assignment.pk).exists()
                assert takes_answer(item, assignment) == in_sql, (status, assignment_round, live)
                seen[in_sql] += 1
    assert seen[True] and seen[False]  # both outcomes were exercised


@pytest.mark.django_db
def test_deleting_an_example_or_its_project_deletes_its_work_items():
    # WorkItem has no foreign-key constraints in the database (its docstring says why): Django's on_delete does it.
    project, elsewhere = make_project(2, overlap=1), make_project(1, overlap=1)
    kept, deleted = project.examples.order_by("pk")
    (other,) = elsewhere.examples.all()
    (annotator,) = annotators(project, 1)
    next_assignment(project=project, annotator=annotator)  # a held example too

    deleted.delete()
    assert set(WorkItem.objects.values_list("pk", flat=True)) == {kept.pk, other.pk}

    project.delete()
    assert list(WorkItem.objects.values_list("pk", flat=True)) == [other.pk]
    assert not Assignment.objects.filter(project=project.pk).exists()
