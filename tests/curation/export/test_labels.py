"""Each example's settled label for an export: resolution, else majority (or mean), ties and thresholds, and
z-scoring per annotator, read through the labels layer."""

from __future__ import annotations

import numpy as np
import pytest

from curation.export import labels
from curation.export.labels import LabelRules, settle


def _settled(data, question, **rules):
    members = np.array(sorted(data.ids.values()), dtype=np.int64)
    return settle(data.project, LabelRules(data.project.questions.get(name=question), **rules), members=members)


def _one(settled, data, name):
    value, reason = settled.lookup(np.array([data.ids[name]], dtype=np.int64))
    return value[0], labels.REASONS.get(int(reason[0]), "usable")


@pytest.mark.django_db
def test_preference_is_the_resolution_else_the_majority_and_a_tie_is_a_tie(labelled):
    settled = _settled(labelled, "better")

    assert _one(settled, labelled, "cands_a") == (labels.PREFERENCE_CODES["a"], "usable")
    assert _one(settled, labelled, "cands_tie")[1] == "tie"
    assert _one(settled, labelled, "cands_resolved") == (labels.PREFERENCE_CODES["a"], "usable")  # not the b majority
    assert _one(settled, labelled, "cands_none")[1] == "no_label"
    assert settled.resolutions == 1
    assert settled.annotations == 3  # the three labels of cands_a; the resolved example's labels were not used
    assert settled.guideline_versions == [1]


@pytest.mark.django_db
def test_gold_takes_resolutions_only_and_majority_ignores_them(labelled):
    gold = _settled(labelled, "better", mode="gold")
    majority = _settled(labelled, "better", mode="majority")

    assert _one(gold, labelled, "cands_a")[1] == "no_label"
    assert _one(gold, labelled, "cands_resolved") == (labels.PREFERENCE_CODES["a"], "usable")
    assert _one(majority, labelled, "cands_resolved") == (labels.PREFERENCE_CODES["b"], "usable")
    assert majority.guideline_versions == [1, 2]


@pytest.mark.django_db
def test_thresholds_apply_to_labels_settled_from_annotators(labelled):
    settled = _settled(labelled, "better", min_annotations=3, min_agreement=0.5)

    # cands_a: 3 labels, pairs agreeing 1 of 3 → 0.33 < 0.5
    assert _one(settled, labelled, "cands_a")[1] == "low_agreement"
    assert _one(settled, labelled, "cands_tie")[1] == "too_few_annotations"
    assert _one(settled, labelled, "cands_resolved")[1] == "usable"  # a reviewer's resolution passes


@pytest.mark.django_db
def test_scores_are_means_and_zscoring_removes_each_annotators_offset(labelled):
    plain = _settled(labelled, "quality")
    zscored = _settled(labelled, "quality", zscore=True)

    assert _one(plain, labelled, "instruction") == (3.0, "usable")
    assert _one(plain, labelled, "chat") == (2.0, "usable")
    # Reference: z-score each annotator's ratings, average per example, map back onto the pooled scale.
    ratings = {name: [base + 1, base, base - 1] for name, base in (("instruction", 3), ("with_system", 4), ("chat", 2))}
    table = np.array(list(ratings.values()), dtype=float)  # examples × annotators
    z = (table - table.mean(axis=0)) / table.std(axis=0)
    expected = table.mean() + z.mean(axis=1) * table.std()
    for row, name in enumerate(ratings):
        assert _one(zscored, labelled, name)[0] == pytest.approx(expected[row])
    assert _one(zscored, labelled, "instruction")[0] == pytest.approx(3.0)  # the middle example stays in the middle
