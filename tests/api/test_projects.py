from __future__ import annotations

import pytest

from annotate.models import Guideline, Membership, Project
from tests.conftest import api_client_for
from tests.factories import ExampleFactory, UserFactory
from tests.pages.test_reviewing import answers, label_all

QUESTIONS = [
    {"name": "quality", "kind": "rating", "min": 1, "max": 5},
    {"name": "topic", "kind": "label", "labels": ["code", "math", "general"]},
    {"name": "issues", "kind": "multi_label", "labels": ["unsafe", "wrong", "verbose"], "required": False},
    {"name": "better", "kind": "preference"},
    {"name": "rewrite", "kind": "text", "required": False},
]


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def test_it_creates_a_project_with_questions_and_a_first_guideline(alice):
    body = {"name": "helpfulness-v1", "overlap": 3, "guideline": "# Rules", "questions": QUESTIONS}
    response = api_client_for(alice).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["name"] == "helpfulness-v1" and data["overlap"] == 3
    assert data["guideline"] == {"version": 1, "text": "# Rules"}
    assert data["counts"] == {"examples": 0, "annotations": 0, "completed": 0, "scope": "project"}
    assert [q["name"] for q in data["questions"]] == ["quality", "topic", "issues", "better", "rewrite"]
    assert data["questions"][0] == {
        "name": "quality",
        "kind": "rating",
        "min": 1,
        "max": 5,
        "required": True,
        "level": "ordinal",
        "help": "",
    }
    assert data["questions"][2]["required"] is False and data["questions"][2]["level"] == "nominal"
    assert Membership.objects.get(project_id=data["id"], user=alice).role == "manager"


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ({"name": "q", "kind": "rating", "min": 5, "max": 1}, "questions[0].max"),
        ({"name": "q", "kind": "label", "labels": ["only"]}, "questions[0].labels"),
        ({"name": "q", "kind": "colour"}, "questions[0].kind"),
        ({"name": "1bad", "kind": "text"}, "questions[0].name"),
        ({"name": "q", "kind": "multi_label", "labels": ["a", "a"]}, "questions[0].labels"),
        ({"name": "q", "kind": "rating", "min": 1, "max": 5, "level": "nominal", "color": 1}, "questions[0].question"),
        ({"name": "q", "kind": "text", "level": "ordinal"}, "questions[0].level"),
        ({"name": "q", "kind": "rating", "min": -2, "max": 2, "level": "ratio"}, "questions[0].level"),
    ],
)
def test_it_rejects_a_bad_question_naming_it(alice, question, named):
    response = api_client_for(alice).post("/api/v1/projects/", {"name": "p", "questions": [question]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert named in error["message"]
    assert not Project.objects.exists()


def test_it_rejects_two_questions_with_one_name(alice):
    questions = [{"name": "q", "kind": "text"}, {"name": "q", "kind": "preference"}]
    response = api_client_for(alice).post("/api/v1/projects/", {"name": "p", "questions": questions}, format="json")
    assert response.status_code == 400
    assert "used twice" in response.json()["error"]["message"]


def test_it_rejects_an_overlap_below_one(alice):
    response = api_client_for(alice).post("/api/v1/projects/", {"name": "p", "overlap": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("overlap:")


def test_it_counts_guideline_versions_up_from_one(api_as, project):
    client = api_as("manager")
    versions = [client.post(f"/api/v1/projects/{project.pk}/guidelines/", {"text": f"v{n}"}).json() for n in (2, 3)]
    assert [v["version"] for v in versions] == [2, 3]
    listed = client.get(f"/api/v1/projects/{project.pk}/guidelines/").json()["results"]
    assert [g["version"] for g in listed] == [3, 2, 1]
    assert client.get(f"/api/v1/projects/{project.pk}/").json()["guideline"] == {"version": 3, "text": "v3"}
    assert Guideline.objects.filter(project=project).count() == 3


def test_it_adds_changes_and_removes_members(api_as, project, cast):
    UserFactory(username="newcomer")
    client = api_as("manager")
    url = f"/api/v1/projects/{project.pk}/members/"
    assert client.post(url, {"username": "newcomer", "role": "annotator"}).status_code == 201
    assert client.post(url, {"username": "newcomer", "role": "reviewer"}).status_code == 200
    members = {m["username"]: m["role"] for m in client.get(url).json()["results"]}
    assert members["newcomer"] == "reviewer"
    assert client.delete(f"{url}newcomer/").status_code == 204
    assert "newcomer" not in {m["username"] for m in client.get(url).json()["results"]}


def test_it_names_an_unknown_user_or_role(api_as, project, cast):
    url = f"/api/v1/projects/{project.pk}/members/"
    unknown = api_as("manager").post(url, {"username": "ghost", "role": "annotator"})
    assert unknown.status_code == 400 and "ghost" in unknown.json()["error"]["message"]
    bad_role = api_as("manager").post(url, {"username": "outsider-user", "role": "boss"})
    assert bad_role.status_code == 400 and bad_role.json()["error"]["message"].startswith("role:")


def test_it_keeps_the_last_manager(api_as, project, cast):
    response = api_as("manager").delete(f"/api/v1/projects/{project.pk}/members/manager-user/")
    assert response.status_code == 409
    assert "at least one manager" in response.json()["error"]["message"]


def test_it_updates_a_project(api_as, project, cast):
    response = api_as("manager").patch(f"/api/v1/projects/{project.pk}/", {"name": "renamed", "overlap": 2})
    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.name, project.overlap) == ("renamed", 2)


def test_it_adds_a_question_to_an_existing_project(api_as, project, cast):
    client = api_as("manager")
    url = f"/api/v1/projects/{project.pk}/questions/"
    assert client.post(url, {"name": "notes", "kind": "text", "required": False}).status_code == 201
    assert [q["name"] for q in client.get(url).json()["results"]] == ["quality", "topic", "notes"]
    clash = client.post(url, {"name": "quality", "kind": "text"})
    assert clash.status_code == 409


def test_it_pages_examples_with_a_cursor(api_as, project, cast):
    ExampleFactory.create_batch(5, project=project)
    client = api_as("reviewer")
    first = client.get(f"/api/v1/projects/{project.pk}/examples/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert {e["id"] for e in first["results"]}.isdisjoint(e["id"] for e in second["results"])
    assert set(first["results"][0]) >= {"id", "external_id", "content", "metadata", "created_at"}


def test_it_finds_an_example_by_external_id(api_as, project, cast):
    example = ExampleFactory(project=project, external_id="needle")
    ExampleFactory.create_batch(2, project=project)
    found = api_as("manager").get(f"/api/v1/projects/{project.pk}/examples/?external_id=needle").json()["results"]
    assert [e["id"] for e in found] == [example.pk]


def test_it_counts_examples_on_the_project(api_as, project, cast):
    ExampleFactory.create_batch(3, project=project)
    assert api_as("annotator").get(f"/api/v1/projects/{project.pk}/").json()["counts"]["examples"] == 3


def test_it_changes_a_question_with_answers_only_where_they_stay_valid(api_as, project, cast):
    example = ExampleFactory(project=project)
    label_all(project, {example: answers("code", "math", "math")})
    url = f"/api/v1/projects/{project.pk}/questions/topic/"
    client = api_as("manager")

    added = client.patch(
        url, {"labels": ["code", "math", "general", "other"], "help": "The main topic."}, format="json"
    )
    dropped = client.patch(url, {"labels": ["code", "general"]}, format="json")
    renamed = client.patch(url, {"name": "subject"}, format="json")
    removed = client.delete(url)

    assert added.status_code == 200, added.content
    assert added.json()["labels"][-1] == "other" and added.json()["help"] == "The main topic."
    assert dropped.status_code == 409 and "'math'" in dropped.json()["error"]["message"]
    assert renamed.status_code == 409 and "stays" in renamed.json()["error"]["message"]
    assert removed.status_code == 409 and "3 answers" in removed.json()["error"]["message"]
    assert project.questions.filter(name="topic").exists()


def test_it_changes_and_removes_a_question_without_answers(api_as, project, cast):
    client = api_as("manager")
    base = f"/api/v1/projects/{project.pk}/questions/"

    changed = client.patch(f"{base}quality/", {"kind": "text", "name": "why"}, format="json")
    bad = client.patch(f"{base}topic/", {"labels": ["only"]}, format="json")
    missing = client.delete(f"{base}nope/")
    removed = client.delete(f"{base}topic/")

    assert changed.status_code == 200 and changed.json()["kind"] == "text" and changed.json()["level"] is None
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("labels:")
    assert missing.status_code == 404
    assert removed.status_code == 204
    assert [q["name"] for q in client.get(base).json()["results"]] == ["why"]


def test_it_keeps_a_note_with_a_guideline_version(api_as, project, cast):
    url = f"/api/v1/projects/{project.pk}/guidelines/"

    created = api_as("manager").post(url, {"text": "v2 rules", "note": "Clarified code vs math"})
    plain = api_as("manager").post(url, {"text": "v3 rules"})

    assert created.status_code == 201 and created.json()["note"] == "Clarified code vs math"
    assert plain.status_code == 201 and plain.json()["note"] == ""
    listed = api_as("reviewer").get(url).json()["results"]
    assert [(g["version"], g["note"]) for g in listed] == [(3, ""), (2, "Clarified code vs math"), (1, "")]
