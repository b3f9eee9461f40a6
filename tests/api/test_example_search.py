"""GET /api/v1/projects/{id}/examples/ searched and filtered (API.md: q, shape, metadata.<key>, status; and
answer.<question>, disagreement.<question>)."""

from __future__ import annotations

import pytest

from annotate import search
from annotate.models import Example
from curation.models import Job
from curation.tasks import run_search_index
from tests.conftest import ROLES
from tests.factories import ExampleFactory, ProjectFactory


def found(client, project, **params):
    response = client.get(f"/api/v1/projects/{project.pk}/examples/", params)
    assert response.status_code == 200, response.content
    return [example["external_id"] for example in response.json()["results"]]


def refused(client, project, **params):
    response = client.get(f"/api/v1/projects/{project.pk}/examples/", params)
    assert response.status_code == 400, response.content
    return response.json()["error"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("reverse", ["code"]),
        ("OSLO", ["weather"]),  # any case
        ("get_weather", ["weather"]),  # tool names and arguments are text too
        ("celsius", ["weather"]),
        ("fox dog", ["fox"]),  # every word
        ("fox -dog", []),
        ("fox or reverse", ["code", "fox"]),
        ('"language model"', ["refusal"]),  # a phrase
        ('"model language"', []),
        ("café", ["fox"]),
        ("items", ["code"]),  # inside a code block
        ("nowhere", []),
    ],
)
def test_it_searches_the_content(api_as, project, searchable, q, expected):
    assert found(api_as("reviewer"), project, q=q) == expected


def test_it_does_not_search_the_content_keys(api_as, project, searchable):
    assert found(api_as("reviewer"), project, q="prompt") == []
    assert found(api_as("reviewer"), project, q="messages") == []


def test_it_filters_by_shape(api_as, project, searchable):
    client = api_as("reviewer")
    assert found(client, project, shape="chat") == ["weather"]
    assert found(client, project, shape="instruction") == ["code", "refusal"]
    assert found(client, project, shape="preference") == ["pair"]


def test_it_filters_by_metadata(api_as, project, searchable):
    client = api_as("reviewer")
    assert found(client, project, **{"metadata.lang": "en"}) == ["code", "fox", "pair"]
    assert found(client, project, **{"metadata.lang": "en", "metadata.source": "forum"}) == ["pair"]
    assert found(client, project, **{"metadata.lang": "xx"}) == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("unlabelled", ["refusal"]),
        ("in_progress", ["pair"]),
        ("complete", ["code", "weather", "fox"]),
        ("resolved", ["code"]),
    ],
)
def test_it_filters_by_status(api_as, project, searchable, status, expected):
    assert found(api_as("reviewer"), project, status=status) == expected


def test_it_filters_by_an_answer(api_as, project, searchable):
    client = api_as("reviewer")
    assert found(client, project, **{"answer.topic": "general"}) == ["code"]
    assert found(client, project, **{"answer.topic": "math"}) == ["code", "weather", "fox"]
    assert found(client, project, **{"answer.quality": "3"}) == ["code", "weather", "fox"]
    assert found(client, project, **{"answer.quality": "5"}) == []


def test_it_filters_by_disagreement(api_as, project, searchable):
    client = api_as("reviewer")
    assert found(client, project, **{"disagreement.topic": "0"}) == ["code", "fox"]
    assert found(client, project, **{"disagreement.topic": "0.9"}) == ["code"]
    assert found(client, project, **{"disagreement.quality": "0"}) == []


def test_it_combines_filters(api_as, project, searchable):
    client = api_as("reviewer")
    assert found(client, project, q="the", **{"metadata.lang": "en"}) == ["fox"]
    assert found(client, project, q="the", status="complete", **{"answer.topic": "code"}) == ["fox"]
    assert found(client, project, shape="instruction", status="unlabelled", q='"AI language"') == ["refusal"]
    assert found(client, project, shape="text", **{"disagreement.topic": "0", "metadata.lang": "en"}) == ["fox"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"shape": "poem"}, "shape"),
        ({"status": "done"}, "status"),
        ({"q": "!!!"}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"metadata.7": "x"}, "metadata.7"),
        ({"answer.nope": "x"}, "answer.nope"),
        ({"answer.topic": "poetry"}, "answer.topic"),
        ({"answer.quality": "9"}, "answer.quality"),
        ({"answer.quality": "three"}, "answer.quality"),
        ({"disagreement.topic": "2"}, "disagreement.topic"),
        ({"disagreement.topic": "nan"}, "disagreement.topic"),
        ({"disagreement.topic": "much"}, "disagreement.topic"),
        ({"disagreement.nope": "0.5"}, "disagreement.nope"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api_as, project, searchable, params, parameter):
    error = refused(api_as("reviewer"), project, **params)

    assert error["code"] == "invalid"
    assert error["message"].startswith(f"{parameter}: ")
    assert parameter in error["details"]


def test_a_text_question_has_no_disagreement_filter(api_as, project, searchable):
    from tests.factories import QuestionFactory

    QuestionFactory(project=project, name="why", kind="text", options={}, level=None)
    error = refused(api_as("reviewer"), project, **{"disagreement.why": "0"})
    assert "not measured" in error["message"]


def test_filtered_pages_follow_the_cursor(api_as, project):
    for n in range(7):
        ExampleFactory(project=project, external_id=f"n{n}", content={"text": f"needle {n}" if n % 2 else "hay"})
    client = api_as("reviewer")

    first = client.get(f"/api/v1/projects/{project.pk}/examples/", {"q": "needle", "page_size": 2}).json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()

    assert [e["external_id"] for e in first["results"]] == ["n1", "n3"]
    assert [e["external_id"] for e in second["results"]] == ["n5"] and second["next"] is None
    assert [e["external_id"] for e in back["results"]] == ["n1", "n3"]


def test_a_phrase_search_pages_through_candidates_whose_words_stand_apart(api_as, project):
    # Every example holds both words; only some hold them side by side.
    for n in range(9):
        text = "alpha beta" if n % 3 == 0 else "beta then alpha"
        ExampleFactory(project=project, external_id=f"p{n}", content={"text": text})
    client = api_as("reviewer")

    first = client.get(f"/api/v1/projects/{project.pk}/examples/", {"q": '"alpha beta"', "page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [e["external_id"] for e in first["results"]] == ["p0", "p3"]
    assert [e["external_id"] for e in second["results"]] == ["p6"] and second["next"] is None


def test_a_forged_cursor_is_a_404(api_as, project, searchable):
    response = api_as("reviewer").get(f"/api/v1/projects/{project.pk}/examples/", {"cursor": "eyJ4IjogMX0="})
    assert response.status_code == 404


@pytest.mark.parametrize(("role", "expected"), zip(ROLES, (200, 200, 403, 404, 401), strict=True))
def test_the_filtered_list_answers_each_role(api_as, project, searchable, role, expected):
    response = api_as(role).get(f"/api/v1/projects/{project.pk}/examples/", {"q": "fox", "status": "complete"})
    assert response.status_code == expected
    if expected == 200:
        assert [e["external_id"] for e in response.json()["results"]] == ["fox"]


def test_a_bad_filter_from_someone_who_may_not_look_is_not_a_400(api_as, project, searchable):
    # Access first: a filter's error never tells an outsider the project exists.
    assert api_as("outsider").get(f"/api/v1/projects/{project.pk}/examples/", {"shape": "poem"}).status_code == 404


# The fallback without full-text search (SQLite) --------------------------------------------------------------


def test_the_search_terms_read_words_phrases_and_exclusions():
    assert search.search_terms('fox "lazy dog" -cat or "" -"big bad"') == [
        ("fox", False),
        ("lazy dog", False),
        ("cat", True),
        ("big bad", True),
    ]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("FOX", ["fox"]),
        ('"lazy dog"', ["fox"]),
        ("fox -dog", []),
        ("café", ["fox"]),  # stored as a JSON escape in SQLite's JSON text
        ("Oslo weather", ["weather"]),
    ],
)
def test_the_fallback_matches_words_as_substrings(project, searchable, q, expected):
    rows = search.matching_text(Example.objects.for_project(project), q, vendor="sqlite")
    assert list(rows.order_by("pk").values_list("external_id", flat=True)) == expected


# Examples whose index job has not run yet (curation/services/search_index.py) --------------------------------


def waiting_to_be_indexed(project, *texts):
    """Examples as an import leaves them: not in the search table, with a queued index job counting them."""
    made = [ExampleFactory(project=project, content={"text": text}, searchable=False) for text in texts]
    ids = [example.pk for example in made]
    return Job.objects.create(
        kind=Job.Kind.SEARCH_INDEX,
        project=project,
        params={"ranges": [[min(ids), max(ids)]], "examples": len(ids)},
        progress_total=len(ids),
    )


def test_a_search_says_how_many_examples_it_cannot_find_yet(api_as, project, searchable):
    waiting_to_be_indexed(project, "the fox again", "and again")

    body = api_as("reviewer").get(f"/api/v1/projects/{project.pk}/examples/", {"q": "fox"}).json()

    assert [e["external_id"] for e in body["results"]] == ["fox"]
    assert body["search_pending"] == 2


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])  # jobs report on their own connection
def test_the_examples_are_found_once_their_index_job_has_run(api_as, project, searchable):
    job = waiting_to_be_indexed(project, "the fox again")

    run_search_index(job.pk)

    body = api_as("reviewer").get(f"/api/v1/projects/{project.pk}/examples/", {"q": "fox"}).json()
    assert len(body["results"]) == 2 and body["search_pending"] == 0


def test_a_list_without_a_search_says_nothing_of_the_index(api_as, project, searchable):
    waiting_to_be_indexed(project, "the fox again")

    body = api_as("reviewer").get(f"/api/v1/projects/{project.pk}/examples/", {"shape": "text"}).json()

    assert "search_pending" not in body
    assert len(body["results"]) == 2  # filters other than the words read the examples themselves


def test_finished_index_jobs_leave_nothing_pending(api_as, project, searchable):
    job = waiting_to_be_indexed(project, "the fox again")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED)

    body = api_as("reviewer").get(f"/api/v1/projects/{project.pk}/examples/", {"q": "fox"}).json()

    assert body["search_pending"] == 0


def test_a_search_finds_only_the_projects_own_examples(api_as, project, searchable):
    ExampleFactory(project=ProjectFactory(), content={"text": "another fox"})
    elsewhere = ProjectFactory()
    waiting_to_be_indexed(elsewhere, "a third fox")

    body = api_as("reviewer").get(f"/api/v1/projects/{project.pk}/examples/", {"q": "fox"}).json()

    assert [e["external_id"] for e in body["results"]] == ["fox"]
    assert body["search_pending"] == 0  # another project's index job is not this one's


@pytest.mark.parametrize(("role", "expected"), zip(ROLES, (200, 200, 403, 404, 401), strict=True))
def test_what_is_pending_answers_each_role_as_the_list_does(api_as, project, searchable, role, expected):
    waiting_to_be_indexed(project, "the fox again")

    response = api_as(role).get(f"/api/v1/projects/{project.pk}/examples/", {"q": "fox"})

    assert response.status_code == expected
    assert ("search_pending" in response.json()) == (expected == 200)
