"""JSON bodies that used to give a 500 (RecursionError, KeyError, an integer the database cannot hold) are 400s
that say what to fix (api/parsers.py and the serializers)."""

from __future__ import annotations

import pytest

from annotate.models import Annotation
from api.parsers import MAX_JSON_DEPTH
from curation.models import Job


def nested(levels: int, leaf: bytes = b"1") -> bytes:
    """``[[[…leaf…]]]`` with ``levels`` arrays."""
    return b"[" * levels + leaf + b"]" * levels


def test_it_refuses_json_nested_a_thousand_levels_on_the_anonymous_token_endpoint(db):
    from rest_framework.test import APIClient

    response = APIClient().post("/api/v1/auth/token/", nested(1000), content_type="application/json")

    assert response.status_code == 400
    assert f"nested at most {MAX_JSON_DEPTH} levels" in response.json()["error"]["message"]


def test_it_refuses_deep_nesting_inside_an_answer(api_as, project):
    body = b'{"example": 1, "answers": {"topic": %s}}' % nested(MAX_JSON_DEPTH)

    response = api_as("manager").post(
        f"/api/v1/projects/{project.pk}/annotations/", body, content_type="application/json"
    )

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert f"at most {MAX_JSON_DEPTH} levels" in message
    assert "and answers.topic[0][0][0]" in message  # it names the place
    assert not Annotation.objects.exists()


def test_it_takes_json_nested_up_to_the_limit(api_as, project, django_capture_on_commit_callbacks):
    deep = b'{"records": [{"text": "a", "metadata": {"deep": %s}}]}' % nested(MAX_JSON_DEPTH - 4)

    with django_capture_on_commit_callbacks():
        response = api_as("manager").post(
            f"/api/v1/projects/{project.pk}/imports/", deep, content_type="application/json"
        )

    assert response.status_code == 202
    assert Job.objects.count() == 1


@pytest.mark.parametrize(
    "body, says",
    [
        (b'{"username": "a", ', "JSON parse error"),
        (b'{"username": NaN, "password": "x"}', "JSON parse error"),
        (b'{"username": 1e999, "password": "x"}', "JSON parse error"),
        (b'{"username": "\xff", "password": "x"}', "JSON parse error"),
    ],
)
def test_it_refuses_json_it_cannot_read_with_a_400(db, body, says):
    from rest_framework.test import APIClient

    response = APIClient().post("/api/v1/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert says in response.json()["error"]["message"]


@pytest.mark.parametrize("example", [2**64, 2**70, -(2**63) - 1, 10**30])
def test_it_refuses_an_id_beyond_64_bits(api_as, project, example):
    body = b'{"example": %d, "answers": {"quality": 3, "topic": "code"}}' % example

    response = api_as("manager").post(
        f"/api/v1/projects/{project.pk}/annotations/", body, content_type="application/json"
    )

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("example:") and f"the integer {example}" in message and "64-bit" in message


def test_it_asks_for_the_text_of_a_new_guideline_version(api_as, project):
    response = api_as("manager").post(f"/api/v1/projects/{project.pk}/guidelines/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "text: This field is required."


def test_it_refuses_an_integer_it_would_round_anywhere_in_a_body_naming_where(api_as, project):
    """orjson reads an integer beyond 64 bits as a rounded float without a word: stored, it would be changed."""
    body = b'{"example": 1, "answers": {"quality": 123456789012345678901234, "topic": "code"}}'

    response = api_as("manager").post(
        f"/api/v1/projects/{project.pk}/annotations/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("answers.quality: holds the integer 123456789012345678901234")
