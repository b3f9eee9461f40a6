"""The settled answer per example the pipeline's label filters read: majority (None on a tie) and pair agreement."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from annotate import gold


def test_majorities_count_every_example_at_once():
    current = SimpleNamespace(
        example=np.array([1, 1, 2, 2, 2, 3, 4, 4]), code=np.array([0, 0, 0, 1, 1, 2, 0, 1]), categories=["a", "b", "c"]
    )

    assert list(gold._majorities(current)) == [
        (1, "a", 1.0),  # both agree
        (2, "b", 1 / 3),  # one agreeing pair of three
        (3, "c", None),  # one label: no pairs
        (4, None, 0.0),  # a tie has no majority
    ]
