"""Annotator statistics through the API (API.md, ``annotators``): figures from labels written through the queue,
flags earned by an injected bias and not by honest annotators, position bias from the recorded display order,
consistency with oneself, and bad queries."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.models import ExampleFingerprint, Membership
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from tests.agreement_data import ANNOTATORS, LABELS, rated_project, work_through, write_labels
from tests.conftest import api_client_for
from tests.factories import ExampleFactory, ProjectFactory, QuestionFactory, UserFactory


def annotators(project, user, query):
    response = api_client_for(user).get(f"/api/v1/projects/{project.pk}/annotators/{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_each_annotators_offset_follows_its_definition(project, cast):
    write_labels(project)

    rows = {row["annotator"]: row for row in annotators(project, cast["reviewer"], "?question=quality")["annotators"]}

    assert set(rows) == set(ANNOTATORS)
    for column, name in enumerate(ANNOTATORS):
        differences = []
        for _, answers in LABELS.values():
            if answers[column] is None:
                continue
            others = [a[0] for i, a in enumerate(answers) if i != column and a is not None]
            if others:
                differences.append(answers[column][0] - np.mean(others))
        assert rows[name]["offset"] == pytest.approx(np.mean(differences))
        assert rows[name]["annotations"] == sum(1 for _, answers in LABELS.values() if answers[column] is not None)
    assert sum(rows["ann-a"]["label_distribution"].values()) == pytest.approx(1.0)


def test_rows_per_slice_name_the_metadata_value(project, cast):
    write_labels(project)

    result = annotators(project, cast["manager"], "?question=topic&by=lang")

    assert result["by"] == "lang"
    assert {(row["annotator"], row["slice"]) for row in result["annotators"]} >= {("ann-a", "en"), ("ann-a", "de")}


@pytest.fixture
def rated(db):
    return rated_project()


def test_a_lenient_annotator_is_flagged_with_the_figure_and_the_test_and_honest_ones_are_not(rated):
    project, reviewer = rated

    result = annotators(project, reviewer, "?question=quality")

    lenient = [flag for flag in result["flags"] if flag["kind"] == "lenient"]
    assert [flag["annotator"] for flag in lenient] == ["lenient"]
    assert lenient[0]["detail"]["offset"] > 1
    assert lenient[0]["detail"]["p"] < 0.01 and "test" in lenient[0]["detail"]
    assert not [flag for flag in result["flags"] if flag["annotator"].startswith("honest")]


@pytest.fixture
def compared(db):
    """40 candidate pairs; the page showed them in alternating orders. "lefty" always picks the response shown on
    the left; "fair" picks the better response (the first), whatever side it was on."""
    project = ProjectFactory(overlap=2)
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    for n in range(40):
        ExampleFactory(project=project, external_id=f"c{n}", content={"prompt": f"P{n}", "responses": ["x", "y"]})
    work_items_create(project=project)
    users = []
    for name in ("lefty", "fair"):
        users.append(UserFactory(username=name))
        Membership.objects.create(user=users[-1], project=project, role="annotator")

    def answer(username, example):
        order = [0, 1] if int(example.external_id[1:]) % 2 == 0 else [1, 0]
        if username == "lefty":
            return {"better": "a" if order[0] == 0 else "b"}, order
        return {"better": "a"}, order

    work_through(project, users, answer)
    reviewer = UserFactory(username="compared-reviewer")
    Membership.objects.create(user=reviewer, project=project, role="reviewer")
    return project, reviewer


def test_position_bias_is_read_from_the_recorded_display_order(compared):
    project, reviewer = compared

    result = annotators(project, reviewer, "?question=better")

    rows = {row["annotator"]: row for row in result["annotators"]}
    assert rows["lefty"]["left_share"] == 1.0 and rows["lefty"]["sided"] == 40
    assert rows["fair"]["left_share"] == 0.5
    assert [(flag["annotator"], flag["kind"]) for flag in result["flags"] if flag["kind"] == "position_bias"] == [
        ("lefty", "position_bias")
    ]


def test_the_same_item_answered_differently_by_one_annotator_is_reported(project, cast):
    # The same item twice, once with other case and spacing: normalised, they are one item.
    contents = [{"prompt": "Is water wet?", "response": "Yes."}, {"prompt": "is  WATER wet?", "response": "yes."}]
    twins = [ExampleFactory(project=project, external_id=f"twin-{n}", content=c) for n, c in enumerate(contents)]
    ExampleFactory(project=project, external_id="other", content={"prompt": "Is fire hot?", "response": "Yes."})
    work_items_create(project=project)
    annotator = cast["annotator"]
    rating = {twins[0].pk: 2, twins[1].pk: 5}
    for _ in range(3):
        held = next_assignment(project=project, annotator=annotator).example_id
        answers = {"quality": rating.get(held, 3), "topic": "code"}
        annotation_submit(project=project, annotator=annotator, example_id=held, answers=answers)

    quality = annotators(project, cast["reviewer"], "?question=quality")["consistency"]["inconsistent"]
    topic = annotators(project, cast["reviewer"], "?question=topic")["consistency"]["inconsistent"]

    assert quality == [{"annotator": "annotator-user", "examples": [twins[0].pk, twins[1].pk], "answers": ["2", "5"]}]
    assert topic == []
    assert ExampleFingerprint.objects.filter(example__project=project).count() == 3  # computed once, kept


@pytest.mark.parametrize(
    ("query", "field"), [("", "question"), ("?question=nope", "question"), ("?question=quality&by=7", "by")]
)
def test_it_rejects_a_bad_query_naming_the_parameter(project, cast, query, field):
    response = api_client_for(cast["reviewer"]).get(f"/api/v1/projects/{project.pk}/annotators/{query}")

    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_circular_preferences_on_one_prompt_are_reported(db):
    project = ProjectFactory(overlap=1)
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    pairs = [("x", "y"), ("y", "z"), ("z", "x")]
    examples = [
        ExampleFactory(project=project, external_id=f"p{n}", content={"prompt": "Same?", "responses": list(pair)})
        for n, pair in enumerate(pairs)
    ]
    work_items_create(project=project)
    user = UserFactory(username="circular")
    Membership.objects.create(user=user, project=project, role="annotator")
    work_through(project, [user], lambda username, example: ({"better": "a"}, None))  # x > y, y > z, z > x
    reviewer = UserFactory(username="cycle-reviewer")
    Membership.objects.create(user=reviewer, project=project, role="reviewer")

    cycles = annotators(project, reviewer, "?question=better")["consistency"]["cycles"]

    assert len(cycles) == 1
    assert cycles[0]["annotator"] == "circular" and cycles[0]["prompt"] == "Same?"
    assert sorted(cycles[0]["examples"]) == sorted(example.pk for example in examples)


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_slow_projects_annotator_figures_are_served_stale_while_a_job_measures_them_again(project, cast, monkeypatch):
    from annotate import figures
    from curation.models import Job
    from curation.tasks import run_agreement

    monkeypatch.setattr(figures, "SLOW_SECONDS", 0.0)  # every project counts as large
    labelled = write_labels(project)
    first = annotators(project, cast["reviewer"], "?question=quality")
    e2 = project.examples.get(external_id="e2").pk
    annotation_submit(
        project=project, annotator=labelled["ann-c"], example_id=e2, answers={"quality": 5, "topic": "math"}
    )

    stale = annotators(project, cast["reviewer"], "?question=quality")
    job = Job.objects.get(kind="agreement", project=project)
    run_agreement(job.pk)
    now = annotators(project, cast["reviewer"], "?question=quality")

    assert stale["stale"] is True and stale["annotators"] == first["annotators"]
    assert "stale" not in now and now["labels_version"] > first["labels_version"]
    ann_c = {row["annotator"]: row for row in now["annotators"]}["ann-c"]
    assert ann_c["mean"] > {row["annotator"]: row for row in first["annotators"]}["ann-c"]["mean"]
