"""The review queue searched and filtered like the examples browser (q, shape, status, an answer to the queue's
question, the least disagreement), on top of its own filters; on the page and in the API."""

from __future__ import annotations

import pytest

from tests.conftest import ROLES
from tests.pages.test_reviewing import listed, queue_page


def disagreements(client, project, **params):
    return client.get(f"/api/v1/projects/{project.pk}/disagreements/", {"question": "topic", **params})


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["code", "fox"]),
        ({"q": "fox"}, ["fox"]),
        ({"q": "python reverse"}, ["code"]),
        ({"q": '"lazy dog"'}, ["fox"]),
        ({"shape": "text"}, ["fox"]),
        ({"status": "resolved"}, ["code"]),
        ({"answer": "general"}, ["code"]),
        ({"min": "0.75"}, ["code"]),
        ({"q": "the", "key": "lang", "value": "en", "answer": "math"}, ["fox"]),
    ],
)
def test_the_queue_page_searches_and_filters(client_as, project, searchable, params, expected):
    response = queue_page(client_as("reviewer"), project, question="topic", show="all", **params)

    assert response.status_code == 200
    assert listed(response) == expected


def test_the_filters_stay_in_the_form_and_the_review_links(client_as, project, searchable):
    html = queue_page(
        client_as("reviewer"), project, question="topic", show="all", q="fox", min="0.25"
    ).content.decode()

    assert 'name="q" value="fox"' in html
    assert '<option value="0.25" selected>' in html
    assert "q=fox" in html and "min=0.25" in html  # in the links to the review page
    assert "Clear filters" in html


@pytest.mark.parametrize(("params", "field"), [({"answer": "poetry"}, "answer"), ({"q": "!!!"}, "q")])
def test_a_bad_filter_is_reported_and_left_out(client_as, project, searchable, params, field):
    response = queue_page(client_as("reviewer"), project, question="topic", show="all", **params)

    assert field in response.context["form"].errors
    assert "Some filters were ignored" in response.content.decode()
    assert listed(response) == ["code", "fox"]


@pytest.mark.parametrize(("role", "expected"), zip(ROLES, (200, 200, 403, 404, 302), strict=True))
def test_the_filtered_queue_page_answers_each_role(client_as, project, searchable, role, expected):
    response = queue_page(client_as(role), project, question="topic", show="all", q="fox", shape="text")

    assert response.status_code == expected
    if expected == 200:
        assert listed(response) == ["fox"]


# The API --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "fox"}, ["fox"]),
        ({"shape": "instruction"}, ["code"]),
        ({"status": "resolved"}, ["code"]),
        ({"answer.topic": "general"}, ["code"]),
        ({"min_disagreement": "0.75"}, ["code"]),
        ({"q": "dog", "metadata.lang": "en"}, ["fox"]),
    ],
)
def test_the_disagreements_api_searches_and_filters(api_as, project, searchable, params, expected):
    response = disagreements(api_as("reviewer"), project, **params)

    assert response.status_code == 200, response.content
    names = {example.pk: name for name, example in searchable.items()}
    assert [names[case["example"]] for case in response.json()["results"]] == expected


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"shape": "poem"}, "shape"),
        ({"status": "done"}, "status"),
        ({"answer.topic": "poetry"}, "answer.topic"),
        ({"min_disagreement": "2"}, "min_disagreement"),
    ],
)
def test_the_disagreements_api_names_a_bad_filter(api_as, project, searchable, params, parameter):
    response = disagreements(api_as("reviewer"), project, **params)

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(f"{parameter}: ")


@pytest.mark.parametrize(("role", "expected"), zip(ROLES, (200, 200, 403, 404, 401), strict=True))
def test_the_filtered_disagreements_api_answers_each_role(api_as, project, searchable, role, expected):
    assert disagreements(api_as(role), project, q="fox").status_code == expected
