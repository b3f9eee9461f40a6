"""The decontaminate step: shared n-grams with an evaluation set, short texts, the fields compared, the index."""

from __future__ import annotations

import pytest

from curation.steps import decontaminate
from curation.steps.base import Dropped, StepOptionError
from curation.steps.decontaminate import build_index
from curation.steps.ngrams import hash_ngrams
from tests.curation.steps.examples import assert_json_ready, every_shape, frozen, record

EVAL_QUESTION = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?"
)
WORDS = EVAL_QUESTION.replace(",", "").replace(".", "").replace("?", "").lower().split()


def run(records, eval_records, **options):
    options = decontaminate.validate({"against": 9, **options})
    index = build_index(eval_records, options["ngram"], options["fields"])
    return decontaminate.apply(records, options, {"eval_index": index})


def eval_set():
    return [
        record({"prompt": EVAL_QUESTION, "response": "72"}, id=501),
        record({"prompt": "What is the capital of France?", "response": "Paris"}, id=502),
    ]


# --- validate --------------------------------------------------------------------------------------------------


def test_it_fills_in_the_defaults():
    assert decontaminate.validate({"against": 3}) == {"against": 3, "ngram": 13, "fields": None}


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({}, "against"),
        ({"against": "3"}, "against"),
        ({"against": True}, "against"),
        ({"against": 3, "ngram": 7}, "ngram"),
        ({"against": 3, "ngram": 51}, "ngram"),
        ({"against": 3, "ngram": 12.5}, "ngram"),
        ({"against": 3, "fields": ["answer"]}, "fields[0]"),
        ({"against": 3, "n": 13}, "n"),
    ],
)
def test_it_names_the_wrong_option(options, option):
    with pytest.raises(StepOptionError) as error:
        decontaminate.validate(options)

    assert error.value.option == option


# --- what is dropped -------------------------------------------------------------------------------------------


def test_it_drops_a_record_sharing_an_ngram_whatever_its_case_and_punctuation():
    leaked = " ".join(WORDS[2:16]).upper()  # 14 words: two 13-grams
    records = [record({"prompt": f"Solve: {leaked}!", "response": "It is 72."}, id=1)]

    out = run(records, eval_set())

    assert out.dropped == [
        Dropped(1, "decontaminate", {"eval_example": 501, "ngram": " ".join(WORDS[2:15]), "overlap": 2})
    ]
    assert out.kept == []


def test_it_keeps_a_record_sharing_one_word_fewer_than_the_ngram():
    near_miss = " ".join(WORDS[2:14])  # 12 words

    out = run([record({"prompt": f"Solve: {near_miss} then stop", "response": "ok"})], eval_set())

    assert (len(out.kept), out.dropped) == (1, [])


def test_it_uses_the_ngram_length_asked_for():
    shared = " ".join(WORDS[0:8])
    records = [record({"text": f"{shared} and some other words follow here"})]

    assert len(run(records, eval_set(), ngram=8).dropped) == 1
    assert run(records, eval_set(), ngram=9).dropped == []


def test_it_names_the_eval_example_sharing_the_most_ngrams():
    first = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu"
    second = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    eval_records = [record({"text": first}, id=601), record({"text": second}, id=602)]

    out = run([record({"text": f"{first} and {second}"})], eval_records)

    assert out.dropped[0].detail == {
        "eval_example": 602,
        "ngram": "one two three four five six seven eight nine ten eleven twelve thirteen",
        "overlap": 4,
    }


def test_it_names_the_first_eval_example_holding_a_duplicated_text():
    eval_records = [record({"text": EVAL_QUESTION}, id=701), record({"text": EVAL_QUESTION}, id=702)]

    out = run([record({"text": EVAL_QUESTION})], eval_records)

    assert out.dropped[0].detail["eval_example"] == 701


def test_it_compares_a_short_record_whole_with_short_eval_texts():
    records = [
        record({"prompt": "what is the CAPITAL of france", "response": ""}, id=1),
        record({"prompt": "What is the capital of Spain?", "response": ""}, id=2),
    ]
    eval_records = [record({"prompt": "What is the capital of France?", "response": ""}, id=502)]

    out = run(records, eval_records)

    assert out.dropped == [
        Dropped(1, "decontaminate", {"eval_example": 502, "ngram": "what is the capital of france", "overlap": 1})
    ]
    assert out.stats == {"short_records": 2}


def test_it_does_not_find_a_short_eval_text_inside_a_longer_record():
    # documented: a text shorter than ngram words is only compared whole
    records = [record({"text": "Quiz night. What is the capital of France? Answer in one word, then explain why."})]

    assert run(records, [record({"text": "What is the capital of France?"}, id=502)]).dropped == []


def test_it_compares_only_the_fields_asked_for_on_both_sides():
    records = [record({"prompt": "Tell me a story.", "response": EVAL_QUESTION}, id=1)]

    assert run(records, eval_set(), fields=["prompt"]).dropped == []  # "Tell me a story." against the question
    assert run(records, eval_set(), fields=["response"]).dropped == []  # the question against "72"
    assert [d.id for d in run(records, eval_set(), fields=["prompt", "response"]).dropped] == [1]


def test_it_keeps_everything_against_an_empty_eval_set():
    records = [record({"text": EVAL_QUESTION})]

    assert run(records, []).kept == records


def test_it_refuses_an_index_built_for_other_options():
    options = decontaminate.validate({"against": 9, "ngram": 13})
    index = build_index(eval_set(), 8, None)

    with pytest.raises(ValueError, match="ngram=8"):
        decontaminate.apply([record({"text": "x"})], options, {"eval_index": index})
    with pytest.raises(KeyError):
        decontaminate.apply([record({"text": "x"})], options, {})


def test_it_takes_every_shape_without_mutating_it():
    records = every_shape()
    before = frozen(records)
    eval_records = [record({"text": "It is 4. What is 2 + 2? Call me on +44 20 7946 0958."}, id=900)]

    out = run(records, eval_records, ngram=8)

    assert frozen(records) == before
    assert [d.id for d in out.dropped] == [3]  # the chat's question is in the eval text
    assert [r["id"] for r in out.kept] == [1, 2, 4, 5]
    assert out.kept[0] is records[0]
    for dropped in out.dropped:
        assert_json_ready(dropped.detail)


# --- hashing ---------------------------------------------------------------------------------------------------


def test_an_ngram_hashes_the_same_in_any_text():
    # the second text is not ASCII, so it is normalised the slow way; the hashes must still agree
    ngrams = hash_ngrams(["The cat sat.", "Über alles: THE CAT, SAT!", "a cat sat"], 3)

    assert list(ngrams.text) == [0, 1, 1, 1, 2]
    assert list(ngrams.position) == [0, 0, 1, 2, 0]
    assert list(ngrams.word_counts) == [3, 5, 3]
    assert ngrams.hashes[0] == ngrams.hashes[3]  # "the cat sat"
    assert len(set(ngrams.hashes.tolist())) == 4


def test_no_ngram_spans_two_texts():
    ngrams = hash_ngrams(["one two", "three four"], 3)

    assert len(ngrams.hashes) == 0
