"""Changing a project's questions: anything goes until a question has answers; then what the answers depend on
stays, and nothing that would lose an answer is done."""

from __future__ import annotations

import pytest

from annotate.models import Annotation, LabelSummary, Question
from annotate.questions import QuestionSpec, change_problems, parse_question
from annotate.services import QuestionEdit, QuestionsRefused, ServiceError, question_remove, question_update
from annotate.services.questions import answer_counts, describe, questions_set
from tests.factories import ExampleFactory
from tests.pages.test_reviewing import answers, label_all

RATING = QuestionSpec(name="quality", kind="rating", level="ordinal", options={"min": 1, "max": 5})
TOPIC = QuestionSpec(name="topic", kind="label", level="nominal", options={"labels": ["code", "math", "general"]})


def edits_of(project, **changes):
    """The project's questions as they are, with some replaced by name (None: left out)."""
    edits = []
    for question in project.questions.order_by("position"):
        spec = changes.get(question.name, question.as_spec())
        if spec is not None:
            edits.append(QuestionEdit(spec=spec, original=question.pk))
    return edits


@pytest.fixture
def answered(project):
    example = ExampleFactory(project=project)
    label_all(project, {example: answers("code", "math", "math")})
    return project


# The rule itself (pure) ----------------------------------------------------------------------------------------


def test_it_allows_what_keeps_the_answers_valid():
    wider = QuestionSpec(name="quality", kind="rating", level="interval", options={"min": 0, "max": 7}, help="Hi")
    more = QuestionSpec(name="topic", kind="label", options={"labels": ["general", "code", "math", "other"]})

    assert change_problems(RATING, wider) == {}
    assert change_problems(TOPIC, more) == {}
    assert change_problems(RATING, QuestionSpec(**{**RATING.__dict__, "required": False})) == {}


@pytest.mark.parametrize(
    ("old", "raw", "field"),
    [
        (RATING, {"name": "score", "kind": "rating", "min": 1, "max": 5}, "name"),
        (RATING, {"name": "quality", "kind": "text"}, "kind"),
        (RATING, {"name": "quality", "kind": "rating", "min": 2, "max": 5}, "min"),
        (RATING, {"name": "quality", "kind": "rating", "min": 1, "max": 4}, "max"),
        (TOPIC, {"name": "topic", "kind": "label", "labels": ["code", "maths", "general"]}, "labels"),
    ],
)
def test_it_names_what_would_lose_or_invalidate_answers(old, raw, field):
    problems = change_problems(old, parse_question(raw))

    assert list(problems) == [field]


def test_it_takes_help_text_for_a_question():
    spec = parse_question({"name": "q", "kind": "text", "help": "  Say why.  "})

    assert spec.help == "Say why."
    assert spec.as_dict()["help"] == "Say why."


# The service --------------------------------------------------------------------------------------------------


def test_it_changes_anything_about_a_question_without_answers(project):
    renamed = parse_question({"name": "score", "kind": "multi_label", "labels": ["x"], "help": "Tick any."})

    questions_set(project=project, edits=edits_of(project, quality=renamed))

    question = project.questions.get(name="score")
    assert (question.kind, question.options, question.help) == ("multi_label", {"labels": ["x"]}, "Tick any.")


def test_it_reorders_adds_and_removes_in_one_go(project):
    topic = project.questions.get(name="topic")
    new = parse_question({"name": "rewrite", "kind": "text", "required": False})

    questions_set(
        project=project, edits=[QuestionEdit(spec=new), QuestionEdit(spec=topic.as_spec(), original=topic.pk)]
    )

    assert list(project.questions.order_by("position").values_list("name", flat=True)) == ["rewrite", "topic"]
    assert project.questions.get(name="topic").pk == topic.pk


def test_it_swaps_two_names(project):
    quality, topic = project.questions.get(name="quality"), project.questions.get(name="topic")
    edits = [
        QuestionEdit(spec=QuestionSpec(**{**quality.as_spec().__dict__, "name": "topic"}), original=quality.pk),
        QuestionEdit(spec=QuestionSpec(**{**topic.as_spec().__dict__, "name": "quality"}), original=topic.pk),
    ]

    questions_set(project=project, edits=edits)

    assert Question.objects.get(pk=quality.pk).name == "topic"
    assert Question.objects.get(pk=topic.pk).name == "quality"


def test_it_counts_the_answers_of_each_question(answered):
    counts = answer_counts(answered)

    by_name = {q.name: counts[q.pk] for q in answered.questions.all()}
    assert by_name["topic"].answers == 3 and by_name["quality"].answers == 3
    assert describe(by_name["topic"]) == "3 answers"


def test_it_refuses_to_remove_a_question_with_answers_and_keeps_them(answered):
    topic = answered.questions.get(name="topic")

    with pytest.raises(QuestionsRefused) as refused:
        questions_set(project=answered, edits=edits_of(answered, topic=None))

    assert list(refused.value.errors) == [f"removed[{topic.pk}]"]
    assert "3 answers" in refused.value.errors[f"removed[{topic.pk}]"]
    assert answered.questions.filter(pk=topic.pk).exists()
    assert all("topic" in a.answers for a in Annotation.objects.filter(project=answered))


def test_it_refuses_a_change_that_would_invalidate_answers_naming_the_field(answered):
    narrower = parse_question({"name": "quality", "kind": "rating", "min": 2, "max": 5})
    fewer = parse_question({"name": "topic", "kind": "label", "labels": ["code", "general"]})

    with pytest.raises(QuestionsRefused) as refused:
        questions_set(project=answered, edits=edits_of(answered, quality=narrower, topic=fewer))

    assert set(refused.value.errors) == {"questions[0].min", "questions[1].labels"}
    assert "'math'" in refused.value.errors["questions[1].labels"]
    assert answered.questions.get(name="quality").options == {"min": 1, "max": 5}


def test_it_applies_a_safe_change_to_an_answered_question_and_rescores_it(answered):
    topic = answered.questions.get(name="topic")
    before = LabelSummary.objects.get(question=topic).disagreement
    ordinal = parse_question(
        {"name": "topic", "kind": "label", "labels": ["general", "code", "math"], "level": "ordinal", "help": "Pick."}
    )

    questions_set(project=answered, edits=edits_of(answered, topic=ordinal))

    topic.refresh_from_db()
    assert (topic.level, topic.options["labels"], topic.help) == ("ordinal", ["general", "code", "math"], "Pick.")
    assert LabelSummary.objects.get(question=topic).disagreement != before  # measured on the ordered scale now
    assert Annotation.objects.filter(project=answered, answers__topic="math").count() == 2


def test_it_removes_a_question_without_answers(project):
    question_remove(project=project, name="topic")

    assert list(project.questions.values_list("name", flat=True)) == ["quality"]


def test_it_refuses_one_removal_as_a_conflict(answered):
    with pytest.raises(ServiceError) as refused:
        question_remove(project=answered, name="topic")

    assert refused.value.code == "conflict" and "make it optional" in refused.value.message


def test_it_names_the_field_of_one_refused_change(answered):
    with pytest.raises(ServiceError) as refused:
        question_update(project=answered, name="quality", spec=parse_question({"name": "score", "kind": "text"}))

    assert refused.value.field == "name"
