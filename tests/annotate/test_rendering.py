"""Example content as the pages render it (annotate/rendering.py): Markdown sanitised, code highlighted with
classes, tool calls and results as labelled blocks, everything user-supplied escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.template.loader import render_to_string

from annotate import rendering

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
STATIC = Path(__file__).resolve().parents[2] / "static"


def assert_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert "onerror=" not in lowered.replace("onerror=alert(1)&gt;", "")  # only as escaped text
    assert "style=" not in lowered
    assert "javascript:" not in lowered


def test_it_renders_markdown():
    html = rendering.render_text("Some **bold** and `code`.\n\n- one\n- two")

    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<li>one</li>" in html


def test_it_highlights_a_fenced_code_block_with_classes_only():
    html = rendering.render_text("Try:\n\n```python\ndef add(a, b):\n    return a + b\n```\n")

    assert '<div class="highlight"><pre>' in html
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">add</span>' in html
    assert "style=" not in html


def test_it_keeps_a_code_block_in_an_unknown_language_unhighlighted():
    html = rendering.render_text("```klingon\nqapla' <b>\n```")

    assert '<div class="highlight">' in html
    assert "qapla" in html and "&lt;b&gt;" in html


def test_it_shows_raw_html_in_content_as_text():
    html = rendering.render_text(f"Look: {XSS_SCRIPT} {XSS_IMG}")

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert_inert(html)


def test_it_drops_dangerous_links_and_images():
    html = rendering.render_text("[click](javascript:alert(1)) ![x](https://example.com/x.png) <https://ok.example>")

    assert "javascript:" not in html
    assert "<img" not in html
    assert 'href="https://ok.example"' in html and "nofollow" in html


def test_it_keeps_only_pygments_classes():
    # A text cannot smuggle markup in (it is escaped), and classes survive only on highlighted code.
    html = rendering.sanitise('<span class="k evil">x</span><div class="highlight other">y</div><p class="z">z</p>')

    assert html == '<span class="k">x</span><div class="highlight">y</div><p>z</p>'


def test_it_escapes_code_blocks():
    html = rendering.render_text(f"```html\n{XSS_SCRIPT}\n{XSS_IMG}\n```")

    assert_inert(html)
    assert "alert" in html


def test_it_shows_a_very_long_text_as_plain_text():
    text = "# not a heading\n" + "word " * (rendering.MARKDOWN_LIMIT // 5) + XSS_SCRIPT

    html = rendering.render_text(text)

    assert html.startswith('<div class="plain-text"># not a heading')
    assert "&lt;script&gt;" in html


def test_it_renders_json_values_pretty_printed():
    html = rendering.render_text({"a": [1, 2]})

    assert '<div class="highlight">' in html
    assert '"a"' in html and "\n<span" in html


def test_a_tool_call_has_its_name_and_pretty_printed_arguments():
    calls = [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]

    [call] = rendering.tool_calls(calls)

    assert call.name == "get_weather"
    assert call.id == "call_1"
    # Decoded and indented: the key and the value are tokens of their own, not one string.
    assert '<span class="nt">"city"</span>' in call.arguments
    assert '<span class="s2">"Oslo"</span>' in call.arguments


def test_a_tool_call_in_the_flat_shape_and_with_arguments_that_are_not_json():
    flat, broken = rendering.tool_calls(
        [{"name": "lookup", "arguments": {"q": 1}}, {"function": {"name": "f", "arguments": "{oops"}}]
    )

    assert flat.name == "lookup" and '"q"' in flat.arguments
    assert broken.name == "f" and str(broken.arguments) == '<pre class="tool-arguments">{oops</pre>'


def test_a_tool_result_in_json_is_pretty_printed_and_other_output_preformatted():
    as_json = rendering.tool_result('{"temperature": 4, "unit": "C"}')
    as_text = rendering.tool_result(f"4°C, rain {XSS_IMG}")

    assert '<div class="highlight">' in as_json and '<span class="nt">"temperature"</span>' in as_json
    assert str(as_text) == '<pre class="tool-output">4°C, rain &lt;img src=x onerror=alert(1)&gt;</pre>'


@pytest.mark.parametrize("field", ["name", "arguments", "id"])
def test_hostile_tool_calls_are_escaped(field):
    function = {"name": "ok", "arguments": json.dumps({"x": "y"})}
    call = {"id": "call_1", "function": function}
    if field == "id":
        call["id"] = f"{XSS_SCRIPT}{XSS_IMG}"
    else:
        function[field] = f"{XSS_SCRIPT}{XSS_IMG}"
    message = {"role": "assistant", "content": None, "tool_calls": [call]}

    html = render_to_string("annotate/_messages.html", {"messages": [message]})

    assert_inert(html)
    assert "&lt;script&gt;" in html


def test_the_messages_partial_labels_tool_calls_and_results():
    messages = [
        {"role": "user", "content": "Weather in **Oslo**?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"c": 4}'},
    ]

    html = render_to_string("annotate/_messages.html", {"messages": messages})

    assert "<strong>Oslo</strong>" in html
    assert 'Tool call <code class="tool-call__name">get_weather</code>' in html
    assert "Tool result · <code>get_weather</code>" in html and "for call call_1" in html
    assert '<div class="tool-result" data-collapsible><div class="highlight">' in html


def test_hostile_roles_names_and_tool_results_are_escaped():
    hostile = f"{XSS_SCRIPT}{XSS_IMG}"
    messages = [
        {"role": f'x" onclick="{hostile}', "content": hostile, "name": hostile},
        {"role": "tool", "tool_call_id": hostile, "name": hostile, "content": hostile},
        {"role": "tool", "content": json.dumps({"k": hostile})},
    ]

    html = render_to_string("annotate/_messages.html", {"messages": messages})

    assert_inert(html)
    assert 'onclick="' not in html


def test_the_static_stylesheet_is_the_one_pygments_writes():
    # static/pygments.css is generated once; regenerate it with annotate.rendering.stylesheet() after a
    # Pygments upgrade.
    assert (STATIC / "pygments.css").read_text() == rendering.stylesheet()
    assert "style" not in rendering.stylesheet().split("*/", 1)[1].replace("font-style", "")
