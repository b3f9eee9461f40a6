from __future__ import annotations

import pytest
from django.urls import reverse

from curation.models import Job
from tests.conftest import ROLES
from tests.factories import ExampleFactory

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"


def examples_page(client, project, **params):
    return client.get(reverse("annotate:example_list", args=[project.pk]), params)


def test_it_shows_each_shape_readably(client_as, project):
    ExampleFactory(project=project, external_id="t1", content={"text": "line one\n  indented"})
    ExampleFactory(
        project=project,
        external_id="i1",
        content={"system": "Be terse.", "prompt": "Capital of France?", "response": "Paris."},
        metadata={"source": "unit-test", "tags": ["geo"]},
    )
    ExampleFactory(
        project=project,
        external_id="c1",
        content={
            "messages": [
                {"role": "user", "content": "Weather in Oslo?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "4°C, rain"},
                {"role": "assistant", "content": "It is 4°C and raining."},
            ]
        },
    )
    ExampleFactory(project=project, external_id="k1", content={"prompt": "Pick one", "responses": ["first", "second"]})
    ExampleFactory(project=project, external_id="p1", content={"prompt": "Q?", "chosen": "good", "rejected": "bad"})
    ExampleFactory(
        project=project,
        external_id="p2",
        content={
            "prompt": [{"role": "user", "content": "Hi?"}],
            "chosen": [{"role": "assistant", "content": "Hello!"}],
            "rejected": [{"role": "assistant", "content": "Go away."}],
        },
    )

    response = examples_page(client_as("reviewer"), project)

    html = response.content.decode()
    assert response.status_code == 200
    assert "line one\n  indented" in html
    assert "Be terse." in html and "Capital of France?" in html and "Paris." in html
    assert "source" in html and "unit-test" in html and "[&quot;geo&quot;]" in html
    assert "turn--tool" in html and "4°C, rain" in html
    assert 'Tool call <code class="tool-call__name">get_weather</code>' in html
    assert '<span class="nt">"city"</span>' in html  # arguments decoded, indented and highlighted
    assert "Response A</h3>" in html and "Response B</h3>" in html  # candidates are lettered
    assert "Chosen" in html and "Rejected" in html and "Hello!" in html and "Go away." in html
    for external_id in ("t1", "i1", "c1", "k1", "p1", "p2"):
        assert f"<code>{external_id}</code>" in html


def test_it_filters_by_shape(client_as, project):
    ExampleFactory(project=project, external_id="plain", content={"text": "just text"})
    ExampleFactory(project=project, external_id="pair", content={"prompt": "p", "chosen": "c", "rejected": "r"})

    response = examples_page(client_as("reviewer"), project, shape="preference")

    assert [example.external_id for example in response.context["page"].examples] == ["pair"]


def test_it_reports_an_unknown_shape_filter_and_leaves_it_out(client_as, project):
    ExampleFactory.create_batch(2, project=project)

    response = examples_page(client_as("reviewer"), project, shape="nonsense")

    assert response.status_code == 200
    assert response.context["errors"] == {"shape": "must be one of text, instruction, chat, candidates, preference"}
    assert "Some filters were left out" in response.content.decode()
    assert len(response.context["page"].examples) == 2


def test_it_pages_by_25_with_a_keyset(client_as, project):
    made = ExampleFactory.create_batch(30, project=project)
    client = client_as("manager")

    first = examples_page(client, project)
    second = examples_page(client, project, after=made[24].pk)

    assert len(first.context["page"].examples) == 25
    assert len(second.context["page"].examples) == 5
    assert f"?after={made[24].pk}" in first.content.decode()
    assert f"?before={made[25].pk}" in second.content.decode()
    assert "30 examples in" in first.content.decode()


def test_it_shows_only_this_projects_examples(client_as, project):
    ExampleFactory(project=project, external_id="mine")
    ExampleFactory(external_id="elsewhere")  # in a project of its own

    html = examples_page(client_as("reviewer"), project).content.decode()

    assert "mine" in html
    assert "elsewhere" not in html


def test_it_escapes_hostile_content_in_every_shape(client_as, project):
    hostile = f"{XSS_SCRIPT} {XSS_IMG}"
    ExampleFactory(project=project, external_id=XSS_IMG, content={"text": hostile}, metadata={XSS_SCRIPT: hostile})
    ExampleFactory(project=project, content={"system": hostile, "prompt": hostile, "response": hostile})
    ExampleFactory(
        project=project,
        content={
            "messages": [
                {"role": "user", "content": hostile, "name": XSS_IMG},
                {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": hostile}}]},
            ],
            "tools": [{"name": hostile}],
        },
    )
    ExampleFactory(project=project, content={"prompt": hostile, "responses": [hostile, hostile]})
    ExampleFactory(project=project, content={"prompt": hostile, "chosen": hostile, "rejected": hostile})

    html = examples_page(client_as("reviewer"), project).content.decode()

    assert XSS_SCRIPT not in html
    assert XSS_IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_it_filters_every_shape_the_way_shape_of_names_it(client_as, project):
    contents = {
        "text": {"text": "t"},
        "instruction": {"prompt": "p", "response": "r"},
        "chat": {"messages": [{"role": "user", "content": "hi"}]},
        "candidates": {"prompt": "p", "responses": ["a", "b"]},
        "preference": {"prompt": "p", "chosen": "c", "rejected": "r"},
    }
    for shape, content in contents.items():
        ExampleFactory(project=project, external_id=shape, content=content)
    client = client_as("reviewer")

    for shape in contents:
        page = examples_page(client, project, shape=shape).context["page"]
        assert [(example.external_id, example.shape) for example in page.examples] == [(shape, shape)]


# Search and filters (annotate/search.py) ---------------------------------------------------------------------


def listed(response):
    assert response.status_code == 200
    return [example.external_id for example in response.context["page"].examples]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "reverse"}, ["code"]),
        ({"q": '"language model"'}, ["refusal"]),
        ({"shape": "chat"}, ["weather"]),
        ({"status": "unlabelled"}, ["refusal"]),
        ({"status": "in_progress"}, ["pair"]),
        ({"status": "complete"}, ["code", "weather", "fox"]),
        ({"status": "resolved"}, ["code"]),
        ({"key": "lang", "value": "en"}, ["code", "fox", "pair"]),
        ({"question": "topic", "answer": "general"}, ["code"]),
        ({"question": "topic", "disagreement": "0"}, ["code", "fox"]),
        ({"question": "topic", "disagreement": "0.75"}, ["code"]),
        ({"q": "the", "key": "lang", "value": "en", "status": "complete"}, ["fox"]),
    ],
)
def test_it_searches_and_filters(client_as, project, searchable, params, expected):
    assert listed(examples_page(client_as("reviewer"), project, **params)) == expected


def test_the_filters_stay_in_the_form_and_the_page_links(client_as, project):
    made = [ExampleFactory(project=project, content={"text": f"needle {n}"}) for n in range(30)]

    html = examples_page(client_as("reviewer"), project, q="needle", shape="text").content.decode()

    assert 'name="q" value="needle"' in html
    assert '<option value="text" selected>text</option>' in html
    assert f"?q=needle&amp;shape=text&amp;after={made[24].pk}" in html
    assert "Examples matching these filters, in the order they were imported (more on the next pages)." in html


def test_a_filtered_list_on_one_page_is_counted(client_as, project, searchable):
    html = examples_page(client_as("reviewer"), project, key="lang", value="en").content.decode()

    assert "3 examples match these filters" in html


def test_it_counts_no_further_than_a_thousand(client_as, project, monkeypatch):
    from annotate import browse

    monkeypatch.setattr(browse, "COUNT_UP_TO", 3)
    ExampleFactory.create_batch(5, project=project)

    html = examples_page(client_as("reviewer"), project).content.decode()

    assert "3+ examples in" in html


@pytest.mark.parametrize(
    ("params", "reported"),
    [
        ({"status": "done"}, "status"),
        ({"q": "!!!"}, "q"),
        ({"question": "topic", "answer": "poetry"}, "answer"),
        ({"answer": "code"}, "question"),
        ({"question": "topic", "disagreement": "lots"}, "disagreement"),
        ({"key": "7", "value": "x"}, "key"),
    ],
)
def test_a_bad_filter_is_reported_and_the_rest_still_apply(client_as, project, searchable, params, reported):
    response = examples_page(client_as("reviewer"), project, shape="chat", **params)

    assert reported in response.context["errors"]
    assert listed(response) == ["weather"]


def test_a_search_in_hostile_text_is_shown_escaped(client_as, project):
    ExampleFactory(project=project, content={"text": f"needle {XSS_SCRIPT}"})

    html = examples_page(client_as("reviewer"), project, q=f"needle {XSS_IMG}").content.decode()

    assert XSS_IMG not in html and XSS_SCRIPT not in html


@pytest.mark.parametrize(("role", "expected"), zip(ROLES, (200, 200, 403, 404, 302), strict=True))
def test_the_filtered_page_answers_each_role(client_as, project, searchable, role, expected):
    response = examples_page(client_as(role), project, q="fox", status="complete")

    assert response.status_code == expected
    if expected == 200:
        assert listed(response) == ["fox"]


# Examples waiting for their index job ------------------------------------------------------------------------


def waiting_to_be_indexed(project, count):
    made = [ExampleFactory(project=project, content={"text": "fox"}, searchable=False) for _ in range(count)]
    Job.objects.create(
        kind=Job.Kind.SEARCH_INDEX,
        project=project,
        params={"ranges": [[made[0].pk, made[-1].pk]], "examples": count},
        progress_total=count,
        progress_done=1,
    )


def test_a_search_says_how_many_examples_are_not_searchable_yet(client_as, project, searchable):
    waiting_to_be_indexed(project, 4)

    response = examples_page(client_as("reviewer"), project, q="fox")

    assert listed(response) == ["fox"]
    assert "3 examples imported recently are not yet searchable; indexing is in progress." in response.content.decode()


def test_the_page_says_nothing_of_the_index_without_a_search_or_when_it_is_done(client_as, project, searchable):
    client = client_as("reviewer")
    assert "not yet searchable" not in examples_page(client, project, q="fox").content.decode()

    waiting_to_be_indexed(project, 2)

    assert "not yet searchable" not in examples_page(client, project, shape="text").content.decode()
