"""Reviewing through the API: disagreements, resolutions, consensus, tie-breakers, reopening (API.md, Reviewing)."""

from __future__ import annotations

import base64

import orjson
import pytest
from django.contrib.auth.models import User

from annotate.models import Annotation, Membership, Resolution, WorkItem
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, skip, work_items_create
from tests.conftest import api_client_for
from tests.factories import ExampleFactory, ProjectFactory, UserFactory

# quality (rating 1..5, ordinal) and topic (label, nominal) per example, per annotator; None: skipped.
LABELS = {
    "e1": {"annotator-user": (1, "code"), "ann-b": (5, "code"), "ann-c": (3, "code")},
    "e2": {"annotator-user": (2, "code"), "ann-b": (3, "math"), "ann-c": (3, "general")},
    "e3": {"annotator-user": (4, "math"), "ann-b": (4, "math"), "ann-c": (4, "code")},
    "e4": {"annotator-user": (4, "general"), "ann-b": (5, "general"), "ann-c": None},
}


def label(project, user, answers_by_example: dict[int, tuple[int, str] | None]) -> None:
    """Work through the queue as the user, answering the examples given and skipping the rest."""
    while (assignment := next_assignment(project=project, annotator=user)) is not None:
        answer = answers_by_example.get(assignment.example_id)
        if answer is None:
            skip(project=project, annotator=user, example_id=assignment.example_id)
        else:
            quality, topic = answer
            annotation_submit(
                project=project,
                annotator=user,
                example_id=assignment.example_id,
                answers={"quality": quality, "topic": topic},
            )


@pytest.fixture
def labelled(project, cast):
    """Four examples labelled by three annotators as LABELS says; returns {"e1": id, ...}."""
    odd_keys = {"isnull": "x", "contains": "x", "a__b": "x", "a b": "x"}
    metadata = {"e1": {"lang": "en", **odd_keys}, "e2": {"lang": "de"}, "e3": {"lang": "en"}, "e4": {}}
    ids = {name: ExampleFactory(project=project, external_id=name, metadata=metadata[name]).pk for name in LABELS}
    work_items_create(project=project)
    users = {"annotator-user": cast["annotator"]}
    for username in ("ann-b", "ann-c"):
        users[username] = UserFactory(username=username)
        Membership.objects.create(user=users[username], project=project, role="annotator")
    for username, user in users.items():
        label(project, user, {ids[name]: by_user[username] for name, by_user in LABELS.items()})
    return ids


def url(project, tail: str) -> str:
    return f"/api/v1/projects/{project.pk}/{tail}"


def disagreements(client, project, query: str) -> list[dict]:
    response = client.get(url(project, f"disagreements/?{query}"))
    assert response.status_code == 200, response.content
    return response.json()["results"]


def resolve(client, project, example_id, value, question="quality", **extra):
    body = {"example": example_id, "question": question, "value": value, **extra}
    return client.post(url(project, "resolutions/"), body, format="json")


def test_it_lists_disagreements_most_disagreement_first(api_as, project, labelled):
    cases = disagreements(api_as("reviewer"), project, "question=quality")
    # The mean squared distance between answers over the squared span of the 1–5 scale: e1 (1, 5, 3): 24/3/16;
    # e4 (4, 5): 1/16; e2 (2, 3, 3): 2/3/16.
    assert [c["example"] for c in cases] == [labelled["e1"], labelled["e4"], labelled["e2"]]
    assert [c["disagreement"] for c in cases] == [0.5, 0.0625, 0.041667]
    first = cases[0]
    assert first["question"] == "quality" and first["external_id"] == "e1" and first["resolution"] is None
    assert sorted((a["annotator"], a["value"]) for a in first["annotations"]) == [
        ("ann-b", 5),
        ("ann-c", 3),
        ("annotator-user", 1),
    ]
    assert all(a["guideline_version"] == 1 for a in first["annotations"])


def test_it_measures_nominal_disagreement_by_agreeing_pairs(api_as, project, labelled):
    cases = disagreements(api_as("manager"), project, "question=topic")
    assert [(c["example"], round(c["disagreement"], 3)) for c in cases] == [
        (labelled["e2"], 1.0),
        (labelled["e3"], 0.667),
    ]


def test_it_filters_disagreements_by_annotator_and_metadata(api_as, project, labelled):
    client = api_as("reviewer")
    by_c = disagreements(client, project, "question=quality&annotator=ann-c")
    assert [c["example"] for c in by_c] == [labelled["e1"], labelled["e2"]]
    english = disagreements(client, project, "question=quality&metadata.lang=en")
    assert [c["example"] for c in english] == [labelled["e1"]]
    assert disagreements(client, project, "question=quality&metadata.lang=fr") == []


def test_it_filters_by_who_labelled_the_current_round(api_as, project, labelled):
    """After a send-back, an annotator's earlier round does not make the example theirs in the queue."""
    client = api_as("manager")
    assert client.post(url(project, "reopen/"), {"examples": [labelled["e1"]]}, format="json").status_code == 200
    for username, answer in (("ann-b", (1, "code")), ("ann-c", (5, "code"))):
        label(project, User.objects.get(username=username), {labelled["e1"]: answer})
    by_b = disagreements(client, project, "question=quality&annotator=ann-b")
    by_first = disagreements(client, project, "question=quality&annotator=annotator-user")
    assert labelled["e1"] in [c["example"] for c in by_b]
    assert labelled["e1"] not in [c["example"] for c in by_first]


@pytest.mark.parametrize("key", ["0", "12", "k" * 101])
def test_it_refuses_a_metadata_key_it_cannot_filter_on(api_as, project, labelled, key):
    response = api_as("reviewer").get(url(project, f"disagreements/?question=quality&metadata.{key}=x"))
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"metadata.{key}:")


@pytest.mark.parametrize("key", ["isnull", "contains", "a__b", "a b"])
def test_it_filters_on_a_metadata_key_that_looks_like_a_lookup_as_a_plain_key(api_as, project, labelled, key):
    """The page offers the keys the examples have; the API takes the same ones."""
    found = disagreements(api_as("reviewer"), project, f"question=quality&metadata.{key}=x")
    assert [c["example"] for c in found] == [labelled["e1"]]


def test_it_filters_disagreements_by_resolution(api_as, project, labelled):
    client = api_as("reviewer")
    assert resolve(client, project, labelled["e1"], 3).status_code == 201
    everything = disagreements(client, project, "question=quality")
    assert everything[0]["resolution"]["value"] == 3 and everything[0]["resolution"]["question"] == "quality"
    open_ = disagreements(client, project, "question=quality&resolved=false")
    assert [c["example"] for c in open_] == [labelled["e4"], labelled["e2"]]
    done = disagreements(client, project, "question=quality&resolved=true")
    assert [c["example"] for c in done] == [labelled["e1"]]
    assert client.get(url(project, "disagreements/?question=quality&resolved=maybe")).status_code == 400


@pytest.mark.parametrize("query", ["", "question=", "question=colour"])
def test_it_names_the_questions_when_the_question_is_missing_or_unknown(api_as, project, labelled, query):
    response = api_as("reviewer").get(url(project, f"disagreements/?{query}"))
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("question:") and "quality" in message and "topic" in message


def test_it_pages_disagreements_with_an_opaque_cursor(api_as, project, labelled):
    client = api_as("reviewer")
    first = client.get(url(project, "disagreements/?question=quality&page_size=2")).json()
    assert len(first["results"]) == 2 and first["previous"] is None
    assert "cursor=" in first["next"] and "page_size=2" in first["next"]
    second = client.get(first["next"]).json()
    assert [c["example"] for c in first["results"] + second["results"]] == [
        labelled["e1"],
        labelled["e4"],
        labelled["e2"],
    ]
    assert second["next"] is None
    back = client.get(second["previous"]).json()
    assert back["results"] == first["results"]


def test_it_skips_no_case_when_the_queue_changes_between_pages(api_as, project, labelled):
    """The cursor is a position in the order, not an offset: a case resolved meanwhile moves no other case."""
    client = api_as("reviewer")
    first = client.get(url(project, "disagreements/?question=quality&resolved=false&page_size=1")).json()
    assert [c["example"] for c in first["results"]] == [labelled["e1"]]
    assert resolve(client, project, labelled["e1"], 3).status_code == 201
    second = client.get(first["next"]).json()
    assert [c["example"] for c in second["results"]] == [labelled["e4"]]


def cursor_of(value) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "nonsense",
        "bz0tMQ==",
        "eD0x",
        "%%%",
        cursor_of({"a": [2, 1]}),
        cursor_of({"a": [0.5, -1]}),
        cursor_of({"a": [True, 1]}),
        cursor_of({"z": [0.5, 1]}),
        cursor_of({"a": [0.5, 1], "b": [0.5, 1]}),
        cursor_of([0.5, 1]),
        base64.urlsafe_b64encode(b'{"a": [0.5, 1180591620717411303424]}').decode(),
    ],
)
def test_it_refuses_a_bad_cursor(api_as, project, labelled, cursor):
    response = api_as("reviewer").get(url(project, f"disagreements/?question=quality&cursor={cursor}"))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid cursor"


def test_it_records_a_resolution_and_replaces_it_when_posted_again(api_as, project, labelled):
    client = api_as("reviewer")
    response = resolve(client, project, labelled["e1"], 3, note="middle ground")
    assert response.status_code == 201, response.content
    assert response.json() == {
        **response.json(),
        "example": labelled["e1"],
        "question": "quality",
        "value": 3,
        "method": "reviewer",
        "reviewer": "reviewer-user",
        "note": "middle ground",
    }
    assert response.json()["resolved_at"]
    again = resolve(api_as("manager"), project, labelled["e1"], 4)
    assert again.status_code == 201
    assert again.json()["value"] == 4 and again.json()["reviewer"] == "manager-user" and again.json()["note"] == ""
    assert Resolution.objects.count() == 1
    listed = client.get(url(project, "resolutions/?question=quality")).json()["results"]
    assert [(r["example"], r["value"]) for r in listed] == [(labelled["e1"], 4)]
    assert client.get(url(project, "resolutions/?question=topic")).json()["results"] == []
    assert client.get(url(project, f"resolutions/?example={labelled['e1']}")).json()["results"] == listed


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"question": "quality", "value": 6}, "value"),
        ({"question": "quality", "value": "3"}, "value"),
        ({"question": "topic", "value": "poetry"}, "value"),
        ({"question": "quality"}, "value"),
        ({"question": "quality", "value": None}, "value"),
        ({"question": "colour", "value": 3}, "question"),
        ({"question": ["quality"], "value": 3}, "question"),
        ({"question": "quality", "value": 3, "example": "first"}, "example"),
        ({"question": "quality", "value": 3, "example": 10**30}, "example"),
        ({"question": "quality", "value": 3, "example": 987654321}, "example"),
        ({"question": "quality", "value": 3, "note": ["n"]}, "note"),
    ],
)
def test_it_rejects_a_bad_resolution_naming_the_field(api_as, project, labelled, body, named):
    response = api_as("reviewer").post(url(project, "resolutions/"), {"example": labelled["e1"], **body}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"].startswith(f"{named}:")
    assert not Resolution.objects.exists()


def test_it_refuses_to_resolve_an_example_of_another_project(api_as, project, labelled):
    stranger = ExampleFactory(project=ProjectFactory())
    response = resolve(api_as("reviewer"), project, stranger.pk, 3)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("example:")


def test_it_refuses_a_preference_resolution_for_an_example_without_responses(api_as, project, labelled):
    from tests.factories import QuestionFactory

    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    response = resolve(api_as("reviewer"), project, labelled["e1"], "a", question="better")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("question:")


def test_it_resolves_in_bulk_by_consensus(api_as, project, labelled):
    client = api_as("reviewer")
    consensus = url(project, "resolutions/consensus/")
    unanimous = client.post(consensus, {"question": "topic", "method": "unanimous"}, format="json")
    assert unanimous.status_code == 200 and unanimous.json() == {"resolved": 2}
    strict = client.post(consensus, {"question": "topic", "method": "majority", "threshold": 0.7}, format="json")
    assert strict.json() == {"resolved": 0}
    majority = client.post(consensus, {"question": "topic", "method": "majority"}, format="json")
    assert majority.json() == {"resolved": 1}
    assert client.post(consensus, {"question": "topic", "method": "majority"}, format="json").json() == {"resolved": 0}
    resolved = {
        (r["example"], r["value"], r["method"])
        for r in client.get(url(project, "resolutions/?question=topic")).json()["results"]
    }
    assert resolved == {
        (labelled["e1"], "code", "unanimous"),
        (labelled["e4"], "general", "unanimous"),
        (labelled["e3"], "math", "majority"),
    }


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"question": "topic", "method": "vote"}, "method"),
        ({"question": "topic", "method": "majority", "threshold": 1.5}, "threshold"),
        ({"question": "topic", "method": "majority", "threshold": "high"}, "threshold"),
        ({"question": "colour", "method": "unanimous"}, "question"),
        ({"method": "unanimous"}, "question"),
    ],
)
def test_it_rejects_a_bad_consensus_request(api_as, project, labelled, body, named):
    response = api_as("reviewer").post(url(project, "resolutions/consensus/"), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{named}:")


def test_it_offers_a_tiebreak_example_to_one_more_annotator(api_as, project, labelled):
    response = api_as("reviewer").post(url(project, "tiebreak/"), {"examples": [labelled["e1"]]}, format="json")
    assert response.status_code == 200 and response.json() == {"examples": 1}
    assert WorkItem.objects.get(pk=labelled["e1"]).target == project.overlap + 1
    assert api_as("annotator").get(url(project, "next/")).status_code == 204  # already labelled it
    newcomer = UserFactory(username="ann-d")
    Membership.objects.create(user=newcomer, project=project, role="annotator")
    client = api_client_for(newcomer)
    offered = client.get(url(project, "next/")).json()["example"]["id"]
    assert offered in (labelled["e1"], labelled["e4"])
    ids = set()
    while (got := client.get(url(project, "next/"))).status_code == 200:
        example_id = got.json()["example"]["id"]
        ids.add(example_id)
        body = {"example": example_id, "answers": {"quality": 3, "topic": "code"}}
        assert client.post(url(project, "annotations/"), body, format="json").status_code == 201
    assert ids == {labelled["e1"], labelled["e4"]}
    assert client.get(url(project, "next/")).status_code == 204


def test_it_reopens_examples_for_a_new_round_under_the_new_guideline(api_as, project, labelled):
    manager, annotator = api_as("manager"), api_as("annotator")
    resolve(manager, project, labelled["e1"], 3)
    assert manager.get(url(project, "")).json()["counts"] == {
        "examples": 4,
        "annotations": 11,
        "completed": 3,
        "scope": "project",
    }
    manager.post(url(project, "guidelines/"), {"text": "Rate 3 when unsure."}, format="json")
    response = manager.post(url(project, "reopen/"), {"examples": [labelled["e1"]]}, format="json")
    assert response.status_code == 200 and response.json() == {"examples": 1}
    assert not Resolution.objects.exists()
    assert manager.get(url(project, "")).json()["counts"] == {
        "examples": 4,
        "annotations": 11,
        "completed": 2,
        "scope": "project",
    }
    assert [c["example"] for c in disagreements(manager, project, "question=quality")] == [
        labelled["e4"],
        labelled["e2"],
    ]

    again = annotator.get(url(project, "next/")).json()
    assert again["example"]["id"] == labelled["e1"] and again["guideline_version"] == 2
    body = {"example": labelled["e1"], "answers": {"quality": 3, "topic": "code"}}
    redone = annotator.post(url(project, "annotations/"), body, format="json").json()
    assert redone["guideline_version"] == 2
    assert [(r["answers"]["quality"], r["guideline_version"]) for r in redone["revisions"]] == [(1, 1)]
    assert Annotation.objects.filter(example_id=labelled["e1"]).count() == 3


@pytest.mark.parametrize("endpoint", ["tiebreak/", "reopen/"])
@pytest.mark.parametrize(
    "examples",
    [None, [], "e1", ["e1"], [True], [0], [10**30], [987654321], [{"id": 1}]],
)
def test_it_rejects_bad_example_lists(api_as, project, labelled, endpoint, examples):
    body = {} if examples is None else {"examples": examples}
    response = api_as("manager").post(url(project, endpoint), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"].startswith("examples")
    assert WorkItem.objects.filter(target__gt=project.overlap).count() == 0
    assert WorkItem.objects.filter(round__gt=1).count() == 0


def test_it_refuses_examples_of_another_project_in_a_tiebreak(api_as, project, labelled):
    stranger = ExampleFactory(project=ProjectFactory())
    body = {"examples": [labelled["e1"], stranger.pk]}
    response = api_as("reviewer").post(url(project, "tiebreak/"), body, format="json")
    assert response.status_code == 400
    assert str(stranger.pk) in response.json()["error"]["message"]
    assert WorkItem.objects.get(pk=labelled["e1"]).target == project.overlap
