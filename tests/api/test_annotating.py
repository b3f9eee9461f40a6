"""Annotating through the API: next, submit, skip, and who reads which annotations (API.md, Annotating)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate.models import Annotation, Membership, WorkItem
from annotate.services.queue import work_items_create
from tests.conftest import api_client_for
from tests.factories import ExampleFactory, ProjectFactory, QuestionFactory, UserFactory

GOOD = {"quality": 4, "topic": "code"}


@pytest.fixture
def examples(project):
    made = ExampleFactory.create_batch(3, project=project)
    work_items_create(project=project)
    return made


def url(project, tail: str) -> str:
    return f"/api/v1/projects/{project.pk}/{tail}"


def take(client, project) -> int:
    response = client.get(url(project, "next/"))
    assert response.status_code == 200, response.content
    return response.json()["example"]["id"]


def submit(client, project, example_id: int, answers=None, **extra):
    body = {"example": example_id, "answers": GOOD if answers is None else answers, **extra}
    return client.post(url(project, "annotations/"), body, format="json")


def member(project, username: str, role: str = "annotator"):
    user = UserFactory(username=username)
    Membership.objects.create(user=user, project=project, role=role)
    return api_client_for(user)


def test_it_gives_the_same_example_until_it_is_submitted(api_as, project, examples):
    client = api_as("annotator")
    first = client.get(url(project, "next/")).json()
    assert set(first) >= {"example", "guideline_version", "assignment"}
    assert first["guideline_version"] == 1
    assert set(first["example"]) >= {"id", "external_id", "content", "metadata", "created_at"}
    assert set(first["assignment"]) >= {"id", "assigned_at", "expires_at"}
    assert take(client, project) == first["example"]["id"]
    assert submit(client, project, first["example"]["id"]).status_code == 201
    assert take(client, project) != first["example"]["id"]


def test_it_gives_another_example_after_a_skip_and_never_the_skipped_one_again(api_as, project, examples):
    client = api_as("annotator")
    skipped = take(client, project)
    response = client.post(url(project, "skips/"), {"example": skipped}, format="json")
    assert response.status_code == 204
    seen = set()
    while (got := client.get(url(project, "next/"))).status_code == 200:
        example_id = got.json()["example"]["id"]
        seen.add(example_id)
        assert submit(client, project, example_id).status_code == 201
    assert skipped not in seen and len(seen) == 2


def test_it_answers_204_when_nothing_is_left(api_as, project, examples):
    client = api_as("annotator")
    for _ in examples:
        submit(client, project, take(client, project))
    response = client.get(url(project, "next/"))
    assert response.status_code == 204
    assert response.content == b""


def test_it_never_hands_an_example_to_more_than_overlap_annotators(api_as, project, cast):
    project.overlap = 2
    project.save()
    ExampleFactory(project=project)
    work_items_create(project=project)
    assert api_as("annotator").get(url(project, "next/")).status_code == 200
    assert api_as("reviewer").get(url(project, "next/")).status_code == 200
    assert api_as("manager").get(url(project, "next/")).status_code == 204


def test_it_records_a_submission(api_as, project, examples):
    client = api_as("annotator")
    example_id = take(client, project)
    response = submit(client, project, example_id, duration_ms=5300, started_at="2025-01-02T03:04:05Z")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["example"] == example_id
    assert data["annotator"] == "annotator-user"
    assert data["answers"] == GOOD
    assert data["guideline_version"] == 1
    assert data["duration_ms"] == 5300 and data["started_at"] == "2025-01-02T03:04:05Z"
    assert data["submitted_at"] and data["revisions"] == []
    assert Annotation.objects.get(pk=data["id"]).annotator.username == "annotator-user"


@pytest.mark.parametrize(
    ("answers", "named"),
    [
        ({"topic": "code"}, "quality"),
        ({"quality": 4}, "topic"),
        ({"quality": 4, "topic": "poetry"}, "topic"),
        ({"quality": 6, "topic": "code"}, "quality"),
        ({"quality": 0, "topic": "code"}, "quality"),
        ({"quality": "4", "topic": "code"}, "quality"),
        ({"quality": 3.5, "topic": "code"}, "quality"),
        ({"quality": True, "topic": "code"}, "quality"),
        ({"quality": 4, "topic": "code", "colour": "red"}, "colour"),
    ],
)
def test_it_rejects_an_invalid_answer_naming_the_question(api_as, project, examples, answers, named):
    client = api_as("annotator")
    example_id = take(client, project)
    response = submit(client, project, example_id, answers)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith(f"{named}:")
    assert named in error["details"]
    assert not Annotation.objects.exists()
    assert take(client, project) == example_id


def test_it_rejects_a_preference_on_an_example_without_responses(api_as, project, examples):
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    client = api_as("annotator")
    response = submit(client, project, take(client, project), {**GOOD, "better": "a"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("better:")
    assert "no candidate responses" in response.json()["error"]["message"]


def test_it_takes_a_preference_and_the_display_order_on_an_example_with_responses(api_as, project):
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    ExampleFactory(project=project, content={"prompt": "Which?", "responses": ["one", "two"]})
    work_items_create(project=project)
    client = api_as("annotator")
    example_id = take(client, project)
    missing = submit(client, project, example_id, GOOD)
    assert missing.status_code == 400 and missing.json()["error"]["message"].startswith("better:")
    wrong = submit(client, project, example_id, {**GOOD, "better": "c"})
    assert wrong.status_code == 400 and wrong.json()["error"]["message"].startswith("better:")
    bad_order = submit(client, project, example_id, {**GOOD, "better": "b"}, display_order=[0, 0])
    assert bad_order.status_code == 400 and "display_order" in bad_order.json()["error"]["message"]
    response = submit(client, project, example_id, {**GOOD, "better": "b"}, display_order=[1, 0])
    assert response.status_code == 201, response.content
    assert response.json()["answers"]["better"] == "b"
    assert response.json()["display_order"] == [1, 0]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"answers": GOOD}, "example"),
        ({"example": "first", "answers": GOOD}, "example"),
        ({"example": 10**30, "answers": GOOD}, "example"),
        ({"example": 0, "answers": GOOD}, "example"),
        ({"example": "{e}"}, "answers"),
        ({"example": "{e}", "answers": ["quality", 4]}, "answers"),
        ({"example": "{e}", "answers": GOOD, "duration_ms": -1}, "duration_ms"),
        ({"example": "{e}", "answers": GOOD, "duration_ms": 10**12}, "duration_ms"),
        ({"example": "{e}", "answers": GOOD, "duration_ms": "long"}, "duration_ms"),
        ({"example": "{e}", "answers": GOOD, "started_at": "yesterday"}, "started_at"),
    ],
)
def test_it_rejects_a_malformed_submission_with_a_400(api_as, project, examples, body, named):
    client = api_as("annotator")
    example_id = take(client, project)
    body = {key: example_id if value == "{e}" else value for key, value in body.items()}
    response = client.post(url(project, "annotations/"), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"].startswith(f"{named}:")


def test_it_rejects_a_body_that_is_not_an_object(api_as, project, examples):
    response = api_as("annotator").post(url(project, "annotations/"), [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_it_refuses_an_example_not_assigned_to_the_annotator(api_as, project, examples):
    client = api_as("annotator")
    held = take(client, project)
    other = next(e.pk for e in examples if e.pk != held)
    for example_id in (other, 987654321):
        response = submit(client, project, example_id)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_assigned"
    assert not Annotation.objects.exists()


def test_it_refuses_an_example_of_another_project(api_as, project, cast, examples):
    elsewhere = ProjectFactory()
    stranger = ExampleFactory(project=elsewhere)
    work_items_create(project=elsewhere)
    response = submit(api_as("annotator"), project, stranger.pk)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_assigned"


def test_it_refuses_to_skip_an_example_the_annotator_does_not_hold(api_as, project, examples):
    client = api_as("annotator")
    held = take(client, project)
    other = next(e.pk for e in examples if e.pk != held)
    response = client.post(url(project, "skips/"), {"example": other}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_assigned"
    submit(client, project, held)
    done = client.post(url(project, "skips/"), {"example": held}, format="json")
    assert done.status_code == 403
    assert client.post(url(project, "skips/"), {"example": "x"}, format="json").status_code == 400


def test_it_keeps_the_earlier_answers_when_an_annotation_is_resubmitted(api_as, project, examples):
    client = api_as("annotator")
    example_id = take(client, project)
    first = submit(client, project, example_id, {"quality": 2, "topic": "math"}).json()
    again = submit(client, project, example_id, {"quality": 5, "topic": "code"})
    assert again.status_code == 201
    assert again.json()["id"] == first["id"]
    assert again.json()["answers"] == {"quality": 5, "topic": "code"}
    assert [r["answers"] for r in again.json()["revisions"]] == [{"quality": 2, "topic": "math"}]
    detail = client.get(f"/api/v1/annotations/{first['id']}/").json()
    assert detail["answers"] == {"quality": 5, "topic": "code"}
    assert detail["revisions"][0]["guideline_version"] == 1
    assert Annotation.objects.count() == 1
    assert WorkItem.objects.get(pk=example_id).done == 1


def test_it_shows_annotators_only_their_own_annotations(api_as, project, examples):
    mine, theirs = api_as("annotator"), member(project, "ann-b")
    shared = take(mine, project)
    assert take(theirs, project) == shared  # the queue prefers examples closest to completion
    submit(mine, project, shared)
    submit(theirs, project, shared)
    other_id = Annotation.objects.get(annotator__username="ann-b").pk

    own = mine.get(url(project, "annotations/")).json()["results"]
    assert [a["annotator"] for a in own] == ["annotator-user"]
    assert mine.get(url(project, "annotations/?annotator=ann-b")).json()["results"] == []
    assert (
        mine.get(url(project, f"annotations/?example={shared}")).json()["results"][0]["annotator"] == "annotator-user"
    )
    assert mine.get(f"/api/v1/annotations/{other_id}/").status_code == 404

    reviewer = api_as("reviewer")
    assert {a["annotator"] for a in reviewer.get(url(project, "annotations/")).json()["results"]} == {
        "annotator-user",
        "ann-b",
    }
    by_b = reviewer.get(url(project, "annotations/?annotator=ann-b")).json()["results"]
    assert [a["id"] for a in by_b] == [other_id]
    assert reviewer.get(f"/api/v1/annotations/{other_id}/").status_code == 200


def test_it_pages_annotations_newest_first(api_as, project, examples):
    client = api_as("annotator")
    for _ in examples:
        submit(client, project, take(client, project))
    first = client.get(url(project, "annotations/?page_size=2")).json()
    second = client.get(first["next"]).json()
    ids = [a["id"] for a in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3


def test_it_rejects_a_bad_annotation_filter(api_as, project, examples):
    response = api_as("reviewer").get(url(project, "annotations/?example=abc"))
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("example:")
    assert api_as("reviewer").get(url(project, "annotations/?example=")).status_code == 200


def test_it_answers_404_for_an_unknown_annotation(api_as, project):
    assert api_as("manager").get("/api/v1/annotations/999999/").status_code == 404
    assert api_as("manager").get(f"/api/v1/annotations/{10**30}/").status_code == 404


def test_it_counts_annotations_and_completed_examples_on_the_project(api_as, project, cast):
    project.overlap = 2
    project.save()
    ExampleFactory.create_batch(3, project=project)
    work_items_create(project=project)
    annotator, reviewer = api_as("annotator"), api_as("reviewer")
    first = take(annotator, project)
    submit(annotator, project, first)
    assert take(reviewer, project) == first
    submit(reviewer, project, first)
    submit(annotator, project, take(annotator, project))

    counts = reviewer.get(url(project, "")).json()["counts"]
    assert counts == {"examples": 3, "annotations": 3, "completed": 1, "scope": "project"}
    listed = reviewer.get("/api/v1/projects/").json()["results"][0]["counts"]
    assert listed == counts


def test_it_shows_annotators_only_their_own_counts(api_as, project, cast):
    """The project's counts would tell an annotator whether others have labelled the example they hold."""
    project.overlap = 2
    project.save()
    ExampleFactory.create_batch(2, project=project)
    work_items_create(project=project)
    annotator, reviewer = api_as("annotator"), api_as("reviewer")
    held = take(annotator, project)
    assert take(reviewer, project) == held
    submit(reviewer, project, held)

    before = annotator.get(url(project, "")).json()["counts"]
    assert before == {"examples": 2, "annotations": 0, "completed": None, "scope": "own"}
    submit(annotator, project, held)
    after = annotator.get(url(project, "")).json()["counts"]
    assert after == {"examples": 2, "annotations": 1, "completed": None, "scope": "own"}
    assert annotator.get("/api/v1/projects/").json()["results"][0]["counts"] == after


def statements(call):
    """The response of ``call`` and the SQL it ran, without the savepoints of the test's own transaction (outside a
    test a submit's transaction is a BEGIN and a COMMIT, which Django does not log)."""
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, [query["sql"] for query in captured if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def test_a_submit_costs_a_fixed_number_of_statements(project, examples):
    # The statements of one submit are its server time (issue 6): a new one is a regression to look at. A first
    # label: token, access; the locks (member, example, assignment); the questions; the annotation, the assignment
    # and the counters written.
    first, second = member(project, "first"), member(project, "second")
    example_id = take(first, project)
    response, sql = statements(lambda: submit(first, project, example_id))
    assert response.status_code == 201 and response.json()["revisions"] == []
    assert len(sql) == 9, "\n".join(sql)
    # A second label: the example's labels read and its summaries written, too.
    assert take(second, project) == example_id
    response, sql = statements(lambda: submit(second, project, example_id, {"quality": 1, "topic": "math"}))
    assert response.status_code == 201
    assert len(sql) == 11, "\n".join(sql)
    # An edit: the annotation locked, its earlier answers kept, the annotation written, and the revisions shown.
    response, sql = statements(lambda: submit(second, project, example_id, {"quality": 2, "topic": "math"}))
    assert response.status_code == 201 and len(response.json()["revisions"]) == 1
    assert len(sql) == 12, "\n".join(sql)


def test_next_costs_a_fixed_number_of_statements(project, examples):
    # A claim: token, access; idle assignments looked for, and a held one; the member locked, an example claimed
    # (the assignment made, the counters written); the example and the guideline version read.
    client = member(project, "first")
    response, sql = statements(lambda: client.get(url(project, "next/")))
    assert response.status_code == 200
    assert len(sql) == 10, "\n".join(sql)
    # The example held already: no claim.
    response, sql = statements(lambda: client.get(url(project, "next/")))
    assert response.status_code == 200
    assert len(sql) == 5, "\n".join(sql)
