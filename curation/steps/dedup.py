"""The dedup step: exact, near-duplicate (MinHash, verified) and, with the optional extra, semantic.

A group step (see ``__init__.py``). The runner calls, in order:

1. ``validate(step minus "op")`` once, when the steps are submitted: the normalised options, with defaults;
2. ``keys(records, options)`` on each chunk of the input, in parallel: compact per-record arrays, all aligned,
   always with ``id`` (int64) and ``length`` (int64, characters of the compared text); no strings, so they can
   travel through the database with ``np.save``;
3. ``merge(keys, options, fetch_texts=…, scores=…)`` once, on the arrays of every chunk concatenated in input
   order: the records to drop, each with ``duplicate_of`` and ``similarity``.

Keys by method:

=========  ==========================================================================================
exact      ``hash``: uint64 (n × 2), a 128-bit hash of the normalised text (``dedup_exact.py``)
minhash    ``bands``: uint64 (n × bands), the LSH band hashes of the MinHash sketch (``minhash.py``)
semantic   ``embedding``: float32 (n × 384), L2-normalised sentence embeddings (``semantic.py``)
=========  ==========================================================================================

The compared text of a record is ``compared_text(content, options)``: the ``fields`` named (default: all text of
the example), joined as ``records.text_of`` joins them. An empty compared text is never a duplicate: dedup on a
field that most records lack keeps them all. ``merge`` of minhash re-reads the texts of its candidate records
through ``fetch_texts(ids)``, which must return ``compared_text`` of each record's content as ``keys`` saw it.

``keep`` picks the record a group of duplicates keeps: ``first`` (default: earliest in input order), ``longest``
(most characters of compared text) or ``best`` (highest score of the ``question`` named, which the runner passes
as ``scores``; records without a score rank last). Ties go to the earliest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import dedup_exact, minhash, semantic
from .base import Dropped, Record, StepOptionError
from .minhash import bands_rows
from .records import FIELDS, text_of

__all__ = ["bands_rows", "compared_text", "keys", "merge", "validate"]

METHODS = ("exact", "minhash", "semantic")
KEEP = ("first", "longest", "best")
PRESETS: dict[str, dict[str, Any]] = {"strict": {"ngram": 5, "threshold": 0.8}, "fuzzy": {"ngram": 1, "threshold": 0.7}}
DEFAULTS: dict[str, dict[str, Any]] = {
    "exact": {},
    "minhash": {"threshold": 0.8, "ngram": 5, "num_perm": 128},
    "semantic": {"threshold": 0.95},
}
_COMMON = {"method", "fields", "keep", "question"}
_ALLOWED = {"exact": _COMMON, "minhash": _COMMON | {"threshold", "ngram", "num_perm", "preset"}}
_ALLOWED["semantic"] = _COMMON | {"threshold"}


def validate(options: dict[str, Any]) -> dict[str, Any]:
    """The step's options (the step dict without ``op``) checked and normalised, with every default filled in.
    Raises ``StepOptionError`` naming the first wrong option. Normalised options validate to themselves."""
    if not isinstance(options, dict):
        raise StepOptionError("method", "A dedup step is an object with a method.")
    method = options.get("method")
    if method not in METHODS:
        raise StepOptionError("method", f"method must be one of {', '.join(METHODS)} (got {method!r}).")
    unknown = sorted(set(options) - _ALLOWED[method])
    if unknown:
        allowed = ", ".join(sorted(_ALLOWED[method] - {"method"}))
        raise StepOptionError(
            unknown[0], f"{unknown[0]!r} is not an option of dedup {method}: it takes {allowed}.", details=unknown
        )
    normal: dict[str, Any] = {"method": method, **DEFAULTS[method]}
    if method == "minhash" and options.get("preset") is not None:
        preset = options["preset"]
        if preset not in PRESETS:
            raise StepOptionError("preset", f"preset must be one of {', '.join(PRESETS)} (got {preset!r}).")
        normal.update(PRESETS[preset], preset=preset)
    normal["fields"] = _fields(options.get("fields"))
    normal.update(_keep(options))
    if "threshold" in normal:
        normal["threshold"] = _threshold(options.get("threshold", normal["threshold"]))
    if method == "minhash":
        normal["ngram"] = _integer(options.get("ngram", normal["ngram"]), "ngram", 1, 13, "words per shingle")
        normal["num_perm"] = _integer(
            options.get("num_perm", normal["num_perm"]), "num_perm", 16, 1024, "MinHash values per record"
        )
    if method == "semantic" and not semantic.available():
        raise StepOptionError(
            "method", "Semantic dedup needs the optional extra: install Winnow with pip install 'winnow[semantic]'."
        )
    return normal


def _fields(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
        raise StepOptionError("fields", f"fields must be a non-empty list of field names from {', '.join(FIELDS)}.")
    wrong = [name for name in value if name not in FIELDS]
    if wrong:
        raise StepOptionError(
            "fields", f"{wrong[0]!r} is not a field: use names from {', '.join(FIELDS)}.", details=wrong
        )
    return list(dict.fromkeys(value))


def _keep(options: Mapping[str, Any]) -> dict[str, Any]:
    keep = options.get("keep", "first")
    if keep not in KEEP:
        raise StepOptionError("keep", f"keep must be one of {', '.join(KEEP)} (got {keep!r}).")
    question = options.get("question")
    if keep == "best":
        if not isinstance(question, str) or not question.strip():
            raise StepOptionError(
                "question", 'keep "best" needs "question": the name of the question whose score ranks.'
            )
        return {"keep": keep, "question": question}
    if question is not None:
        raise StepOptionError("question", 'question is only read with keep "best".')
    return {"keep": keep}


def _threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not 0 < value <= 1:
        raise StepOptionError("threshold", f"threshold must be a number above 0 and at most 1 (got {value!r}).")
    return float(value)


def _integer(value: Any, option: str, low: int, high: int, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StepOptionError(option, f"{option} ({what}) must be a whole number from {low} to {high} (got {value!r}).")
    return int(value)


def compared_text(content: dict[str, Any], options: Mapping[str, Any]) -> str:
    """The text a dedup step compares for a record's content (what ``fetch_texts`` must return)."""
    return text_of(content, options.get("fields"))


def keys(records: list[Record], options: dict[str, Any]) -> dict[str, np.ndarray]:
    """Each record's compact keys (see the module's docstring); a record's keys depend on that record alone, so
    any split of the input into chunks gives the same arrays once concatenated."""
    texts = [compared_text(record["content"], options) for record in records]
    ids = np.fromiter((record["id"] for record in records), dtype=np.int64, count=len(records))
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
    method = options["method"]
    if method == "exact":
        return dedup_exact.keys(texts, ids, lengths, options)
    if method == "minhash":
        return minhash.keys(texts, ids, lengths, options)
    return semantic.keys(texts, ids, lengths, options)


def merge(
    keys: dict[str, np.ndarray],
    options: dict[str, Any],
    *,
    fetch_texts: Callable[[np.ndarray], dict[int, str]],
    scores: Mapping[int, float] | None,
) -> list[Dropped]:
    """The records to drop, in input order, given the keys of every chunk concatenated in input order.

    ``fetch_texts(ids)`` returns ``{id: compared_text}`` for the ids asked (minhash asks for the records of its
    candidate pairs only); ``scores`` maps record ids to the ``question``'s score when ``keep`` is ``best``."""
    method = options["method"]
    if method == "exact":
        return dedup_exact.merge(keys, options, scores)
    if method == "minhash":
        return minhash.merge(keys, options, fetch_texts=fetch_texts, scores=scores)
    return semantic.merge(keys, options, scores)
