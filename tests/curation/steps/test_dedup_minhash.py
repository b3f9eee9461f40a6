"""Near-duplicate dedup: what it catches, what it must leave alone, and that every similarity it reports is the
exact Jaccard similarity of the two texts' shingle sets."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curation.steps import dedup
from curation.steps.shingles import shingle_hashes, words
from tests.curation.steps.helpers import dropped_ids, jaccard, records, run, sentence_words, text

MINHASH = {"method": "minhash"}


def edited(words_: list[str], positions: list[int], replacement: str = "lighthouse") -> str:
    out = list(words_)
    for position in positions:
        out[position] = replacement
    return " ".join(out)


def test_light_edits_are_caught_with_their_exact_similarity():
    base = sentence_words(150, 1)
    original = " ".join(base)
    variants = [
        edited(base, [149]),  # the last word
        original.replace(" ", ", ", 3) + "!",  # punctuation only: the same words
        " ".join(base[:-2]),  # two words fewer
        edited(base, [10, 90]),
        original.upper(),
    ]
    batch = records([original, *variants])

    dropped = run(batch, MINHASH)

    assert dropped_ids(dropped) == [2, 3, 4, 5, 6]
    for d in dropped:
        assert d.rule == "dedup.minhash" and d.detail["duplicate_of"] == 1
        assert d.detail["similarity"] == round(jaccard(original, batch[d.id - 1]["content"]["text"], 5), 4)
        assert d.detail["similarity"] >= 0.8 and "via" not in d.detail


def test_the_threshold_is_exact_on_both_sides():
    # Appending k new words to a 104-word text adds k shingles: Jaccard = 100 / (100 + k); each variant's own
    # words, so two variants are further apart from each other than from the original.
    base = sentence_words(104, 2)
    batch = records([" ".join(base)] + [" ".join(base + [f"x{k}y{i}" for i in range(k)]) for k in (24, 25, 26, 30)])

    dropped = run(batch, MINHASH)

    assert dropped_ids(dropped) == [2, 3]  # 100/124 = 0.806 and 100/125 = 0.8 are duplicates; 0.794, 0.769 are not
    assert [d.detail["similarity"] for d in dropped] == [round(100 / 124, 4), 0.8]


def test_near_misses_just_below_the_threshold_survive():
    rng = random.Random(3)
    batch_texts = []
    for seed in range(20):
        base = sentence_words(120, 100 + seed)
        other = edited(base, rng.sample(range(120), 2), "seashore")  # about 0.85: a duplicate
        far = edited(base, list(range(0, 120, 30)))  # four edits 30 words apart: 100/132 = 0.76
        batch_texts += [" ".join(base), other, far]
    batch = records(batch_texts)

    dropped = run(batch, MINHASH)

    by_id = {r["id"]: r["content"]["text"] for r in batch}
    survivors = set(by_id) - set(dropped_ids(dropped))
    for d in dropped:
        assert round(jaccard(by_id[d.id], by_id[d.detail["duplicate_of"]], 5), 4) == d.detail["similarity"]
    for record_id in range(3, 61, 3):  # the far ones
        assert record_id in survivors
        assert max(jaccard(by_id[record_id], by_id[o], 5) for o in by_id if o != record_id) < 0.8
    assert all(record_id not in survivors for record_id in range(2, 61, 3))


def test_shared_prompt_templates_are_not_duplicates():
    topics = ["the sea", "a lost city", "autumn rain", "an old lighthouse", "the first snow", "a quiet library"]
    batch = records(
        [
            {"prompt": f"Write a poem about {topic}.", "response": text(60, 200 + i)}
            for i, topic in enumerate(topics * 5)
        ]
    )

    assert run(batch, MINHASH) == []
    assert run(batch, {"method": "minhash", "preset": "fuzzy"}) == []


def test_a_long_shared_boilerplate_with_different_content_is_not_a_duplicate():
    boilerplate = (
        "Disclaimer: this content is provided for general information only and does not constitute professional "
        "advice of any kind. The authors make no representations or warranties about the accuracy or completeness "
        "of the material, and readers should consult a qualified adviser before acting on anything described here."
    )
    contents = [f"{boilerplate}\n\n{text(30, 300 + i)}" for i in range(300)]  # a bucket far over BUCKET_CAP
    # and, among them, true near duplicates: the same content with one word changed
    contents += [c.rsplit(" ", 1)[0] + " lighthouse" for c in contents[:5]]
    batch = records(contents)

    dropped = run(batch, MINHASH)

    assert dropped_ids(dropped) == list(range(301, 306))
    assert [d.detail["duplicate_of"] for d in dropped] == [1, 2, 3, 4, 5]
    assert len(boilerplate.split()) > 45  # most of each text is the boilerplate


def test_a_member_joined_through_another_names_it():
    # Shingle sets A ⊂ B ⊂ C: J(A, B) = 96/110, J(B, C) = 110/124, J(A, C) = 96/124 = 0.774 < 0.8.
    base = sentence_words(128, 4)
    batch = records([" ".join(base[:100]), " ".join(base[:114]), " ".join(base)])

    dropped = run(batch, MINHASH)

    assert dropped_ids(dropped) == [2, 3]
    assert dropped[0].detail == {"duplicate_of": 1, "similarity": round(96 / 110, 4)}
    assert dropped[1].detail == {
        "duplicate_of": 1,
        "similarity": round(96 / 124, 4),
        "via": 2,
        "via_similarity": round(110 / 124, 4),
    }


def test_keep_policies_pick_within_a_near_duplicate_cluster():
    base = sentence_words(100, 5)
    batch = records([" ".join(base), " ".join(base + ["one", "more"]), edited(base, [50])])

    longest = run(batch, {"method": "minhash", "keep": "longest"})
    best = run(batch, {"method": "minhash", "keep": "best", "question": "q"}, scores={3: 5.0})

    assert dropped_ids(longest) == [1, 3] and {d.detail["duplicate_of"] for d in longest} == {2}
    assert dropped_ids(best) == [1, 2] and {d.detail["duplicate_of"] for d in best} == {3}


def test_short_texts_are_one_shingle_of_all_their_words():
    batch = records(["Thank you!", "thank you", "Thank you very much", "Thanks", "ok", "OK."])

    dropped = run(batch, MINHASH)

    assert [(d.id, d.detail["duplicate_of"]) for d in dropped] == [(2, 1), (6, 5)]


def test_unique_texts_ask_for_no_text():
    batch = records([text(80, 400 + i) for i in range(50)])
    options = dedup.validate(MINHASH)
    asked: list[int] = []

    def fetch_texts(ids: np.ndarray) -> dict[int, str]:
        asked.extend(ids.tolist())
        return {}

    assert dedup.merge(dedup.keys(batch, options), options, fetch_texts=fetch_texts, scores=None) == []
    assert asked == []


def test_the_bands_are_chosen_from_the_s_curve_to_catch_pairs_at_the_threshold():
    for threshold in (0.5, 0.7, 0.8, 0.9, 1.0):
        for num_perm in (64, 128, 256):
            bands, rows = dedup.bands_rows(threshold, num_perm)
            midpoint = (1 / bands) ** (1 / rows)
            assert bands * rows <= num_perm
            assert midpoint < threshold
            assert 1 - (1 - threshold**rows) ** bands >= (0.98 if num_perm >= 128 else 0.93)
    assert dedup.bands_rows(0.8, 128) == (18, 7)


# ── properties ────────────────────────────────────────────────────────────────────────────────────────────────────

TINY = ["sun", "moon", "star", "sky", "sea", "Sun", "sea,", "—", "ünï"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.lists(st.sampled_from(TINY), min_size=0, max_size=12).map(" ".join), min_size=2, max_size=14),
    ngram=st.integers(1, 3),
    threshold=st.sampled_from([0.3, 0.5, 0.8, 1.0]),
    keep=st.sampled_from(["first", "longest"]),
)
def test_it_never_drops_a_record_unlike_every_other_and_reports_exact_similarities(texts, ngram, threshold, keep):
    batch = records(texts)
    by_id = {r["id"]: r["content"]["text"] for r in batch}

    dropped = run(batch, {"method": "minhash", "ngram": ngram, "threshold": threshold, "keep": keep})

    for d in dropped:
        others = [jaccard(by_id[d.id], by_id[o], ngram) for o in by_id if o != d.id]
        assert max(others) >= threshold  # precision by construction
        kept = d.detail["duplicate_of"]
        assert d.detail["similarity"] == round(jaccard(by_id[d.id], by_id[kept], ngram), 4)
        if "via" in d.detail:
            assert jaccard(by_id[d.id], by_id[kept], ngram) < threshold
            assert jaccard(by_id[d.id], by_id[d.detail["via"]], ngram) >= threshold
            assert d.detail["via_similarity"] == round(jaccard(by_id[d.id], by_id[d.detail["via"]], ngram), 4)
        else:
            assert jaccard(by_id[d.id], by_id[kept], ngram) >= threshold


@settings(max_examples=80, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("abcAB Ü,.'\u2014\u201c\x00\t\n-é€😀ﬁİǅ\u00a0\u3000")), max_size=40),
    st.integers(1, 4),
)
def test_hashed_shingles_are_the_word_n_grams(value, ngram):
    w = words(value)
    expected = [" ".join(w[i : i + ngram]) for i in range(max(len(w) - ngram + 1, 1 if w else 0))]

    hashes, offsets = shingle_hashes(["padding before", value, "and after it"], ngram)
    mine = hashes[offsets[1] : offsets[2]].tolist()

    assert len(mine) == len(expected)
    assert len(set(mine)) == len(set(expected))
    assert len(set(zip(expected, mine, strict=True))) == len(set(expected))  # equal shingles, equal hashes


def test_words_split_on_whitespace_punctuation_and_control_characters_after_folding():
    assert words("Hello, WORLD! It's “quoted”—and…\x00done ﬁne $5 a+b") == [
        "hello", "world", "it", "s", "quoted", "and", "done", "fine", "$5", "a+b",
    ]  # fmt: skip
