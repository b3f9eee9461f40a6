"""NUL characters and lone surrogates are refused at the edge with a 400 naming where they are, never stored and
never a 500 (config/middleware/unstorable_text.py, api/parsers.py, api/pagination.py)."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from django.urls import reverse

from annotate.models import Annotation, Guideline, Resolution
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from config.unstorable import unstorable_character
from tests.factories import ExampleFactory


@pytest.fixture
def held(project, cast):
    """An example the manager holds (may annotate), and one that two others annotated differently (to resolve)."""
    example = ExampleFactory(project=project)
    work_items_create(project=project)
    assert next_assignment(project=project, annotator=cast["manager"]).example_id == example.pk
    return example


def assert_refused(response, field: str, mentions: str = "NUL character") -> dict:
    assert response.status_code == 400
    error = response.json()["error"]
    assert mentions in error["message"]
    assert "remove it" in error["message"]
    if field:
        assert field in error["message"]
    return error


def test_it_refuses_a_nul_in_a_query_parameter(api_as, project):
    response = api_as("manager").get(f"/api/v1/projects/{project.pk}/examples/?external_id=%00")

    error = assert_refused(response, "'external_id'")
    assert error["code"] == "invalid"
    assert list(error["details"]) == ["external_id"]


def test_it_refuses_a_nul_in_a_metadata_filter(api_as, project):
    response = api_as("manager").get(f"/api/v1/projects/{project.pk}/disagreements/?question=topic&metadata.src=%00")

    assert_refused(response, "'metadata.src'")


def test_it_refuses_a_nul_in_a_query_parameter_name(api_as, project):
    response = api_as("manager").get(f"/api/v1/projects/{project.pk}/examples/?a%00b=1")

    assert_refused(response, "query parameter name")


def test_it_refuses_a_nul_in_the_path(api_as, project):
    response = api_as("manager").delete(f"/api/v1/projects/{project.pk}/members/%00/")

    assert_refused(response, "URL path")


def test_it_refuses_a_nul_in_the_authorization_header(project):
    response = Client(HTTP_AUTHORIZATION="Token abc\x00def").get("/api/v1/projects/")

    assert_refused(response, "Authorization header")


def test_it_refuses_a_nul_in_a_cookie(project):
    client = Client()
    client.cookies["sessionid"] = "a" * 32 + "\x00"

    response = client.get("/api/v1/projects/")

    assert_refused(response, "'sessionid'")


def cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize("position", ["%00", "abc", "1e3"])
def test_it_refuses_a_cursor_whose_position_is_not_a_value_of_the_ordering(api_as, project, position):
    response = api_as("manager").get(f"/api/v1/projects/{project.pk}/examples/?cursor={cursor(f'r=0&p={position}')}")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid cursor"


def test_it_still_follows_its_own_cursors(api_as, project):
    for _ in range(3):
        ExampleFactory(project=project)
    first = api_as("manager").get(f"/api/v1/projects/{project.pk}/examples/?page_size=2").json()

    second = api_as("manager").get(first["next"])

    assert second.status_code == 200
    assert len(second.json()["results"]) == 1


def test_it_refuses_a_nul_in_an_answer(api_as, project, held):
    body = {"example": held.pk, "answers": {"quality": 4, "topic": "co\u0000de"}}

    response = api_as("manager").post(f"/api/v1/projects/{project.pk}/annotations/", body, format="json")

    assert_refused(response, "answers.topic")
    assert not Annotation.objects.exists()


def test_it_refuses_a_lone_surrogate_in_an_answer(api_as, project, held):
    body = b'{"example": %d, "answers": {"quality": 4, "topic": "\\ud800"}}' % held.pk

    response = api_as("manager").post(
        f"/api/v1/projects/{project.pk}/annotations/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "surrogate" in response.json()["error"]["message"]
    assert not Annotation.objects.exists()


@pytest.fixture
def disputed(project, cast, held):
    annotation_submit(
        project=project, annotator=cast["manager"], example_id=held.pk, answers={"quality": 4, "topic": "code"}
    )
    assert next_assignment(project=project, annotator=cast["reviewer"]).example_id == held.pk
    annotation_submit(
        project=project, annotator=cast["reviewer"], example_id=held.pk, answers={"quality": 2, "topic": "code"}
    )
    return held


@pytest.mark.parametrize(
    "change, where",
    [({"note": "unclear\u0000"}, "note"), ({"question": "topic", "value": "\u0000"}, "value")],
)
def test_it_refuses_a_nul_in_a_resolution(api_as, project, disputed, change, where):
    body = {"example": disputed.pk, "question": "quality", "value": 3, **change}

    response = api_as("reviewer").post(f"/api/v1/projects/{project.pk}/resolutions/", body, format="json")

    assert_refused(response, where)
    assert not Resolution.objects.exists()


def test_it_refuses_a_nul_in_a_multipart_field(api_as, project):
    response = api_as("manager").post(
        f"/api/v1/projects/{project.pk}/guidelines/", {"text": "a\u0000b"}, format="multipart"
    )

    assert_refused(response, "'text'")


def test_it_refuses_a_nul_in_the_sign_in_form_with_a_page(db):
    response = Client().post(reverse("login"), {"username": "ali\u0000ce", "password": "x"})

    assert response.status_code == 400
    assert "The form field &#x27;username&#x27; holds a NUL character" in response.content.decode()


def test_it_refuses_a_nul_in_the_guideline_form(client_as, project):
    url = reverse("annotate:guideline_edit", args=[project.pk])

    response = client_as("manager").post(url, {"text": "new\u0000 text"})

    assert response.status_code == 400
    assert "&#x27;text&#x27; holds a NUL character" in response.content.decode()
    assert Guideline.objects.filter(project=project).count() == 1


def test_it_refuses_a_nul_in_the_annotate_form(client_as, project, held):
    url = reverse("annotate:annotate_submit", args=[project.pk, held.pk])

    response = client_as("manager").post(url, {"quality": "4", "topic": "code\u0000"})

    assert response.status_code == 400
    assert "&#x27;topic&#x27; holds a NUL character" in response.content.decode()
    assert not Annotation.objects.exists()


def test_it_refuses_a_nul_in_a_review_note(client_as, project, disputed):
    url = reverse("annotate:review_example", args=[project.pk, disputed.pk])

    response = client_as("reviewer").post(f"{url}?question=quality", {"action": "own", "value": "3", "note": "\u0000"})

    assert response.status_code == 400
    assert "&#x27;note&#x27; holds a NUL character" in response.content.decode()
    assert not Resolution.objects.exists()


@pytest.mark.parametrize("text", ["plain", "tab\tand newline\n", "émoji 🎉", "\ufffd"])
def test_it_lets_ordinary_text_through(text):
    assert unstorable_character(text) is None


@pytest.mark.parametrize("text, named", [("a\x00", "NUL"), ("\ud800", "surrogate (\\ud800)"), ("\udfff", "\\udfff")])
def test_it_names_the_character_that_cannot_be_stored(text, named):
    assert named in unstorable_character(text)
