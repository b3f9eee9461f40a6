"""The dedup step's contract: options, keys, exact dedup and the keep policies, shared by every method."""

from __future__ import annotations

import io
import json
import random

import numpy as np
import pytest

from curation.steps import dedup
from curation.steps.base import StepOptionError
from curation.steps.records import map_text
from tests.curation.steps.helpers import dropped_ids, record, records, run, text

# ── validate ──────────────────────────────────────────────────────────────────────────────────────────────────────


def test_it_fills_in_the_defaults_of_each_method():
    assert dedup.validate({"method": "exact"}) == {"method": "exact", "fields": None, "keep": "first"}
    assert dedup.validate({"method": "minhash"}) == {
        "method": "minhash",
        "threshold": 0.8,
        "ngram": 5,
        "num_perm": 128,
        "fields": None,
        "keep": "first",
    }


def test_a_preset_sets_ngram_and_threshold_and_explicit_options_override_it():
    fuzzy = dedup.validate({"method": "minhash", "preset": "fuzzy"})
    strict = dedup.validate({"method": "minhash", "preset": "strict", "threshold": 0.9})

    assert (fuzzy["ngram"], fuzzy["threshold"], fuzzy["preset"]) == (1, 0.7, "fuzzy")
    assert (strict["ngram"], strict["threshold"]) == (5, 0.9)


def test_normalised_options_validate_to_themselves():
    for step in (
        {"method": "minhash", "preset": "fuzzy", "keep": "best", "question": "quality", "fields": ["prompt"]},
        {"method": "exact", "keep": "longest"},
    ):
        normal = dedup.validate(step)
        assert dedup.validate(dict(normal)) == normal


@pytest.mark.parametrize(
    ("step", "option"),
    [
        ({}, "method"),
        ({"method": "fuzzy"}, "method"),
        ({"method": "minhash", "threshold": 0}, "threshold"),
        ({"method": "minhash", "threshold": 1.5}, "threshold"),
        ({"method": "minhash", "threshold": "high"}, "threshold"),
        ({"method": "minhash", "threshold": True}, "threshold"),
        ({"method": "minhash", "threshold": float("nan")}, "threshold"),
        ({"method": "minhash", "ngram": 0}, "ngram"),
        ({"method": "minhash", "ngram": 14}, "ngram"),
        ({"method": "minhash", "ngram": 2.5}, "ngram"),
        ({"method": "minhash", "num_perm": 8}, "num_perm"),
        ({"method": "minhash", "num_perm": 2048}, "num_perm"),
        ({"method": "minhash", "preset": "loose"}, "preset"),
        ({"method": "minhash", "bands": 4}, "bands"),
        ({"method": "exact", "threshold": 0.9}, "threshold"),
        ({"method": "exact", "keep": "last"}, "keep"),
        ({"method": "exact", "keep": "best"}, "question"),
        ({"method": "exact", "question": "quality"}, "question"),
        ({"method": "exact", "fields": "prompt"}, "fields"),
        ({"method": "exact", "fields": []}, "fields"),
        ({"method": "exact", "fields": ["answer"]}, "fields"),
    ],
)
def test_it_names_the_wrong_option(step, option):
    with pytest.raises(StepOptionError) as error:
        dedup.validate(step)

    assert error.value.option == option
    assert error.value.message


def test_it_accepts_the_bounds_of_each_option():
    low = dedup.validate({"method": "minhash", "threshold": 1, "ngram": 1, "num_perm": 16})
    high = dedup.validate({"method": "minhash", "threshold": 0.01, "ngram": 13, "num_perm": 1024})

    assert (low["threshold"], low["ngram"], low["num_perm"]) == (1.0, 1, 16)
    assert (high["ngram"], high["num_perm"]) == (13, 1024)


# ── keys ──────────────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("method", "name", "dtype", "width"), [("exact", "hash", np.uint64, 2), ("minhash", "bands", np.uint64, None)]
)
def test_keys_are_aligned_arrays_without_strings_that_survive_np_save(method, name, dtype, width):
    options = dedup.validate({"method": method})
    batch = records(["Ünïcode text here", "", text(40, 1), {"prompt": "Hi", "response": "Hello there"}], first_id=7)

    keys = dedup.keys(batch, options)

    assert keys["id"].dtype == np.int64 and keys["id"].tolist() == [7, 8, 9, 10]
    assert keys["length"].dtype == np.int64
    assert keys["length"].tolist() == [17, 0, len(text(40, 1)), len("Hi\n\nHello there")]
    assert keys[name].dtype == dtype
    assert keys[name].shape == (4, width or dedup.bands_rows(0.8, 128)[0])
    for array in keys.values():
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        buffer.seek(0)
        assert np.array_equal(np.load(buffer, allow_pickle=False), array)


def test_keys_of_no_records_are_empty_arrays_and_merge_drops_nothing():
    for method in ("exact", "minhash"):
        options = dedup.validate({"method": method})
        keys = dedup.keys([], options)
        assert all(array.shape[0] == 0 for array in keys.values())
        assert dedup.merge(keys, options, fetch_texts=lambda ids: {}, scores=None) == []


SHAPES = [
    {"text": "A plain text record about the harbor."},
    {"system": "Be terse.", "prompt": "Describe the harbor.", "response": "Boats, gulls and rope."},
    {"prompt": "Describe the harbor.", "response": "Boats, gulls and rope."},
    {
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Describe the harbor."},
            {"role": "assistant", "content": "Boats, gulls and rope."},
        ]
    },
    {"prompt": "Describe the harbor.", "responses": ["Boats.", "Gulls and rope."]},
    {"prompt": "Describe the harbor.", "chosen": "Boats and gulls.", "rejected": "No idea."},
    {
        "prompt": [{"role": "user", "content": "Describe the harbor."}],
        "chosen": [{"role": "assistant", "content": "Boats and gulls."}],
        "rejected": [{"role": "assistant", "content": "No idea."}],
    },
]


@pytest.mark.parametrize("method", ["exact", "minhash"])
def test_every_record_shape_is_deduplicated_against_its_own_copy(method):
    # Each shape's own wording: the same words in two shapes are the same compared text, a duplicate too.
    shapes = [map_text(content, lambda value, i=i: f"{value} (shape {i})") for i, content in enumerate(SHAPES)]
    batch = records(shapes + shapes)

    dropped = run(batch, {"method": method})

    assert dropped_ids(dropped) == list(range(len(SHAPES) + 1, 2 * len(SHAPES) + 1))
    assert [d.detail["duplicate_of"] for d in dropped] == list(range(1, len(SHAPES) + 1))


def test_fields_restrict_the_text_compared():
    batch = records(
        [
            {"prompt": "Describe the harbor at dawn.", "response": "Boats and gulls."},
            {"prompt": "Describe the harbor at dawn.", "response": "Fog over the water."},
        ]
    )

    assert run(batch, {"method": "exact"}) == []
    assert dropped_ids(run(batch, {"method": "exact", "fields": ["prompt"]})) == [2]


def test_a_record_without_the_compared_text_is_never_a_duplicate():
    batch = records([{"prompt": "One.", "response": "A"}, {"prompt": "Two.", "response": "B"}, "", "   "])

    for method in ("exact", "minhash"):
        assert run(batch, {"method": method, "fields": ["system"]}) == []
        assert run(batch, {"method": method}) == []


# ── exact ─────────────────────────────────────────────────────────────────────────────────────────────────────────


def test_exact_catches_copies_differing_only_in_case_whitespace_and_unicode_form():
    original = "The ﬁrst snow fell on the harbor at dawn."
    batch = records(
        [
            original,
            "THE FIRST SNOW FELL ON THE HARBOR AT DAWN.",
            "  The first\tsnow fell on the\n\nharbor  at dawn.  ",
            "The ｆｉｒｓｔ snow fell on the harbor at dawn.",  # fullwidth letters: the same under NFKC
            "Thé first snow fell on the harbor at dawn.",  # another letter: not a copy
            "The first snow fell on the harbor at dawn",  # punctuation counts for exact dedup
        ]
    )

    dropped = run(batch, {"method": "exact"})

    assert dropped_ids(dropped) == [2, 3, 4]
    assert all(d.rule == "dedup.exact" and d.detail == {"duplicate_of": 1, "similarity": 1.0} for d in dropped)


def test_exact_keeps_the_first_by_default_the_longest_or_the_best_scored():
    batch = records(["hello world", "Hello   World", "HELLO WORLD ", "hello world"])

    assert [d.detail["duplicate_of"] for d in run(batch, {"method": "exact"})] == [1, 1, 1]
    longest = run(batch, {"method": "exact", "keep": "longest"})
    assert dropped_ids(longest) == [1, 3, 4] and {d.detail["duplicate_of"] for d in longest} == {2}
    best = run(batch, {"method": "exact", "keep": "best", "question": "q"}, scores={1: 2.0, 3: 4.5, 4: 4.5})
    assert dropped_ids(best) == [1, 2, 4] and {d.detail["duplicate_of"] for d in best} == {3}


def test_best_ranks_records_without_a_score_last_and_ties_go_to_the_first():
    batch = records(["same text", "same text", "same text"])

    none_scored = run(batch, {"method": "exact", "keep": "best", "question": "q"}, scores={})
    one_scored = run(batch, {"method": "exact", "keep": "best", "question": "q"}, scores={3: -1.0})
    nan_scored = run(batch, {"method": "exact", "keep": "best", "question": "q"}, scores={1: float("nan"), 2: 0.0})

    assert [d.detail["duplicate_of"] for d in none_scored] == [1, 1]
    assert [d.detail["duplicate_of"] for d in one_scored] == [3, 3]
    assert [d.detail["duplicate_of"] for d in nan_scored] == [2, 2]


def test_longest_counts_characters_of_the_compared_text_and_ties_go_to_the_first():
    batch = records(["Same words", "same  words", "same  words"])

    dropped = run(batch, {"method": "exact", "keep": "longest"})

    assert dropped_ids(dropped) == [1, 3] and {d.detail["duplicate_of"] for d in dropped} == {2}


# ── chunks and details ────────────────────────────────────────────────────────────────────────────────────────────


def mixed_batch(seed: int) -> list[dict]:
    rng = random.Random(seed)
    bases = [text(rng.randint(5, 60), seed * 100 + i) for i in range(25)]
    contents: list = []
    for i in range(120):
        base = rng.choice(bases)
        kind = rng.random()
        if kind < 0.3:
            contents.append(base.upper())
        elif kind < 0.6:
            words = base.split()
            words[rng.randrange(len(words))] = "lighthouse"
            contents.append(" ".join(words))
        elif kind < 0.8:
            contents.append({"prompt": base[: len(base) // 2], "response": base[len(base) // 2 :]})
        else:
            contents.append(text(rng.randint(0, 40), seed * 1000 + i))
    return records(contents)


@pytest.mark.parametrize("method", ["exact", "minhash"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_split_into_chunks_gives_the_same_removals(method, seed):
    batch = mixed_batch(seed)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(batch)), 6))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, len(batch)], strict=True)]
    options = dedup.validate({"method": method})

    whole = run(batch, {"method": method})
    split = run(batch, {"method": method}, chunks=sizes)
    one_by_one = run(batch, {"method": method}, chunks=[1] * len(batch))

    assert whole and split == whole and one_by_one == whole
    for name, array in dedup.keys(batch, options).items():
        parts = [dedup.keys(batch[a:b], options)[name] for a, b in zip([0, *cuts], [*cuts, len(batch)], strict=True)]
        assert np.array_equal(np.concatenate(parts), array)


@pytest.mark.parametrize("method", ["exact", "minhash"])
def test_details_are_json_ready(method):
    for d in run(mixed_batch(4), {"method": method}):
        assert json.loads(json.dumps(d.detail)) == d.detail
        assert isinstance(d.id, int) and isinstance(d.detail["duplicate_of"], int)
        assert d.rule == f"dedup.{method}"


def test_records_are_dropped_in_input_order_and_never_the_kept_one():
    dropped = run(mixed_batch(5), {"method": "minhash"})
    ids = dropped_ids(dropped)
    kept = {d.detail["duplicate_of"] for d in dropped}

    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert not kept & set(ids)


def test_a_record_id_is_what_the_runner_gave():
    batch = [record(10_000_000_000 + i, "the same words again") for i in range(3)]

    assert dropped_ids(run(batch, {"method": "minhash"})) == [10_000_000_001, 10_000_000_002]
