"""Shared helpers of the dedup tests: records, a run of the step as the runner runs it, and the reference Jaccard."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from curation.steps import dedup
from curation.steps.base import Dropped
from curation.steps.shingles import words

_WORDS = """
river stone garden window morning letter harbor valley engine bridge lantern market winter teacher village
kitchen forest island mirror candle basket ladder pillow carpet compass anchor bottle thread needle orange lemon
bread cheese butter honey coffee mountain meadow station library museum theater castle tower field meadow road
painter sailor farmer doctor baker singer dancer writer builder driver pilot farmer captain student neighbor
quickly slowly gently warmly boldly calmly quietly loudly eagerly happily brightly softly
green silver golden ancient narrow hollow crowded silent distant frozen hidden broken wooden gentle
carried painted repaired followed discovered collected gathered measured planted visited borrowed described
under over across through beside beyond inside around behind near along toward
"""
VOCABULARY = _WORDS.split()


def sentence_words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(VOCABULARY) for _ in range(count)]


def text(count: int, seed: int) -> str:
    return " ".join(sentence_words(count, seed))


def record(id: int, content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        content = {"text": content}
    return {"id": id, "content": content, "metadata": {}}


def records(contents: list[Any], first_id: int = 1) -> list[dict[str, Any]]:
    return [record(first_id + i, content) for i, content in enumerate(contents)]


def run(
    batch: list[dict[str, Any]],
    step: dict[str, Any],
    scores: dict[int, float] | None = None,
    chunks: list[int] | None = None,
) -> list[Dropped]:
    """validate, keys on each chunk (sizes ``chunks``), the arrays concatenated, merge: as the runner does."""
    options = dedup.validate(step)
    sizes = chunks or [len(batch)]
    parts, start = [], 0
    for size in sizes:
        parts.append(dedup.keys(batch[start : start + size], options))
        start += size
    keys = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    texts = {r["id"]: dedup.compared_text(r["content"], options) for r in batch}
    return dedup.merge(
        keys, options, fetch_texts=lambda ids: {int(i): texts[int(i)] for i in ids.tolist()}, scores=scores
    )


def shingle_set(value: str, n: int) -> frozenset[str]:
    w = words(value)
    if not w:
        return frozenset()
    if len(w) < n:
        return frozenset([" ".join(w)])
    return frozenset(" ".join(w[i : i + n]) for i in range(len(w) - n + 1))


def jaccard(a: str, b: str, n: int) -> float:
    x, y = shingle_set(a, n), shingle_set(b, n)
    return len(x & y) / len(x | y) if x and y else 0.0


def dropped_ids(dropped: list[Dropped]) -> list[int]:
    return [d.id for d in dropped]
