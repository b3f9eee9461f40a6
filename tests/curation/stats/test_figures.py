"""The statistics of a stream of records: every figure on small hand-made records, slices, duplicates."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

from curation.stats import StatsAccumulator, removal_clusters
from curation.stats.figures import MISSING, OTHER, SLICES_SHOWN, value_text

STORY = "The old keeper climbed the stairs every evening to light the lamp above the grey and restless sea."
RECORDS = [
    {
        "id": 1,
        "content": {"prompt": "Write me a short poem about cats", "response": "**Cats** nap <b>all</b> day &nbsp;"},
        "metadata": {"source": "web", "topic": "poetry", "year": 2023},
    },
    {
        "id": 2,
        "content": {
            "messages": [
                {"role": "system", "content": "Be kind."},
                {"role": "user", "content": "Explain the concept of recursion."},
                {"role": "assistant", "content": "### Recursion\nA function that calls itself."},
                {"role": "user", "content": "Thanks!"},
                {"role": "assistant", "content": "You are welcome <|im_end|>"},
            ]
        },
        "metadata": {"source": "forum"},
    },
    {"id": 3, "content": {"text": STORY}, "metadata": {"source": "web", "topic": "fiction"}},
    {"id": 4, "content": {"text": "  " + STORY.upper() + " "}, "metadata": {"source": "books"}},
    {
        "id": 5,
        "content": {"prompt": "Describe the sea.", "chosen": "Grey and restless.", "rejected": "Blue."},
        "metadata": {},
    },
]


def finish(records=RECORDS, batch=2, **options):
    accumulator = StatsAccumulator(**options)
    for start in range(0, len(records), batch):
        accumulator.add(records[start : start + batch])
    return accumulator.finish()


def test_it_needs_no_django():
    code = "import sys, curation.stats; sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], env={**os.environ, "DJANGO_SETTINGS_MODULE": ""}).returncode == 0
    )


def test_it_counts_examples_by_shape():
    stats = finish()
    assert stats["examples"] == 5
    assert stats["shapes"] == {"text": 2, "chat": 1, "instruction": 1, "preference": 1}


def test_it_measures_each_field_in_characters_words_and_tokens():
    fields = finish()["fields"]

    assert set(fields) == {"text", "system", "prompt", "response", "chosen", "rejected"}
    assert fields["text"]["present"] == 2
    assert fields["text"]["chars"]["min"] == len(STORY) and fields["text"]["chars"]["max"] == len(STORY) + 3
    assert fields["text"]["words"]["p50"] == 18
    # instruction prompt (32 chars) and the chat's turns before its last answer, joined by a blank line
    chat_prompt = "Explain the concept of recursion.\n\n### Recursion\nA function that calls itself.\n\nThanks!"
    assert fields["prompt"]["chars"]["min"] == len("Describe the sea.")
    assert fields["prompt"]["chars"]["max"] == len(chat_prompt)
    assert fields["prompt"]["words"]["max"] == len(chat_prompt.split())
    assert fields["chosen"]["tokens"]["max"] == 4  # Grey | ␠and | ␠restless | .
    assert fields["system"]["chars"]["p50"] == len("Be kind.")


def test_it_counts_turns_of_chats_only():
    turns = finish()["turns"]
    assert turns["count"] == 1 and turns["min"] == turns["max"] == 4  # system turns are not turns


def test_it_counts_languages():
    assert finish()["languages"]["values"] == [["en", 5]]


def test_it_counts_metadata_values_with_non_strings_as_json():
    metadata = finish()["metadata"]
    assert metadata["source"]["values"] == [["web", 2], ["books", 1], ["forum", 1]]
    assert metadata["source"]["records"] == 4
    assert metadata["year"]["values"] == [["2023", 1]]
    assert value_text(["a", 1]) == '["a",1]' and value_text(None) == "null" and value_text(True) == "true"


def test_it_finds_exact_duplicates_by_normalised_content():
    exact = finish()["duplicates"]["exact"]
    assert exact["clusters_by_size"] == {"2": 1}
    assert exact["extra_copies"] == 1
    assert exact["largest"] == [{"size": 2, "examples": [3, 4]}]


def test_without_dedup_removals_there_is_no_removed_cluster():
    assert finish()["duplicates"]["removed"] is None


def test_it_counts_the_clusters_dedup_removed_by_size():
    removed = finish(duplicate_sizes={1: 3, 3: 2, 99: 5})["duplicates"]["removed"]
    assert removed["clusters_by_size"] == {"2": 1, "3": 1}  # 99 is not among the records
    assert removed["removed"] == 3
    assert removed["largest"] == [{"size": 3, "kept": 1}, {"size": 2, "kept": 3}]


def test_removal_clusters_join_chains_of_duplicates():
    # 5 and 6 removed as duplicates of 1; later 1 removed as a duplicate of 7; 8 of 9.
    assert removal_clusters([(5, 1), (6, 1), (1, 7), (8, 9)]) == {7: 4, 9: 2}
    assert removal_clusters([(1, 7), (5, 1), (6, 1)]) == {7: 4}
    assert removal_clusters([(5, 1), (8, 9)], kept=[9]) == {9: 2}


def test_it_counts_artefacts_per_field():
    artefacts = finish()["artefacts"]
    assert artefacts["html_tags"] == {
        "records": 1,
        "occurrences": 2,
        "by_field": {"response": {"records": 1, "occurrences": 2}},
    }
    assert artefacts["markdown_bold"]["by_field"] == {"response": {"records": 1, "occurrences": 1}}
    assert artefacts["html_entities"]["occurrences"] == 1
    assert artefacts["special_tokens"]["by_field"] == {"response": {"records": 1, "occurrences": 1}}
    # the chat's heading is in an earlier assistant turn: part of its prompt field
    assert artefacts["markdown_headings"]["by_field"] == {"prompt": {"records": 1, "occurrences": 1}}
    assert artefacts["markdown_links"] == {"records": 0, "occurrences": 0, "by_field": {}}


def test_it_counts_opening_words_and_verb_object_pairs():
    stats = finish()
    openers = stats["openers"]
    assert openers["prompts"] == 5
    assert openers["first_word"]["values"] == [["the", 2], ["describe", 1], ["explain", 1], ["write", 1]]
    assert openers["first_two_words"]["values"][0] == ["the old", 2]
    assert openers["top10_share"] == 1.0
    pairs = stats["verb_object"]
    assert pairs["with_pair"] == 3
    assert pairs["pairs"]["values"] == [["describe sea", 1], ["explain concept", 1], ["write poem", 1]]
    assert pairs["verbs"] == [["describe", 1], ["explain", 1], ["write", 1]]


def test_it_names_how_tokens_and_languages_were_counted():
    stats = finish()
    assert stats["tokens"]["method"] == "pre-tokenizer pieces" and "estimate" in stats["tokens"]["note"].lower()
    assert stats["language"]["method"] == "py3langid"


def test_its_sample_is_seeded_and_drawn_from_the_records():
    assert finish()["sample"] == [1, 2, 3, 4, 5]  # fewer records than the sample size
    many = [{"id": i, "content": {"text": f"text {i}"}, "metadata": {}} for i in range(100)]
    first, again, other = finish(many, batch=30), finish(many, batch=7), finish(many, seed=1)
    assert first["sample"] == again["sample"] != other["sample"]
    assert len(first["sample"]) == 10 and set(first["sample"]) <= set(range(100))


def test_the_result_does_not_depend_on_how_records_are_batched():
    assert finish(batch=1) == finish(batch=5)


def test_the_result_is_json():
    stats = finish(slice_key="source", duplicate_sizes={1: 2})
    assert orjson.loads(orjson.dumps(stats)) == stats


def test_each_slice_has_the_figures_its_records_alone_would_have():
    stats = finish(slice_key="source")
    sliced = stats["slice"]
    assert sliced["key"] == "source"
    assert [(v["value"], v["figures"]["examples"]) for v in sliced["values"]] == [
        ("web", 2),
        (MISSING, 1),
        ("books", 1),
        ("forum", 1),
    ]
    web = [record for record in RECORDS if record["metadata"].get("source") == "web"]
    alone = finish(web, seed=0)
    web_figures = sliced["values"][0]["figures"]
    for figure in ("shapes", "fields", "turns", "languages", "metadata", "artefacts", "openers", "verb_object"):
        assert web_figures[figure] == alone[figure], figure
    assert set(web_figures["sample"]) == {1, 3}


def test_slices_past_the_largest_are_merged_into_other():
    records = [
        {"id": i, "content": {"text": f"record number {i}"}, "metadata": {"group": f"g{i % 25:02d}"}}
        for i in range(25 * 4 + 10)  # g00..g09 have 5 records, g10..g24 have 4
    ]
    sliced = finish(records, batch=16, slice_key="group")["slice"]
    values = [v["value"] for v in sliced["values"]]
    assert len(values) == SLICES_SHOWN + 1 and values[-1] == OTHER
    assert values[:10] == [f"g{i:02d}" for i in range(10)]
    other = sliced["values"][-1]["figures"]
    assert other["examples"] == 5 * 4 and sliced["values_merged_into_other"] == 5
    assert other["metadata"]["group"]["values"] == [[f"g{i}", 4] for i in range(20, 25)]
    assert len(other["sample"]) == 10 and all(records[i]["metadata"]["group"] >= "g20" for i in other["sample"])


def test_a_slice_key_some_records_lack_puts_them_in_missing():
    sliced = finish(slice_key="topic")["slice"]
    assert {v["value"]: v["figures"]["examples"] for v in sliced["values"]} == {MISSING: 3, "fiction": 1, "poetry": 1}


@pytest.mark.parametrize("bad", [None, "not content", 3])
def test_a_record_without_usable_content_counts_as_an_empty_text(bad):
    stats = finish([{"id": 1, "content": bad, "metadata": None}])
    assert stats["examples"] == 1 and stats["shapes"] == {"text": 1}
    assert stats["languages"]["values"] == [["(none)", 1]]
