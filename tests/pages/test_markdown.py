from __future__ import annotations

import pytest

from annotate.markdown import render_markdown


def test_it_renders_markdown_formatting():
    html = render_markdown("# Title\n\n**bold** and `code`\n\n- one\n- two\n\n[docs](https://example.com/a?b=1)")

    assert "<h3>Title</h3>" in html
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<li>one</li>" in html
    assert 'href="https://example.com/a?b=1"' in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<p onclick="alert(1)">x</p>',
        '<iframe src="https://evil.example"></iframe>',
        '<td style="background:url(javascript:alert(1))">x</td>',
        "<style>body{display:none}</style>",
    ],
)
def test_it_leaves_nothing_active(text):
    html = render_markdown(text).lower()

    for dangerous in ("<script", "alert(1)", "onerror", "onclick", "javascript:", "data:", "<iframe", "<style"):
        assert dangerous not in html
