"""Label summaries stay in step with the labels and resolutions they summarise, in the same transaction."""

from __future__ import annotations

import pytest

from annotate.models import LabelSummary, Membership
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from annotate.services.reviews import reopen, resolution_set, resolutions_from_consensus
from annotate.services.summaries import summaries_rebuild
from tests.factories import ExampleFactory, ProjectFactory, QuestionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    project = ProjectFactory(overlap=3)
    QuestionFactory(project=project, name="topic", kind="label", options={"labels": ["a", "b"]}, level="nominal")
    QuestionFactory(project=project, name="note", kind="text", options={}, level=None, required=False)
    example = ExampleFactory(project=project)
    work_items_create(project=project)
    users = [UserFactory() for _ in range(3)]
    for user in users:
        Membership.objects.create(user=user, project=project, role="annotator")
    return project, example, users


def answer(project, user, example, topic):
    if next_assignment(project=project, annotator=user) is None:
        raise AssertionError("nothing to annotate")
    annotation_submit(project=project, annotator=user, example_id=example.pk, answers={"topic": topic})


def summary(example):
    return LabelSummary.objects.filter(example=example).values_list(
        "labels", "disagreement", "consensus", "consensus_share", "resolved"
    )


def test_it_summarises_an_example_from_its_second_label_on(setup):
    project, example, (a, b, c) = setup
    answer(project, a, example, "a")
    assert list(summary(example)) == []
    answer(project, b, example, "b")
    assert list(summary(example)) == [(2, 1.0, "a", 0.5, False)]
    answer(project, c, example, "b")
    assert list(summary(example)) == [(3, pytest.approx(2 / 3, abs=1e-6), "b", pytest.approx(2 / 3, abs=1e-6), False)]


def test_it_follows_an_edit(setup):
    project, example, (a, b, _) = setup
    answer(project, a, example, "a")
    answer(project, b, example, "b")
    annotation_submit(project=project, annotator=b, example_id=example.pk, answers={"topic": "a"})
    assert list(summary(example)) == [(2, 0.0, "a", 1.0, False)]


def test_it_drops_the_summary_of_a_question_an_edit_leaves_with_one_label(setup):
    project, example, (a, b, _) = setup
    QuestionFactory(project=project, name="stars", kind="rating", options={"min": 1, "max": 3}, required=False)
    for user, stars in ((a, 1), (b, 3)):
        next_assignment(project=project, annotator=user)
        annotation_submit(
            project=project, annotator=user, example_id=example.pk, answers={"topic": "a", "stars": stars}
        )
    assert sorted(summary(example).values_list("question__name", "labels")) == [("stars", 2), ("topic", 2)]

    annotation_submit(project=project, annotator=b, example_id=example.pk, answers={"topic": "b"})  # no stars now

    assert list(summary(example).values_list("question__name", "labels", "consensus")) == [("topic", 2, "a")]
    kept = list(summary(example))
    summaries_rebuild(project=project)
    assert list(summary(example)) == kept


def test_it_marks_resolutions_and_forgets_a_reopened_example(setup):
    project, example, (a, b, _) = setup
    reviewer = UserFactory()
    answer(project, a, example, "a")
    answer(project, b, example, "b")
    resolution_set(project=project, example_id=example.pk, question_name="topic", value="b", reviewer=reviewer)
    assert list(summary(example).values_list("resolved", flat=True)) == [True]
    reopen(project=project, example_ids=[example.pk])
    assert list(summary(example)) == [], "a new round has no labels yet"


def test_it_resolves_by_consensus_from_the_summaries(setup):
    project, example, (a, b, c) = setup
    reviewer = UserFactory()
    for user in (a, b, c):
        answer(project, user, example, "a")
    assert (
        resolutions_from_consensus(project=project, question_name="topic", method="unanimous", reviewer=reviewer) == 1
    )
    assert list(summary(example).values_list("resolved", flat=True)) == [True]
    assert (
        resolutions_from_consensus(project=project, question_name="topic", method="unanimous", reviewer=reviewer) == 0
    )


def test_it_rebuilds_what_it_kept_in_step(setup):
    project, example, (a, b, c) = setup
    for user, topic in zip((a, b, c), "abb", strict=True):
        answer(project, user, example, topic)
    kept = list(summary(example))
    LabelSummary.objects.all().delete()
    assert summaries_rebuild(project=project) == 1
    assert list(summary(example)) == kept
