"""The clean step: each rule's rewrite, the fixed order, the counts, and the records left alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.steps import clean
from curation.steps.base import StepOptionError
from curation.steps.clean import (
    SPECIAL_TOKENS,
    fix_unicode,
    normalize_whitespace,
    strip_special_tokens,
)
from curation.steps.markup import strip_html, strip_markdown
from tests.curation.steps.examples import assert_json_ready, every_shape, frozen, record

ALL_RULES = ["fix_unicode", "strip_special_tokens", "strip_html", "strip_markdown", "normalize_whitespace"]


def run(rules: list[str], records):
    return clean.apply(records, clean.validate({"rules": rules}), {})


# --- validate --------------------------------------------------------------------------------------------------


def test_it_puts_the_rules_in_their_fixed_order_once_each():
    options = clean.validate({"rules": ["normalize_whitespace", "strip_html", "fix_unicode", "strip_html"]})

    assert options == {"rules": ["fix_unicode", "strip_html", "normalize_whitespace"]}


def test_it_names_the_unknown_rule_by_its_position():
    with pytest.raises(StepOptionError) as error:
        clean.validate({"rules": ["strip_html", "strip_emoji"]})

    assert error.value.option == "rules[1]"
    assert "normalize_whitespace" in error.value.message


@pytest.mark.parametrize("options", [{}, {"rules": []}, {"rules": "strip_html"}])
def test_it_requires_a_list_of_rules(options):
    with pytest.raises(StepOptionError) as error:
        clean.validate(options)

    assert error.value.option == "rules"


def test_it_rejects_an_unknown_option():
    with pytest.raises(StepOptionError) as error:
        clean.validate({"rules": ["strip_html"], "aggressive": True})

    assert error.value.option == "aggressive"


# --- strip_html ------------------------------------------------------------------------------------------------


def test_it_keeps_the_text_of_html_and_drops_scripts_and_styles():
    html = "<p>Hello <b>world</b>!</p><script>alert(1)</script><style>p{color:red}</style><p>Bye &amp; thanks</p>"

    assert strip_html(html) == "Hello world!\n\nBye & thanks"


def test_it_keeps_the_line_breaks_of_preformatted_code():
    html = "<p>Run:</p><pre><code>def f(x):\n    return x &lt; 2\n</code></pre>"

    assert strip_html(html) == "Run:\n\ndef f(x):\n    return x < 2"


def test_it_puts_list_items_rows_and_breaks_on_lines_and_cells_apart_by_tabs():
    html = (
        "<ul><li>one</li><li>two</li></ul>a<br>b"
        "<table><tr><th>k</th><th>v</th></tr><tr><td>x</td><td>1</td></tr></table>"
    )

    assert strip_html(html) == "one\ntwo\n\na\nb\n\nk\tv\nx\t1"


@pytest.mark.parametrize(
    "text",
    [
        "if a < b then",
        "x<y and y>z",
        "List<String> names = new ArrayList<>();",
        "a<b && c>d",
        "Tom &amp; Jerry",
        "Replace <name> with yours.",
        "<s>[INST] hi [/INST]",
        "",
    ],
)
def test_it_leaves_text_without_html_tags_alone(text):
    assert strip_html(text) == text


def test_it_keeps_comparisons_inside_html_as_text():
    assert strip_html("<p>if x<y and a < b</p>") == "if x<y and a < b"


def test_it_keeps_markdown_code_that_shows_html():
    text = "Use `<br>` for a break:\n\n```html\n<p>Hi</p>\n```\n<p>Done</p>"

    assert strip_html(text) == "Use `<br>` for a break:\n\n```html\n<p>Hi</p>\n```\n\nDone"


@given(st.text())
def test_markup_strippers_take_any_text(text):
    strip_markdown(text)
    strip_special_tokens(text)
    html = strip_html(text)
    if "<" not in text:
        assert html == text


def test_it_drops_html_comments():
    assert strip_html("<!-- note -->Text") == "Text"


# --- strip_markdown --------------------------------------------------------------------------------------------


def test_it_turns_markdown_into_its_text():
    text = (
        "# Title\n\n"
        'Some **bold**, *italic*, _em_, ~~old~~ and [a link](https://example.com "t") ![a cat](cat.png).\n\n'
        "- one\n* two\n  + nested\n- [x] done\n\n"
        "1. first\n2. second\n\n"
        "> quoted\n\n"
        "---\n"
        "Setext\n======\n"
        "| a | b |\n|---|:-:|\n| 1 | 2 |"
    )

    assert strip_markdown(text) == (
        "Title\n\n"
        "Some bold, italic, em, old and a link a cat.\n\n"
        "one\ntwo\nnested\ndone\n\n"
        "1. first\n2. second\n\n"
        "quoted\n\n"
        "Setext\n"
        "a\tb\n1\t2"
    )


def test_it_keeps_fenced_code_verbatim():
    text = "Intro **x**\n\n```python\n# not a heading\nprint(a*b*c, **kw)\n- not a bullet\n```\n\n~~~\n_x_\n~~~"

    assert (
        strip_markdown(text)
        == "Intro x\n\n```python\n# not a heading\nprint(a*b*c, **kw)\n- not a bullet\n```\n\n~~~\n_x_\n~~~"
    )


def test_it_keeps_an_unclosed_fence_to_the_end():
    assert strip_markdown("```\n# code\n**x**") == "```\n# code\n**x**"


def test_it_keeps_inline_code_text_without_backticks():
    assert strip_markdown("Call `**kwargs` or `` a`b ``.") == "Call **kwargs or a`b."


@pytest.mark.parametrize(
    "text",
    [
        "2 * 3 * 4 = 24",
        "a*b*c",
        "snake_case_name and _private_var",
        "def __init__(self):",
        "#hashtag and C# and #1",
        "Costs $5 - $10.",
        "\\(x^2\\) and \\[y\\]",
        "<b>html stays</b>",
    ],
)
def test_it_leaves_what_is_not_markdown_alone(text):
    assert strip_markdown(text) == text


def test_it_stays_linear_on_a_long_line_of_stray_stars():
    text = "*a " * 50_000

    assert strip_markdown(text) == text  # would take minutes if each star looked to the end of the line


# --- normalize_whitespace, fix_unicode, strip_special_tokens ---------------------------------------------------


def test_it_normalises_whitespace():
    text = "\n \nline one  \r\nline\u00a0two\u200b\t\r\n\n\n\n  indented\u2003x  \n\n"

    assert normalize_whitespace(text) == "line one\nline two\n\n  indented x"


def test_it_keeps_a_leading_space_and_joiners():
    assert normalize_whitespace(" blue.") == " blue."
    assert normalize_whitespace("👩\u200d💻 and \u3000全角") == "👩\u200d💻 and \u3000全角"


@given(st.text(alphabet=st.sampled_from(list("ab \t\n\r\u00a0\u200b\u2028\u3000\x0c"))))
def test_normalize_whitespace_is_idempotent(text):
    once = normalize_whitespace(text)

    assert normalize_whitespace(once) == once
    assert "\r" not in once and "\u00a0" not in once and "\n\n\n" not in once
    assert once == once.rstrip()


def test_it_repairs_mojibake():
    assert fix_unicode("The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.") == "The Mona Lisa doesn’t have eyebrows."


def test_it_keeps_correct_curly_quotes_and_full_width_punctuation():
    text = "“Quoted” — 你好，世界！"

    assert fix_unicode(text) == text


@pytest.mark.parametrize("token", SPECIAL_TOKENS)
def test_it_strips_every_listed_special_token(token):
    assert strip_special_tokens(f"Hello {token} world{token}") == "Hello world"


def test_it_strips_a_turn_header_with_its_role():
    text = "<|begin_of_text|><|start_header_id|>assistant<|end_header_id|>\n\nHi.<|eot_id|>"

    assert strip_special_tokens(text) == "Hi."
    assert strip_special_tokens("<|im_start|>user\nHello<|im_end|>") == "Hello"
    assert strip_special_tokens("<start_of_turn>model\nHi<end_of_turn>") == "Hi"


def test_it_strips_unlisted_tokens_of_the_same_form():
    assert strip_special_tokens("a <|reserved_special_token_7|> b <｜tool▁calls▁begin｜>") == "a b"


@pytest.mark.parametrize("text", ["[INSTRUCTIONS] here", "a <span> b", "x <| y |> z", "  keep my spaces  "])
def test_it_leaves_text_without_special_tokens_alone(text):
    assert strip_special_tokens(text) == text


# --- the step --------------------------------------------------------------------------------------------------


def test_it_applies_the_rules_in_the_fixed_order_whatever_the_order_given():
    # &nbsp; becomes U+00A0 only once the HTML is stripped; whitespace normalisation, last, turns it into a space.
    out = run(["normalize_whitespace", "strip_html"], [record({"text": "<div>a&nbsp;b</div>"})])

    assert out.kept[0]["content"] == {"text": "a b"}


def test_it_counts_changed_records_and_what_each_rule_changed():
    records = [
        record({"text": "<b>bold</b>"}, id=1),
        record({"text": "trailing  "}, id=2),
        record({"text": "<i>x</i>  "}, id=3),
        record({"text": "clean"}, id=4),
    ]

    out = run(["strip_html", "normalize_whitespace", "strip_markdown"], records)

    assert [r["content"]["text"] for r in out.kept] == ["bold", "trailing", "x", "clean"]
    assert (out.changed, out.stats, out.dropped) == (
        3,
        {"strip_html": 2, "strip_markdown": 0, "normalize_whitespace": 2},
        [],
    )


def test_it_passes_unchanged_records_through_and_copies_changed_ones():
    records = [record({"text": "clean"}, id=1), record({"text": "dirty  "}, id=2)]
    before = frozen(records)

    out = run(["normalize_whitespace"], records)

    assert out.kept[0] is records[0]
    assert out.kept[1] is not records[1]
    assert frozen(records) == before


def test_it_cleans_every_shape_and_leaves_tool_calls_alone():
    records = every_shape()
    before = frozen(records)

    out = run(ALL_RULES, records)

    assert frozen(records) == before
    assert [r["id"] for r in out.kept] == [1, 2, 3, 4, 5]
    text, instruction, chat, candidates, preference = (r["content"] for r in out.kept)
    assert text == {"text": "Once upon a time there was a cat.\n\nThe end."}
    assert instruction["prompt"] == "Add 2 and 2, then mail alice@example.com."
    assert instruction["response"] == "4"
    assert chat["messages"][2] == records[2]["content"]["messages"][2]  # content None, tool call as it was
    assert chat["messages"][4] == {"role": "assistant", "content": "It is 4."}
    assert chat["tools"] == records[2]["content"]["tools"]
    assert candidates["responses"] == ["Blue", "Red", "green"]
    assert preference == records[4]["content"]
    assert out.changed == 4
    assert_json_ready(out.stats)
