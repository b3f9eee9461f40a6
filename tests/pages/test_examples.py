from __future__ import annotations

from django.urls import reverse

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

    assert [example.external_id for example in response.context["page"]] == ["pair"]


def test_it_ignores_an_unknown_shape_filter(client_as, project):
    ExampleFactory.create_batch(2, project=project)

    response = examples_page(client_as("reviewer"), project, shape="nonsense")

    assert response.context["shape"] == ""
    assert len(response.context["page"]) == 2


def test_it_paginates_by_25(client_as, project):
    ExampleFactory.create_batch(30, project=project)
    client = client_as("manager")

    first = examples_page(client, project)
    second = examples_page(client, project, page=2)

    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 5
    assert "?page=2" in first.content.decode()


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
        assert [(example.external_id, example.shape) for example in page] == [(shape, shape)]
