"""Reviewers' services: resolutions, consensus in bulk, tie-breakers and reopening."""

from __future__ import annotations

import pytest

from annotate.models import LabelSummary, Membership, Resolution, WorkItem
from annotate.services import ServiceError, guideline_add
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from annotate.services.reviews import reopen, resolution_set, resolutions_from_consensus, resolutions_set, tiebreak
from tests.factories import ExampleFactory, ProjectFactory, QuestionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    project = ProjectFactory(overlap=3)
    guideline_add(project=project, text="first version", created_by=None)
    QuestionFactory(project=project, name="topic", kind="label", options={"labels": ["a", "b"]}, level="nominal")
    examples = ExampleFactory.create_batch(3, project=project)
    work_items_create(project=project)
    users = [UserFactory() for _ in range(3)]
    for user in users:
        Membership.objects.create(user=user, project=project, role="annotator")
    reviewer = UserFactory()
    Membership.objects.create(user=reviewer, project=project, role="reviewer")
    return project, examples, users, reviewer


def annotate_all(project, users, answers_by_example):
    """Each user annotates every example it is handed with the answer planned for that example."""
    for user in users:
        while (held := next_assignment(project=project, annotator=user)) is not None:
            value = answers_by_example[held.example_id][users.index(user)]
            annotation_submit(project=project, annotator=user, example_id=held.example_id, answers={"topic": value})


def test_it_resolves_unanimous_and_majority_examples_in_bulk(setup):
    project, (one, two, three), users, reviewer = setup
    annotate_all(project, users, {one.pk: "aaa", two.pk: "aab", three.pk: "abb"})
    assert (
        resolutions_from_consensus(project=project, question_name="topic", method="unanimous", reviewer=reviewer) == 1
    )
    assert Resolution.objects.get(example=one).value == "a"
    assert resolutions_from_consensus(project=project, question_name="topic", method="majority", reviewer=reviewer) == 2
    assert {r.example_id: (r.value, r.method) for r in Resolution.objects.all()} == {
        one.pk: ("a", "unanimous"),
        two.pk: ("a", "majority"),
        three.pk: ("b", "majority"),
    }


def test_it_replaces_a_resolution_and_checks_its_value(setup):
    project, (one, *_), _, reviewer = setup
    resolution_set(project=project, example_id=one.pk, question_name="topic", value="a", reviewer=reviewer)
    resolution_set(project=project, example_id=one.pk, question_name="topic", value="b", reviewer=reviewer, note="n")
    assert Resolution.objects.get(example=one).value == "b"
    with pytest.raises(ServiceError) as error:
        resolution_set(project=project, example_id=one.pk, question_name="topic", value="z", reviewer=reviewer)
    assert error.value.field == "value"
    with pytest.raises(ServiceError) as error:
        resolution_set(project=project, example_id=one.pk, question_name="nope", value="a", reviewer=reviewer)
    assert "topic" in error.value.message


def test_it_resolves_several_questions_of_an_example_in_one_pass(setup):
    project, (one, *_), users, reviewer = setup
    QuestionFactory(
        project=project, name="quality", kind="rating", options={"min": 1, "max": 5}, level="ordinal", required=False
    )
    annotate_all(project, users, {e.pk: ["a", "b", "a"] for e in project.examples.all()})

    made = resolutions_set(
        project=project, example_id=one.pk, values={"topic": "b", "quality": 4}, reviewer=reviewer, note="checked"
    )

    resolved = {r.question.name: (r.value, r.method, r.note) for r in Resolution.objects.filter(example=one)}
    assert resolved == {"topic": ("b", "reviewer", "checked"), "quality": (4, "reviewer", "checked")}
    assert len(made) == 2
    assert LabelSummary.objects.get(example=one, question__name="topic").resolved


def test_it_resolves_nothing_when_one_question_of_the_pass_is_refused(setup):
    project, (one, *_), _, reviewer = setup
    QuestionFactory(project=project, name="quality", kind="rating", options={"min": 1, "max": 5}, level="ordinal")

    with pytest.raises(ServiceError) as refused:
        resolutions_set(project=project, example_id=one.pk, values={"topic": "a", "quality": 9}, reviewer=reviewer)

    assert refused.value.field == "quality"
    assert not Resolution.objects.exists()
    with pytest.raises(ServiceError):
        resolutions_set(project=project, example_id=one.pk, values={}, reviewer=reviewer)


def test_it_offers_a_tie_break_to_one_more_annotator(setup):
    project, (one, *_), users, _ = setup
    annotate_all(project, users, _plan(project, "aab"))
    assert not WorkItem.objects.get(pk=one.pk).open
    tiebreak(project=project, example_ids=[one.pk])
    extra = UserFactory()
    Membership.objects.create(user=extra, project=project, role="annotator")
    assert next_assignment(project=project, annotator=extra).example_id == one.pk
    assert all(next_assignment(project=project, annotator=user) is None for user in users)


def test_it_reopens_examples_for_a_new_round_under_the_new_guideline(setup):
    project, (one, *_), users, reviewer = setup
    annotate_all(project, users, _plan(project, "aab"))
    resolution_set(project=project, example_id=one.pk, question_name="topic", value="a", reviewer=reviewer)
    guideline_add(project=project, text="clearer", created_by=reviewer)
    assert reopen(project=project, example_ids=[one.pk]) == 1
    item = WorkItem.objects.get(pk=one.pk)
    assert (item.round, item.live, item.open) == (2, 0, True)
    assert not Resolution.objects.filter(example=one).exists()
    again = next_assignment(project=project, annotator=users[0])
    assert again.example_id == one.pk
    annotation, created = annotation_submit(
        project=project, annotator=users[0], example_id=one.pk, answers={"topic": "b"}
    )
    assert (annotation.round, annotation.guideline_version, annotation.revisions.count(), created) == (2, 2, 1, False)


def test_it_refuses_examples_of_another_project(setup):
    project, *_ = setup
    stranger = ExampleFactory()
    with pytest.raises(ServiceError):
        reopen(project=project, example_ids=[stranger.pk])
    with pytest.raises(ServiceError):
        tiebreak(project=project, example_ids="all")


def _plan(project, answers):
    return {item.pk: answers for item in WorkItem.objects.filter(project=project)}
