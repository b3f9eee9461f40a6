"""Explaining versions in words: differences between texts, steps and removal details (curation/explain)."""

from __future__ import annotations

import random
import time

import pytest

from curation.explain.content import text_parts
from curation.explain.diff import DELETED, INSERTED, MARKED, SAME, word_diff
from curation.explain.removals import detail_facts, rule_label
from curation.explain.steps import CLEAN_RULES, PII_ENTITIES, pipeline_name, rule_summary, step_summary
from curation.steps import clean, pii


def joined(pieces) -> str:
    return "".join(piece.text for piece in pieces)


def changed(pieces, kind) -> list[str]:
    return [piece.text for piece in pieces if piece.kind == kind]


def test_it_marks_the_words_only_in_each_text_and_keeps_each_texts_own_spacing():
    diff = word_diff("Hello world, this is fine.", "hello   world, this is really fine.")

    assert changed(diff.before, DELETED) == ["Hello"]
    assert changed(diff.after, INSERTED) == ["hello", "really"]
    assert joined(diff.after) == "hello   world, this is really fine."
    assert (diff.removed, diff.added, diff.whitespace_changed) == (1, 2, False)
    assert diff.summary == "1 word only in the first and 2 words only in the second."


def test_spacing_is_no_difference_between_duplicates_but_is_one_in_cleaned_text():
    before, after = "A  story\n\n\n\nfollows.", "A story\n\nfollows."

    words = word_diff(before, after)
    spaces = word_diff(before, after, whitespace=True, labels=("the original", "the cleaned text"))

    assert words.identical and words.summary == "No difference."
    assert changed(spaces.before, DELETED) == ["  ", "\n\n\n\n"]
    assert [piece.shown for piece in spaces.before if piece.space] == ["··", "↵\n↵\n↵\n↵\n"]
    assert changed(spaces.after, INSERTED) == [" ", "\n\n"]
    assert spaces.summary == "Only whitespace differs."


def test_a_change_of_words_and_of_spacing_is_summed_up_with_both():
    diff = word_diff("<p>Hi</p>  there", "Hi there", whitespace=True, labels=("the original", "the cleaned text"))

    assert diff.summary == "1 word only in the original and 1 word only in the cleaned text; whitespace differs too."


@pytest.mark.parametrize("seed", range(5))
def test_the_pieces_of_each_side_are_its_text_whole(seed):
    rng = random.Random(seed)
    vocabulary = ["the", "a", "cat", "sat", "on", "mat", "dog.", "Ran", "\n", "  "]
    first = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 60)))
    second = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 60)))

    for whitespace in (False, True):
        diff = word_diff(first, second, whitespace=whitespace)
        assert joined(diff.before) == first
        assert joined(diff.after) == second
        assert {piece.kind for piece in diff.before} <= {SAME, DELETED}
        assert {piece.kind for piece in diff.after} <= {SAME, INSERTED}


def test_a_long_text_with_scattered_edits_is_compared_in_a_page_s_time():
    rng = random.Random(0)
    words = [f"w{int(rng.paretovariate(1.1)) % 3000}" for _ in range(8000)]
    edited = [word if rng.random() > 0.03 else "EDIT" for word in words]

    started = time.perf_counter()
    diff = word_diff(" ".join(words), " ".join(edited))

    assert time.perf_counter() - started < 2
    assert diff.added == edited.count("EDIT") - sum(1 for a, b in zip(words, edited, strict=True) if a == b == "EDIT")
    assert joined(diff.after) == " ".join(edited)


def test_a_text_too_long_to_compare_says_so():
    long = "word " * 30_000

    diff = word_diff(long, long + "more")

    assert not diff.compared and "Too long to compare" in diff.summary
    assert joined(diff.before) == long


def test_the_shared_n_gram_is_marked_where_it_is_in_the_original_text():
    from curation.explain.diff import marked

    pieces = marked("First: The QUICK, brown fox!", "the quick brown")

    assert [(piece.text, piece.kind) for piece in pieces] == [
        ("First: ", SAME),
        ("The QUICK, brown", MARKED),
        (" fox!", SAME),
    ]
    assert marked("nothing here", "the quick brown") == [marked("nothing here", "x")[0]]


def test_every_clean_rule_and_pii_entity_has_a_name_on_the_page():
    assert set(CLEAN_RULES) == set(clean.RULES)
    assert set(PII_ENTITIES) == set(pii.ENTITIES)


def test_steps_are_summed_up_in_words():
    assert pipeline_name([{"op": "clean"}, {"op": "dedup", "method": "minhash"}]) == "clean → dedup minhash"
    assert pipeline_name([]) == "no steps (a frozen copy of its input)"
    assert step_summary({"op": "dedup", "method": "exact", "keep": "best", "question": "quality"}) == (
        "Drop exact duplicates (comparing all text), keeping the best rated by “quality” of each group."
    )
    assert step_summary({"op": "pii", "action": "drop", "entities": ["email"]}) == (
        "PII: drop records holding e-mail addresses."
    )
    assert step_summary({"op": "decontaminate", "against": 4, "ngram": 13}, version_label=lambda pk: "“evals”") == (
        "Decontaminate: drop records sharing a 13-word sequence with “evals” (comparing all text)."
    )
    assert step_summary({"op": "teleport"}).startswith("teleport:")


def test_a_rule_shows_only_the_options_that_differ_from_its_defaults():
    assert rule_summary({"name": "min_words", "field": "response", "value": 3}) == "min_words (on response, 3)"
    assert rule_summary({"name": "gopher_quality", "field": None, "min_words": 50}) == "gopher_quality"
    assert rule_summary({"name": "regex_deny", "value": ["a+", "b"], "ignore_case": True}) == (
        "regex_deny (a+, b, ignore_case True)"
    )


def test_a_removal_detail_reads_as_labelled_facts():
    assert detail_facts("filter.min_words", {"field": "response", "value": 2, "threshold": 3, "unit": "words"}) == [
        ("Field", "response"),
        ("Measured", "2 words"),
        ("Threshold", "3 words"),
    ]
    assert detail_facts("dedup.minhash", {"duplicate_of": 7, "similarity": 0.81234}, {7: "e7"}) == [
        ("Duplicate of", "e7 (#7)"),
        ("Similarity", "0.8123"),
    ]
    assert detail_facts("pii", {"entities": {"email": 2}}) == [("PII found", "email × 2")]
    assert detail_facts("filter.new_rule", {"odd_key": [1, 2]}) == [("Odd key", "1, 2")]
    assert rule_label("filter.min_words") == "min_words (filter)" and rule_label("dedup.exact") == "exact duplicate"


def test_every_piece_of_text_of_a_content_is_named():
    chat = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
    candidates = {"prompt": "Q", "responses": ["a", "b"]}

    assert text_parts(chat) == [("Message 1 · system", "Be brief."), ("Message 2 · user", "Hi")]
    assert text_parts(candidates) == [("Prompt", "Q"), ("Response A", "a"), ("Response B", "b")]
