"""The export's train/eval split: groups (shared prompts, near-duplicates) never cross it, it depends on the seed
and the data only, and nested fractions are subsets of each other."""

from __future__ import annotations

import numpy as np

from curation.export.split import assign, near_duplicate_bands, prompt_key


def _texts(count: int, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [f"w{n}" for n in range(5000)]
    return [" ".join(rng.choice(words, size=60)) for _ in range(count)]


def test_prompt_keys_ignore_case_and_spacing_but_not_words():
    assert prompt_key("Write a  Poem\n") == prompt_key("write a poem")
    assert prompt_key("write a poem") != prompt_key("write a song")
    assert 0 <= prompt_key("anything") < 2**63


def test_rows_sharing_a_prompt_or_near_duplicates_fall_on_one_side():
    texts = _texts(400)
    # 40 near-duplicates: a copy of an earlier text with one word changed; 40 rows reusing an earlier prompt.
    near = [(n, 400 + n) for n in range(40)]
    for source, _ in near:
        words = texts[source].split()
        words[10] = "changed"
        texts.append(" ".join(words))
    ids = np.arange(1, len(texts) + 1, dtype=np.int64) * 7
    keys = np.array([prompt_key(f"prompt {n}") for n in range(len(texts))], dtype=np.int64)
    shared = [(100 + n, 200 + n) for n in range(40)]
    for left, right in shared:
        keys[right] = keys[left]

    split = assign(ids, keys, near_duplicate_bands(texts), seed=11, eval_fraction=0.3)

    for left, right in near + shared:
        assert split.eval[left] == split.eval[right]
        assert split.draw[left] == split.draw[right]
    assert split.near_duplicate_pairs >= 40
    assert split.grouped_rows >= 160
    assert 0.2 < split.eval.mean() < 0.4


def test_the_split_depends_on_the_seed_and_the_data_not_the_reading_order():
    texts = _texts(300)
    ids = np.arange(300, dtype=np.int64) + 1000
    keys = np.array([prompt_key(t[:30]) for t in texts], dtype=np.int64)
    first = assign(ids, keys, near_duplicate_bands(texts), seed=5, eval_fraction=0.2)
    again = assign(ids, keys, near_duplicate_bands(texts), seed=5, eval_fraction=0.2)
    order = np.random.default_rng(0).permutation(300)
    shuffled = assign(
        ids[order], keys[order], near_duplicate_bands([texts[i] for i in order]), seed=5, eval_fraction=0.2
    )
    other_seed = assign(ids, keys, near_duplicate_bands(texts), seed=6, eval_fraction=0.2)

    assert np.array_equal(first.eval, again.eval)
    assert np.array_equal(first.eval[order], shuffled.eval)
    assert not np.array_equal(first.eval, other_seed.eval)


def test_nested_fractions_are_subsets_and_near_their_share():
    size = 20_000
    ids = np.arange(size, dtype=np.int64)
    split = assign(ids, ids.copy(), None, seed=1, eval_fraction=0.0)
    quarter, half = split.draw < 0.25, split.draw < 0.5
    assert not (quarter & ~half).any()
    assert abs(quarter.mean() - 0.25) < 0.02 and abs(half.mean() - 0.5) < 0.02
    assert not split.eval.any()


def test_no_rows_make_an_empty_split():
    split = assign(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), None, seed=0, eval_fraction=0.5)
    assert split.groups == 0 and split.eval.size == 0
