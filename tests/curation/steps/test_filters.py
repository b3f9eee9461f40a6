"""The filter step: the catalog, validation naming the option, each rule on hand-made cases (with the near misses
that must survive), the group and labels rules, and every shape through every rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curation.steps import filters
from curation.steps.base import Dropped, StepOptionError
from curation.steps.filter_text import LANGUAGES, language_identifier
from curation.steps.records import FIELDS
from tests.curation.steps.examples import assert_json_ready, every_shape, frozen, record

GOOD_PARAGRAPH = (
    "The history of the city is long and full of change. It began as a small fishing village on the banks of the "
    "river, and over many centuries it grew into a busy port with markets, schools and churches. Merchants came "
    "from distant lands to trade wool, salt and spices, and the town council built strong walls to protect the "
    "harbour from raiders. Today the old quarter is a quiet place where visitors walk along narrow streets and "
    "admire the houses that have stood there for hundreds of years."
)


def run(rules, records, context=None):
    return filters.apply(records, filters.validate({"rules": rules}), context or {})


def dropped_ids(rules, records, context=None):
    return [d.id for d in run(rules, records, context).dropped]


def qa(prompt, response, id=1, **metadata):
    return record({"prompt": prompt, "response": response}, id=id, **metadata)


def text(value, id=1, **metadata):
    return record({"text": value}, id=id, **metadata)


# --- the catalog -----------------------------------------------------------------------------------------------

CATALOG_NAMES = [
    "empty",
    "min_words",
    "max_words",
    "min_chars",
    "max_chars",
    "response_repeats_prompt",
    "gopher_quality",
    "gopher_repetition",
    "c4_boilerplate",
    "non_alnum_ratio",
    "digit_ratio",
    "url_ratio",
    "whitespace_ratio",
    "regex_deny",
    "regex_allow",
    "keyword_deny",
    "keyword_allow",
    "metadata",
    "language",
    "conflicting_responses",
    "shared_response",
    "label",
    "agreement",
]


def test_the_catalog_lists_every_rule_json_ready():
    catalog = filters.catalog()

    assert [rule["name"] for rule in catalog] == CATALOG_NAMES
    assert json.loads(json.dumps(catalog)) == catalog
    for rule in catalog:
        assert rule["kind"] in ("record", "group", "labels")
        assert rule["description"]
        for option in rule["options"]:
            assert {"name", "type", "default", "help"} <= option.keys()


def test_the_catalog_says_each_rules_kind():
    kinds = {rule["name"]: rule["kind"] for rule in filters.catalog()}

    assert [name for name, kind in kinds.items() if kind == "group"] == ["conflicting_responses", "shared_response"]
    assert [name for name, kind in kinds.items() if kind == "labels"] == ["label", "agreement"]


def test_field_and_value_mean_the_same_in_every_rule():
    for rule in filters.catalog():
        options = {option["name"]: option for option in rule["options"]}
        if "field" in options:
            assert options["field"]["choices"] == list(FIELDS)
            assert options["field"]["default"] is None


def test_the_language_list_is_the_models():
    assert set(LANGUAGES) == set(language_identifier().nb_classes)


# --- validate --------------------------------------------------------------------------------------------------


def test_it_fills_in_every_default():
    options = filters.validate({"rules": [{"name": "gopher_repetition"}, {"name": "min_words", "value": 3}]})

    assert options["rules"][0]["max_top_ngram_chars"] == [0.20, 0.18, 0.16]
    assert options["rules"][0]["max_duplicate_ngram_chars"] == [0.15, 0.14, 0.13, 0.12, 0.11, 0.10]
    assert options["rules"][1] == {"name": "min_words", "field": None, "value": 3}


def test_it_names_an_unknown_rule_and_lists_the_catalog():
    with pytest.raises(StepOptionError) as error:
        filters.validate({"rules": [{"name": "min_words", "value": 1}, {"name": "min_tokens"}]})

    assert error.value.option == "rules[1].name"
    assert "min_words" in error.value.message
    assert error.value.details == {"catalog": CATALOG_NAMES}


@pytest.mark.parametrize(
    ("rules", "option"),
    [
        ([{"name": "min_words"}], "rules[0].value"),
        ([{"name": "min_words", "value": "3"}], "rules[0].value"),
        ([{"name": "min_words", "value": -1}], "rules[0].value"),
        ([{"name": "min_words", "value": 3, "fields": "response"}], "rules[0].fields"),
        ([{"name": "min_words", "value": 3, "field": "answer"}], "rules[0].field"),
        ([{"name": "digit_ratio", "value": 1.5}], "rules[0].value"),
        (
            [{"name": "empty"}, {"name": "gopher_repetition", "max_top_ngram_chars": [0.2, 0.2]}],
            "rules[1].max_top_ngram_chars",
        ),
        ([{"name": "gopher_quality", "min_stop_words": 9}], "rules[0].min_stop_words"),
        ([{"name": "regex_deny", "value": ["ok", "(unclosed"]}], "rules[0].value[1]"),
        ([{"name": "regex_deny", "value": ["(a+)+$"]}], "rules[0].value[0]"),
        ([{"name": "regex_allow", "value": ["x" * 501]}], "rules[0].value[0]"),
        ([{"name": "regex_allow", "value": ["x"] * 51}], "rules[0].value"),
        ([{"name": "keyword_deny", "value": ["ok", "!!!"]}], "rules[0].value[1]"),
        ([{"name": "keyword_deny", "value": []}], "rules[0].value"),
        ([{"name": "metadata", "key": "source"}], "rules[0]"),
        ([{"name": "metadata", "key": "source", "in": ["a"], "equals": "b"}], "rules[0].equals"),
        ([{"name": "metadata", "key": "date", "from": "2024-13-01"}], "rules[0].from"),
        ([{"name": "metadata", "key": "date", "from": "2024-02-01", "to": "2024-01-01"}], "rules[0].to"),
        ([{"name": "metadata", "in": ["a"]}], "rules[0].key"),
        ([{"name": "metadata", "key": "k", "in": [{"a": 1}]}], "rules[0].in[0]"),
        ([{"name": "language", "value": ["english"]}], "rules[0].value[0]"),
        ([{"name": "language", "value": ["en"], "threshold": 2}], "rules[0].threshold"),
        ([{"name": "conflicting_responses", "policy": "keep_last"}], "rules[0].policy"),
        ([{"name": "conflicting_responses", "field": "prompt"}], "rules[0].field"),
        ([{"name": "label", "value": 3}], "rules[0].question"),
        ([{"name": "label", "question": "q", "op": ">=", "value": "good"}], "rules[0].value"),
        ([{"name": "label", "question": "q", "op": "in", "value": "good"}], "rules[0].value"),
        ([{"name": "label", "question": "q", "op": "~", "value": 1}], "rules[0].op"),
        ([{"name": "agreement", "question": "q", "value": 1.5}], "rules[0].value"),
        ([{"name": "agreement", "question": "q", "value": 0.5, "missing": "ignore"}], "rules[0].missing"),
        (["min_words"], "rules[0]"),
        ([], "rules"),
        ("min_words", "rules"),
    ],
)
def test_it_names_the_wrong_option(rules, option):
    with pytest.raises(StepOptionError) as error:
        filters.validate({"rules": rules})

    assert error.value.option == option


def test_it_gives_the_regular_expression_error():
    with pytest.raises(StepOptionError) as error:
        filters.validate({"rules": [{"name": "regex_deny", "value": ["(unclosed"]}]})

    assert "missing ), unterminated subpattern" in error.value.message


def test_it_accepts_possessive_and_atomic_repeats():
    options = filters.validate({"rules": [{"name": "regex_deny", "value": [r"(a++)+", r"(?>\w+\s?)*", r"(ab)+"]}]})

    assert len(options["rules"][0]["value"]) == 3


def test_it_rejects_options_beside_the_rules():
    with pytest.raises(StepOptionError) as error:
        filters.validate({"rules": [{"name": "empty"}], "mode": "strict"})

    assert error.value.option == "mode"


# --- apply: order and detail -----------------------------------------------------------------------------------


def test_the_first_failing_rule_drops_a_record_and_says_why():
    records = [qa("Hi", "Hello there friend", id=1), qa("Hi", "Yo", id=2), qa("Hi", "", id=3)]
    rules = [
        {"name": "empty", "field": "response"},
        {"name": "min_words", "field": "response", "value": 2},
        {"name": "max_chars", "value": 5},
    ]

    out = run(rules, records)

    assert out.dropped == [
        Dropped(1, "filter.max_chars", {"field": "all", "value": 22, "threshold": 5, "unit": "chars"}),
        Dropped(2, "filter.min_words", {"field": "response", "value": 1, "threshold": 2, "unit": "words"}),
        Dropped(3, "filter.empty", {"field": "response", "value": 0}),
    ]
    assert out.kept == []


def test_a_record_without_the_field_passes_the_rule():
    assert dropped_ids([{"name": "empty", "field": "response"}], [text("")]) == []


def test_thresholds_are_inclusive():
    records = [qa("q", "one two three", id=1), qa("q", "one two", id=2)]

    assert dropped_ids([{"name": "min_words", "field": "response", "value": 3}], records) == [2]
    assert dropped_ids([{"name": "max_words", "field": "response", "value": 2}], records) == [1]
    assert dropped_ids([{"name": "min_chars", "field": "response", "value": 13}], records) == [2]


# --- response_repeats_prompt -----------------------------------------------------------------------------------

PROMPT = "Explain why the sky looks blue on a clear day to a ten year old child"


def test_it_drops_a_response_equal_to_its_prompt_once_normalised():
    out = run([{"name": "response_repeats_prompt"}], [qa("What is AI?", "what is ai")])

    assert out.dropped[0].detail == {"field": "response", "value": 1.0, "threshold": 0.8, "equal": True}


def test_it_drops_a_response_holding_most_of_the_prompts_5grams():
    response = f"Sure! {PROMPT}."
    out = run([{"name": "response_repeats_prompt"}], [qa(PROMPT, response)])

    assert out.dropped[0].detail == {"field": "response", "value": 1.0, "threshold": 0.8, "equal": False}


def test_it_keeps_a_response_that_quotes_less_of_the_prompt():
    # 6 of the prompt's 11 distinct 5-grams
    response = "Explain why the sky looks blue on a clear day: sunlight scatters off the air."

    assert dropped_ids([{"name": "response_repeats_prompt"}], [qa(PROMPT, response)]) == []
    assert dropped_ids([{"name": "response_repeats_prompt", "value": 0.5}], [qa(PROMPT, response)]) == [1]


def test_it_reads_the_chosen_response_and_each_candidate():
    chosen = record({"prompt": "Say hi to me", "chosen": "say hi to me", "rejected": "Hi!"}, id=1)
    rejected = record({"prompt": "Say hi to me", "chosen": "Hi!", "rejected": "say hi to me"}, id=2)
    candidates = record({"prompt": "Say hi to me", "responses": ["Hi!", "Say hi to me."]}, id=3)
    chat = record({"messages": [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "say HI"}]}, 4)

    out = run([{"name": "response_repeats_prompt"}], [chosen, rejected, candidates, chat])

    assert [(d.id, d.detail["field"]) for d in out.dropped] == [(1, "chosen"), (3, "responses"), (4, "response")]


# --- gopher_quality --------------------------------------------------------------------------------------------


def gopher(value, **options):
    out = run([{"name": "gopher_quality", **options}], [text(value)])
    return out.dropped[0].detail if out.dropped else None


def test_gopher_quality_keeps_a_good_paragraph():
    assert gopher(GOOD_PARAGRAPH) is None


@pytest.mark.parametrize(
    ("value", "check", "measured"),
    [
        ("The cat sat on the mat and that was that.", "words", 10),
        (" ".join(["incomprehensibilities"] * 60) + " the and", "mean_word_length", 20.4194),
        # the paragraph has 89 words
        (GOOD_PARAGRAPH + " #tag" * 10, "symbol_word_ratio #", 0.101),  # 10 / 99
        (GOOD_PARAGRAPH + " wait…" * 15 + " The end.", "symbol_word_ratio …", 0.1415),  # 15 / 106
        ("\n".join(f"- item {i} of the list and more" for i in range(60)), "bullet_lines", 1.0),
        (GOOD_PARAGRAPH.replace(". ", "...\n"), "ellipsis_lines", 0.75),  # 3 of 4 lines
        (GOOD_PARAGRAPH + " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23", "alpha_words", 0.7946),
        (" ".join(["Lorem", "dolor", "amet", "quisque"] * 15), "stop_words", 0),
    ],
    ids=["words", "mean_word_length", "hash", "ellipsis", "bullets", "ellipsis_lines", "alpha_words", "stop_words"],
)
def test_gopher_quality_names_the_check_that_failed(value, check, measured):
    detail = gopher(value)

    assert detail is not None
    assert (detail["check"], detail["value"]) == (check, measured)


def test_gopher_quality_takes_its_thresholds_as_options():
    short = "The cat sat on the mat and that was that."

    assert gopher(short, min_words=10) is None
    assert gopher(short, min_words=11) == {"field": "all", "check": "words", "value": 10, "threshold": [11, 100000]}


# --- gopher_repetition -----------------------------------------------------------------------------------------


def repetition(value, **options):
    out = run([{"name": "gopher_repetition", **options}], [text(value)])
    return out.dropped[0].detail if out.dropped else None


def test_gopher_repetition_keeps_a_text_without_repeats():
    assert repetition(GOOD_PARAGRAPH) is None
    assert repetition("Yes, sure.") is None  # its only 2-gram is its most frequent, once


def test_gopher_repetition_catches_repeated_lines():
    lines = "\n".join(["Buy now!", "Buy now!", "Buy now!", "Limited offer today", "Call us"])

    assert repetition(lines) == {"field": "all", "check": "duplicate_lines", "value": 0.4, "threshold": 0.3}


def test_gopher_repetition_catches_repeated_paragraphs():
    value = "\n\n".join(["First part here.", "Second part here.", "First part here.", "Third one."])

    assert repetition(value)["check"] == "duplicate_paragraph_chars"


def test_gopher_repetition_catches_a_frequent_2gram():
    value = GOOD_PARAGRAPH + " " + " ".join(["big deal"] * 20)

    detail = repetition(value)

    # "big deal" 20 times: 140 of the 541 word characters
    assert detail == {"field": "all", "check": "top_2gram_chars", "value": 0.2588, "threshold": 0.2}


def test_gopher_repetition_looks_at_the_3gram_below_the_2gram_threshold():
    value = GOOD_PARAGRAPH + " " + " ".join(["big deal"] * 12)  # 2-gram 84/485; "big deal big" 11 × 10 = 110/485

    assert repetition(value)["check"] == "top_3gram_chars"


def test_gopher_repetition_catches_text_covered_by_repeated_5grams():
    sentence = "a quick brown fox jumped over one lazy dog near the river"
    value = f"{GOOD_PARAGRAPH} {sentence} and then, {sentence} again"

    # both occurrences count: 2 × 46 of the 506 word characters
    assert repetition(value) == {"field": "all", "check": "duplicate_5gram_chars", "value": 0.1818, "threshold": 0.15}


# --- c4_boilerplate --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "check"),
    [
        ("Lorem ipsum dolor sit amet.", "lorem_ipsum"),
        ("Welcome!\nPlease enable JavaScript to view this page.\nMore", "javascript"),
        ("JavaScript is disabled in your browser.", "javascript"),
        ("This site requires JavaScript.", "javascript"),
        ("Read our Privacy Policy before you continue.", "policy"),
        ("This website uses cookies to improve your experience.", "policy"),
    ],
)
def test_c4_boilerplate_drops_boilerplate(value, check):
    out = run([{"name": "c4_boilerplate"}], [text(value)])

    assert out.dropped[0].detail["check"] == check


@pytest.mark.parametrize(
    "value",
    [
        "JavaScript is a programming language that runs in the browser.",
        "Write a function in JavaScript that reverses a string.",
        "Use a dict: {'a': 1}",
        "The lorem of ipsum is not a phrase.",
    ],
)
def test_c4_boilerplate_keeps_near_misses(value):
    assert dropped_ids([{"name": "c4_boilerplate"}], [text(value)]) == []


def test_c4_boilerplate_drops_curly_braces_only_when_asked():
    rules = [{"name": "c4_boilerplate", "curly_braces": True}]

    assert run(rules, [text("x = {1: 2}")]).dropped[0].detail == {
        "field": "all",
        "check": "curly_braces",
        "line": "x = {1: 2}",
    }


def test_c4_boilerplate_can_leave_policy_text():
    assert dropped_ids([{"name": "c4_boilerplate", "policy": False}], [text("See the terms of use.")]) == []


# --- character ratios ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "measured"),
    [
        ("digit_ratio", "ab123", 0.6),
        ("non_alnum_ratio", "a!!! b", 0.5),
        ("non_alnum_ratio", "a___", 0.75),
        ("whitespace_ratio", "a    b", 0.6667),
        ("url_ratio", "see https://example.com/a", 0.84),
    ],
)
def test_a_ratio_rule_measures_its_share_of_characters(name, value, measured):
    out = run([{"name": name, "value": 0.4}], [text(value)])

    assert out.dropped[0].detail == {"field": "all", "value": measured, "threshold": 0.4}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("digit_ratio", "In 2024, 3 of 10 people came."),
        ("non_alnum_ratio", "Héllo, wörld! 你好，世界"),
        ("whitespace_ratio", "one two three"),
        ("url_ratio", "Visit https://example.com for more details about the project and its many goals."),
        ("digit_ratio", ""),
    ],
)
def test_a_ratio_rule_keeps_ordinary_text(name, value):
    assert dropped_ids([{"name": name, "value": 0.4}], [text(value)]) == []


# --- regular expressions and keywords --------------------------------------------------------------------------


def test_regex_deny_drops_on_any_match_and_shows_it():
    out = run([{"name": "regex_deny", "value": [r"\bas an ai\b", r"I cannot"]}], [text("Well, I cannot say.")])

    assert out.dropped[0].detail == {"field": "all", "pattern": "I cannot", "match": "I cannot"}


def test_regex_deny_ignores_case_when_asked():
    rules = [{"name": "regex_deny", "value": ["as an ai"], "ignore_case": True}]

    assert dropped_ids(rules, [text("As an AI, I think"), text("Ask an AI", id=2)]) == [1]
    assert dropped_ids([{"name": "regex_deny", "value": ["as an ai"]}], [text("As an AI, I think")]) == []


def test_regex_allow_drops_what_matches_nothing():
    out = run([{"name": "regex_allow", "value": [r"\d", "answer"]}], [text("no digits"), text("the answer", id=2)])

    assert out.dropped == [Dropped(1, "filter.regex_allow", {"field": "all", "matched": 0, "patterns": 2})]


def test_keyword_deny_matches_whole_words_whatever_the_case():
    rules = [{"name": "keyword_deny", "value": ["cat", "e-mail me"]}]
    records = [text("A Cat!", 1), text("category theory", 2), text("Please E-Mail  me.", 3), text("email me", 4)]

    out = run(rules, records)

    assert [(d.id, d.detail["keyword"]) for d in out.dropped] == [(1, "cat"), (3, "e-mail me")]


def test_keyword_allow_keeps_only_text_with_a_keyword():
    rules = [{"name": "keyword_allow", "field": "response", "value": ["python", "rust"]}]
    records = [qa("q", "I like Python.", 1), qa("q", "I like pythons.", 2), qa("python", "Go", 3)]

    assert dropped_ids(rules, records) == [2, 3]


# --- metadata --------------------------------------------------------------------------------------------------


def metadata_drops(rule, records):
    return dropped_ids([{"name": "metadata", **rule}], records)


def test_metadata_in_and_not_in():
    records = [text("a", 1, source="wiki"), text("b", 2, source="web"), text("c", 3)]

    assert metadata_drops({"key": "source", "in": ["wiki"]}, records) == [2, 3]
    assert metadata_drops({"key": "source", "not_in": ["wiki"]}, records) == [1, 3]
    assert metadata_drops({"key": "source", "not_in": ["wiki"], "missing": "keep"}, records) == [1]


def test_metadata_equals_tells_booleans_from_numbers():
    records = [text("a", 1, flag=True), text("b", 2, flag=1), text("c", 3, flag=1.0)]

    assert metadata_drops({"key": "flag", "equals": 1}, records) == [1]
    assert metadata_drops({"key": "flag", "equals": True}, records) == [2, 3]


def test_metadata_reaches_into_nested_objects():
    records = [text("a", 1, source={"name": "wiki"}), text("b", 2, **{"source.name": "web"})]

    assert metadata_drops({"key": "source.name", "equals": "wiki"}, records) == [2]


def test_metadata_date_range_includes_both_ends():
    dates = ["2023-12-31T23:59:59", "2024-01-01", "2024-01-31T23:59:59Z", "2024-02-01T00:00:00+00:00", "soon"]
    records = [text(str(i), i, created=value) for i, value in enumerate(dates)]

    out = run([{"name": "metadata", "key": "created", "from": "2024-01-01", "to": "2024-01-31"}], records)

    assert [d.id for d in out.dropped] == [0, 3, 4]
    assert out.dropped[0].detail == {
        "key": "created",
        "value": "2023-12-31T23:59:59",
        "test": "range",
        "from": "2024-01-01",
        "to": "2024-01-31",
    }
    assert out.dropped[2].detail == {"key": "created", "value": "soon", "reason": "not a date"}


def test_metadata_missing_key_fails_with_a_reason():
    out = run([{"name": "metadata", "key": "lang", "equals": "en"}], [text("x", lang=None), text("y", 2)])

    assert [d.detail for d in out.dropped] == [{"key": "lang", "reason": "missing"}] * 2


# --- language --------------------------------------------------------------------------------------------------


def test_language_keeps_the_languages_asked_for():
    records = [
        text("The weather is lovely today and we are going to the beach.", 1),
        text("Le temps est magnifique aujourd'hui et nous allons à la plage.", 2),
        text("   ", 3),
    ]

    out = run([{"name": "language", "value": ["en"]}], records)

    assert [d.id for d in out.dropped] == [2, 3]
    french = out.dropped[0].detail
    assert (french["language"], french["keep"], french["threshold"]) == ("fr", ["en"], 0.5)
    assert french["probability"] > 0.9
    assert out.dropped[1].detail == {
        "field": "all",
        "language": None,
        "probability": 0.0,
        "keep": ["en"],
        "threshold": 0.5,
    }


def test_language_drops_a_detection_below_the_threshold():
    records = [text("The weather is lovely today and we are going to the beach.")]

    assert dropped_ids([{"name": "language", "value": ["en"], "threshold": 1.0}], records) == [1]


# --- labels rules ----------------------------------------------------------------------------------------------


LABELS = {
    1: {"rating": {"value": 5, "agreement": 0.9}, "topic": {"value": ["math", "code"], "agreement": None}},
    2: {"rating": {"value": 2, "agreement": 0.4}, "topic": {"value": "poetry", "agreement": 1.0}},
    3: {"rating": {"value": None, "agreement": None}},
}
RECORDS_1_TO_4 = [text(f"t{i}", i) for i in (1, 2, 3, 4)]


def label_drops(rule):
    return run([rule], RECORDS_1_TO_4, {"labels": LABELS}).dropped


def test_label_compares_the_label_with_the_value():
    dropped = label_drops({"name": "label", "question": "rating", "op": ">=", "value": 4})

    assert dropped == [
        Dropped(2, "filter.label", {"question": "rating", "label": 2, "op": ">=", "value": 4}),
        Dropped(3, "filter.label", {"question": "rating", "reason": "no label"}),
        Dropped(4, "filter.label", {"question": "rating", "reason": "no label"}),
    ]


def test_label_in_passes_a_multiple_choice_on_any_answer():
    dropped = label_drops({"name": "label", "question": "topic", "op": "in", "value": ["code"], "missing": "keep"})

    assert [d.id for d in dropped] == [2]


def test_label_equality():
    assert [d.id for d in label_drops({"name": "label", "question": "topic", "value": "poetry"})] == [1, 3, 4]
    assert [d.id for d in label_drops({"name": "label", "question": "rating", "op": "!=", "value": 2})] == [2, 3, 4]


def test_agreement_keeps_the_items_annotators_agree_on():
    dropped = label_drops({"name": "agreement", "question": "rating", "value": 0.5, "missing": "drop"})

    assert dropped == [
        Dropped(2, "filter.agreement", {"question": "rating", "agreement": 0.4, "threshold": 0.5}),
        Dropped(3, "filter.agreement", {"question": "rating", "reason": "no agreement"}),
        Dropped(4, "filter.agreement", {"question": "rating", "reason": "no label"}),
    ]
    assert label_drops({"name": "agreement", "question": "topic", "value": 0.5, "missing": "keep"}) == []


def test_labels_rules_need_the_labels_in_the_context():
    with pytest.raises(KeyError):
        run([{"name": "label", "question": "rating", "value": 1}], RECORDS_1_TO_4)


def test_it_names_the_questions_and_group_rules_the_runner_must_serve():
    options = filters.validate(
        {
            "rules": [
                {"name": "label", "question": "rating", "op": ">", "value": 3},
                {"name": "agreement", "question": "verdict", "value": 0.6},
                {"name": "min_words", "value": 1},
            ]
        }
    )

    assert filters.labels_questions(options) == {"rating", "verdict"}
    assert not filters.has_group_rules(options)
    assert filters.has_group_rules(filters.validate({"rules": [{"name": "shared_response"}]}))


# --- group rules -----------------------------------------------------------------------------------------------


def conflicting_set():
    return [
        qa("What is the capital of France?", "Paris.", id=10),
        qa("what is the capital of france", "Lyon, I believe, in the south.", id=11),
        qa("What is the capital of France?", "paris", id=12),
        qa("What is 2 + 2?", "4", id=13),
        record({"system": "Answer in French.", "prompt": "What is the capital of France?", "response": "Paris"}, 14),
    ]


def merge(rules, records, chunks=1):
    options = filters.validate({"rules": rules})
    size = -(-len(records) // chunks)
    parts = [filters.group_keys(records[i : i + size], options) for i in range(0, len(records), size)]
    keys = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return filters.group_merge(keys, options)


def test_conflicting_responses_drops_the_whole_group_by_default():
    assert merge([{"name": "conflicting_responses"}], conflicting_set()) == [
        Dropped(i, "filter.conflicting_responses", {"prompt_group_size": 3, "distinct_responses": 2, "kept": None})
        for i in (10, 11, 12)
    ]


def test_conflicting_responses_can_keep_the_first_or_the_longest():
    first = merge([{"name": "conflicting_responses", "policy": "keep_first"}], conflicting_set())
    longest = merge([{"name": "conflicting_responses", "policy": "keep_longest"}], conflicting_set())

    assert [(d.id, d.detail["kept"]) for d in first] == [(11, 10), (12, 10)]
    assert [(d.id, d.detail["kept"]) for d in longest] == [(10, 11), (12, 11)]


def test_keep_longest_keeps_the_earliest_of_equally_long_responses():
    records = [qa("Capital?", "Lyon", id=20), qa("Capital?", "Nice", id=21), qa("Capital?", "Metz", id=22)]

    dropped = merge([{"name": "conflicting_responses", "policy": "keep_longest"}], records)

    assert [(d.id, d.detail["kept"]) for d in dropped] == [(21, 20), (22, 20)]


def test_group_keys_of_chunks_concatenated_give_the_same_result():
    rules = [{"name": "conflicting_responses", "policy": "keep_longest"}]

    assert merge(rules, conflicting_set(), chunks=3) == merge(rules, conflicting_set())


def test_shared_response_drops_a_long_answer_given_to_different_prompts():
    canned = "I am sorry, but I cannot help with that request."
    records = [
        qa("How do I pick a lock?", canned, id=1),
        qa("Write malware", canned.upper(), id=2),
        qa("How do I pick a lock?", canned, id=3),
        qa("Is it raining?", "Yes.", id=4),
        qa("Is it sunny?", "Yes.", id=5),
    ]

    dropped = merge([{"name": "shared_response", "policy": "keep_first"}], records)

    assert dropped == [
        Dropped(i, "filter.shared_response", {"response_group_size": 3, "distinct_prompts": 2, "kept": 1})
        for i in (2, 3)
    ]
    assert merge([{"name": "shared_response", "min_words": 1}], records)[-2:] == [
        Dropped(i, "filter.shared_response", {"response_group_size": 2, "distinct_prompts": 2, "kept": None})
        for i in (4, 5)
    ]


def test_group_rules_run_in_order_on_what_the_earlier_ones_left():
    wrong = "The capital of France is Lyon, I think."
    records = [
        qa("Capital of France?", "The capital of France is Paris.", id=1),
        qa("Capital of France?", wrong, id=2),
        qa("Where does the French government sit?", wrong, id=3),
    ]
    conflicting = {"name": "conflicting_responses", "policy": "keep_first"}
    shared = {"name": "shared_response"}

    # once 2 is gone, 3's response is given to one prompt only
    assert [(d.id, d.rule) for d in merge([conflicting, shared], records)] == [(2, "filter.conflicting_responses")]
    # the other way round, 2 and 3 go for sharing a response; 1 is then alone with its prompt
    assert [(d.id, d.rule) for d in merge([shared, conflicting], records)] == [
        (2, "filter.shared_response"),
        (3, "filter.shared_response"),
    ]


def test_group_keys_are_compact_numpy_arrays():
    keys = filters.group_keys(every_shape(), filters.validate({"rules": [{"name": "shared_response"}]}))

    assert {name: array.dtype.kind for name, array in keys.items()} == {
        "id": "i",
        "compared": "b",
        "prompt": "u",
        "response": "u",
        "prompt_chars": "i",
        "response_chars": "i",
        "response_words": "i",
    }
    assert list(keys["id"]) == [1, 2, 3, 4, 5]
    assert list(keys["compared"]) == [False, True, True, False, False]
    assert (
        filters.group_merge(
            {name: array[:0] for name, array in keys.items()},
            filters.validate({"rules": [{"name": "shared_response"}]}),
        )
        == []
    )


def test_preview_runs_record_and_group_rules_in_input_order():
    records = [*conflicting_set(), qa("Hi", "", id=15)]
    rules = [{"name": "conflicting_responses", "policy": "keep_first"}, {"name": "empty", "field": "response"}]

    dropped = filters.preview(records, filters.validate({"rules": rules}), {})

    assert [(d.id, d.rule) for d in dropped] == [
        (11, "filter.conflicting_responses"),
        (12, "filter.conflicting_responses"),
        (15, "filter.empty"),
    ]


# --- every shape through every rule ----------------------------------------------------------------------------

SAMPLE_RULES = {
    "empty": {},
    "min_words": {"value": 2},
    "max_words": {"value": 10},
    "min_chars": {"value": 5},
    "max_chars": {"value": 80},
    "response_repeats_prompt": {},
    "gopher_quality": {"min_words": 3},
    "gopher_repetition": {},
    "c4_boilerplate": {"curly_braces": True},
    "non_alnum_ratio": {"value": 0.1},
    "digit_ratio": {"value": 0.05},
    "url_ratio": {},
    "whitespace_ratio": {"value": 0.15},
    "regex_deny": {"value": ["[0-9]"]},
    "regex_allow": {"value": ["[0-9]"]},
    "keyword_deny": {"value": ["terse"]},
    "keyword_allow": {"value": ["terse"]},
    "metadata": {"key": "source", "in": ["text", "chat"]},
    "language": {"value": ["en"]},
    "conflicting_responses": {},
    "shared_response": {"min_words": 1},
    "label": {"question": "q", "op": "in", "value": ["yes"]},
    "agreement": {"question": "q", "value": 0.5},
}


def test_every_catalog_rule_has_a_sample():
    assert list(SAMPLE_RULES) == CATALOG_NAMES


@pytest.mark.parametrize("name", CATALOG_NAMES)
@pytest.mark.parametrize("field", [None, "response", "prompt", "system"])
def test_every_shape_goes_through_every_rule(name, field):
    rule = {"name": name, **SAMPLE_RULES[name]}
    if field and any(option["name"] == "field" for option in filters.RULES_BY_NAME[name].describe()["options"]):
        rule["field"] = field
    records = every_shape()
    before = frozen(records)
    context = {"labels": {2: {"q": {"value": "yes", "agreement": 0.7}}, 3: {"q": {"value": "no", "agreement": None}}}}
    options = filters.validate({"rules": [rule]})

    out = filters.apply(records, options, context)
    dropped = filters.preview(records, options, context)

    assert frozen(records) == before
    assert sorted([r["id"] for r in out.kept] + [d.id for d in out.dropped]) == [1, 2, 3, 4, 5]
    assert all(kept is next(r for r in records if r["id"] == kept["id"]) for kept in out.kept)
    assert {d.id for d in out.dropped} <= {d.id for d in dropped}
    for drop in dropped:
        assert drop.rule == f"filter.{name}"
        assert_json_ready(drop.detail)
        assert len(json.dumps(drop.detail)) < 400
