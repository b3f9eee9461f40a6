"""What the inspection statistics measure in one text: the token estimate, artefacts, language, the prompt's
opening words and its verb–object pair."""

from __future__ import annotations

import pytest

from curation.stats.text import (
    NO_LANGUAGE,
    artefacts,
    language,
    opening_words,
    prompt_text,
    token_estimate,
    verb_object,
    word_count,
)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("Hello, world!", 4),  # Hello | , | ␠world | !
        ("I'm fine", 3),  # I | 'm | ␠fine
        ("12345", 2),  # 123 | 45
        ("internationalization", 3),  # 8 + 8 + 4 letters
        ("你好世界", 4),  # one per CJK character
        ("a\n\nb", 3),  # a | \n\n | b
    ],
)
def test_it_estimates_tokens_as_pre_tokenizer_pieces(text, tokens):
    assert token_estimate(text) == tokens


def test_it_counts_words_split_on_whitespace():
    assert word_count("  one two\tthree\nfour ") == 4
    assert word_count("") == 0


def test_it_counts_each_kind_of_artefact():
    text = (
        "### Title\nSome **bold** text, a [link](https://example.org), &nbsp;&amp; and <br> <div>x</div>\n"
        "<|im_start|>user\nhi<|im_end|> [INST] more [/INST] </s>"
    )
    assert artefacts(text) == {
        "markdown_headings": 1,
        "markdown_bold": 1,
        "markdown_links": 1,
        "html_entities": 2,
        "html_tags": 3,
        "special_tokens": 5,
    }


def test_it_does_not_count_markdown_inside_code():
    text = "```python\n# a comment, not a heading\nf(**kwargs)\n```\nCall `__init__` and **really** do it."
    assert artefacts(text) == {"markdown_bold": 1}


def test_it_finds_no_artefact_in_plain_prose():
    assert artefacts("Plain text: 3 < 4 & 5 > 2, a * b, nothing else.") == {}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The old keeper climbed the stairs every evening to light the lamp above the sea.", "en"),
        ("Le vieux gardien montait l'escalier chaque soir pour allumer la lampe au-dessus de la mer.", "fr"),
        ("Der alte Wärter stieg jeden Abend die Treppe hinauf, um die Lampe über dem Meer anzuzünden.", "de"),
        ("   ", NO_LANGUAGE),
    ],
)
def test_it_tells_the_language_of_clear_sentences(text, code):
    assert language(text) == code


def test_it_takes_a_prompts_opening_from_the_first_user_turn_or_the_prompt_or_the_text():
    chat = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Write a haiku."},
            {"role": "assistant", "content": "Moon."},
            {"role": "user", "content": "Another."},
        ]
    }
    assert prompt_text(chat) == "Write a haiku."
    assert prompt_text({"prompt": "Explain it.", "response": "…"}) == "Explain it."
    assert prompt_text({"text": "Once upon a time"}) == "Once upon a time"
    assert prompt_text({"messages": [{"role": "assistant", "content": "Hi"}]}) == ""


def test_it_lowercases_opening_words_and_skips_numbers_and_punctuation():
    assert opening_words("Write 3 SHORT poems, please: about cats’ naps.", 6) == [
        "write",
        "short",
        "poems",
        "please",
        "about",
        "cats",
    ]


@pytest.mark.parametrize(
    ("prompt", "pair"),
    [
        ("Write me a short poem about cats", ("write", "poem")),
        ("Can you explain the concept of recursion?", ("explain", "concept")),
        ("Give three examples of prime numbers", ("give", "examples")),
        ("Show me how to write a story", ("write", "story")),
        ("What is the name of the tallest mountain?", None),  # "name of": a noun, and nothing after it
        ("What is the capital of France?", None),
        ("Please summarize this article for me", ("summarize", "article")),
    ],
)
def test_it_finds_the_verb_and_its_object(prompt, pair):
    assert verb_object(opening_words(prompt)) == pair


def test_it_gives_up_on_an_object_too_far_from_its_verb():
    assert verb_object(opening_words("write the a an this that these those me")) is None
