"""The labels read layer: which labels are current, and the columns it gives them in."""

from __future__ import annotations

import random

import numpy as np
import pytest

from annotate import labels
from annotate.models import Annotation, Membership, WorkItem
from annotate.services import guideline_add
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from annotate.services.reviews import reopen
from tests.factories import ExampleFactory, UserFactory


@pytest.fixture
def annotators(project):
    users = [UserFactory(username=f"labeller-{n}") for n in range(2)]
    for user in users:
        Membership.objects.create(user=user, project=project, role="annotator")
    return users


def answer(project, user, answers, duration_ms=None) -> int:
    held = next_assignment(project=project, annotator=user)
    annotation_submit(
        project=project, annotator=user, example_id=held.example_id, answers=answers, duration_ms=duration_ms
    )
    return held.example_id


@pytest.mark.django_db
def test_it_gives_the_current_labels_as_columns(project, annotators):
    project.overlap = 2
    project.save()
    project.questions.filter(name="topic").update(required=False)
    ExampleFactory.create_batch(2, project=project)
    work_items_create(project=project)
    first, second = annotators

    shared = answer(project, first, {"quality": 2, "topic": "code"}, duration_ms=1000)
    assert answer(project, second, {"quality": 4}) == shared  # the example closest to completion comes first
    # An edit: the earlier answers become history, the new ones are current.
    annotation_submit(
        project=project, annotator=first, example_id=shared, answers={"quality": 3, "topic": "math"}, duration_ms=1500
    )
    guideline_add(project=project, text="v2", created_by=None)
    sent_back = answer(project, first, {"quality": 5, "topic": "code"}, duration_ms=700)
    reopen(project=project, example_ids=[sent_back])  # a new round: its earlier labels are no longer current

    by_name = labels.load(project, project.questions.all())

    quality = by_name["quality"]
    assert quality.example.tolist() == [shared, shared]
    # In submission order: the second annotator's answer came before the first one's edit.
    assert quality.annotator.tolist() == [second.pk, first.pk]
    assert [quality.value(row) for row in range(len(quality))] == [4, 3]
    assert quality.round.tolist() == [1, 1]
    assert quality.guideline_version.tolist() == [1, 1]
    assert quality.submitted_at.dtype == np.dtype("datetime64[us]")
    assert quality.submitted_at[0] < quality.submitted_at[1]
    assert np.isnan(quality.duration_ms[0]) and quality.duration_ms[1] == 1500
    assert quality.categories[:5] == [1, 2, 3, 4, 5]  # a rating's scale, in order, whatever was answered
    topic = by_name["topic"]  # the second annotator left it unanswered: no label of it
    assert (topic.example.tolist(), topic.annotator.tolist()) == ([shared], [first.pk])
    assert topic.value(0) == "math"

    only_v2 = labels.load(project, project.questions.all(), guideline_version=2)
    assert len(only_v2["quality"]) == 0  # v2's only label was sent back

    answer(project, second, {"quality": 1, "topic": "general"}, duration_ms=10)  # the reopened example, round 2
    again = labels.load(project, project.questions.all(), examples=[sent_back])["quality"]
    assert (again.annotator.tolist(), again.round.tolist(), again.guideline_version.tolist()) == ([second.pk], [2], [2])


@pytest.mark.django_db
def test_the_bulk_read_and_the_few_examples_read_give_the_same_columns(project, annotators):
    # Many labels are read through COPY and a CSV parser, a few as rows: awkward text must come through both alike,
    # an empty answer must stay an answer and an unanswered question no label.
    from tests.factories import QuestionFactory

    QuestionFactory(project=project, name="note", kind="text", options={}, level=None, required=False)
    project.questions.filter(name="topic").update(required=False)
    project.overlap = 2
    project.save()
    ExampleFactory.create_batch(3, project=project, metadata={"lang": 'en, "quoted"'})
    work_items_create(project=project)
    notes = ['a,b\n"c"', "", "  ünïcode \\N  "]
    for user in annotators:
        for note in notes:
            answer(project, user, {"quality": 3, "note": note} if user == annotators[0] else {"quality": 4})

    questions = list(project.questions.all())
    bulk = labels.load(project, questions, slice_by="lang")
    ids = sorted(set(bulk["quality"].example.tolist()))
    few = labels.load(project, questions, slice_by="lang", examples=ids)

    assert sorted(bulk["note"].categories) == sorted(note.strip() for note in notes)
    assert len(bulk["note"]) == 3 and len(bulk["quality"]) == 6 and len(bulk["topic"]) == 0
    for name in ("quality", "note", "topic"):
        for column in ("example", "annotator", "code", "round", "guideline_version", "submitted_at", "slice"):
            assert getattr(bulk[name], column).tolist() == getattr(few[name], column).tolist(), (name, column)
        assert bulk[name].categories == few[name].categories
    assert set(bulk["quality"].slice.tolist()) == {'en, "quoted"'}


@pytest.mark.django_db
def test_the_response_shown_first_comes_from_the_recorded_display_order(project, annotators):
    from annotate.models import Annotation
    from tests.factories import QuestionFactory

    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    project.questions.exclude(name="better").delete()
    ExampleFactory.create_batch(3, project=project, content={"prompt": "P", "responses": ["x", "y"]})
    work_items_create(project=project)
    orders = [[1, 0], [0, 1], None]
    for order in orders:
        held = next_assignment(project=project, annotator=annotators[0])
        annotation_submit(
            project=project,
            annotator=annotators[0],
            example_id=held.example_id,
            answers={"better": "a"},
            display_order=order,
        )
    stored = dict(Annotation.objects.values_list("example_id", "display_order"))

    for few in (False, True):  # the bulk read and the row-by-row read
        examples = list(stored) if few else None
        better = labels.load(project, project.questions.all(), examples=examples, with_shown_first=True)["better"]
        expected = [stored[int(e)][0] if stored[int(e)] else -1 for e in better.example]
        assert better.shown_first.tolist() == expected
    assert sorted(expected) == [-1, 0, 1]


@pytest.mark.django_db
def test_the_one_example_read_gives_what_load_gives(project, annotators):
    from tests.factories import QuestionFactory

    rng = random.Random(3)
    project.questions.filter(name="topic").update(required=False, level="ordinal")
    labels_ = ["a", "a,b", "b", "b a", "ü"]
    QuestionFactory(project=project, name="tags", kind="multi_label", options={"labels": labels_}, required=False)
    QuestionFactory(project=project, name="order", kind="ranking", options={}, level="nominal")
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="ordinal")
    QuestionFactory(project=project, name="note", kind="text", options={}, level=None, required=False)
    project.overlap = 3
    project.save()
    ExampleFactory.create_batch(5, project=project, content={"prompt": "P", "responses": ["x", "y", "z"]})
    work_items_create(project=project)
    users = [*annotators, UserFactory(username="labeller-2"), UserFactory(username="labeller-3")]
    for user in users[2:]:
        Membership.objects.create(user=user, project=project, role="annotator")

    def answers() -> dict:
        given = {"quality": rng.randint(1, 5), "order": rng.sample(range(3), 3), "better": rng.choice("ab")}
        if rng.random() < 0.7:
            given["topic"] = rng.choice(["code", "math", "general"])
        if rng.random() < 0.7:
            given["tags"] = rng.sample(labels_, rng.randint(0, 3))
        if rng.random() < 0.5:
            given["note"] = rng.choice(["", " same ", "same", "ünï\ncode"])
        return given

    for _ in range(3):
        for user in users:
            answer(project, user, answers())
    # An edit, and an example sent back and answered again: its first round's labels are no longer current.
    edited = Annotation.objects.filter(annotator=users[0]).first().example_id
    annotation_submit(project=project, annotator=users[0], example_id=edited, answers=answers())
    sent_back = WorkItem.objects.filter(project=project, done__gte=2).order_by("pk").first().pk
    reopen(project=project, example_ids=[sent_back])
    for user in users[1:3]:
        answer(project, user, answers())

    questions = list(project.questions.all())
    answered: dict[str, set] = {question.name: set() for question in questions}
    for item in WorkItem.objects.filter(project=project):
        few = labels.load(project, questions, examples=[item.pk], with_times=False)
        one = labels.load_example(questions, example_id=item.pk, round_=item.round)
        for question in questions:
            name = question.name
            for column in ("example", "annotator", "code", "round", "guideline_version"):
                assert getattr(few[name], column).tolist() == getattr(one[name], column).tolist(), (name, column)
            assert few[name].categories == one[name].categories, name
            assert np.isnat(one[name].submitted_at).all() and np.isnan(one[name].duration_ms).all()
            answered[name].update(str(one[name].value(row)) for row in range(len(one[name])))
    assert WorkItem.objects.get(pk=sent_back).round == 2
    # The current answers were varied enough to compare: several different lists, rankings and texts.
    assert len(answered["tags"]) >= 3 and len(answered["order"]) >= 3 and len(answered["note"]) >= 2
