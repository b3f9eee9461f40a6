"""The decontaminate step: drop every record that shares a word n-gram with an evaluation set, so that a model is
not trained on the answers it will be tested on.

``{"op": "decontaminate", "against": <version id>, "ngram": 13, "fields": [...]}``. The runner loads the examples of
version ``against``, builds an index once with ``build_index(eval_records, ngram, fields)`` and passes it to every
chunk as ``context["eval_index"]``. The index is a few numpy arrays (it pickles): about 5 s and 60 MB for 100,000
evaluation examples of 80 words, so build it once per job (or once per worker process), not once per chunk.

Texts are compared normalised (``ngrams.normalized_words``: lowercased, punctuation stripped, split into words);
``fields`` (default: all text of the example) picks the text on both sides, the records' and the evaluation set's;
the fields are joined, so an n-gram may run from a prompt into its response.
A record sharing any ``ngram``-word sequence with an evaluation example is dropped:
``Dropped(id, "decontaminate", {"eval_example": <id>, "ngram": "<the first shared n-gram>", "overlap": <how many
distinct n-grams of the record the evaluation set holds>})``; the evaluation example named is the one sharing the
most of them (the first met in the record, on a tie). ``stats["short_records"]`` counts the records compared whole.

A text shorter than ``ngram`` words has no n-gram: such a record is compared whole with the evaluation texts that
are themselves shorter than ``ngram`` words, and dropped when one is equal to it (``overlap`` 1, ``ngram`` its
whole text). A short evaluation text inside a longer record is therefore not caught; lower ``ngram`` (down to 8)
for an evaluation set of short questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from curation.steps.base import Dropped, Record, StepOutput
from curation.steps.ngrams import I64, U64, NgramHashes, hash_ngrams, normalized_text, normalized_words, stable_hash
from curation.steps.options import FIELD_LIST, INT, Option, validate_options
from curation.steps.records import text_of

OPTIONS = (
    Option("against", INT, "the id of the dataset version holding the evaluation set", required=True, minimum=1),
    Option("ngram", INT, "how many consecutive words two texts must share", default=13, minimum=8, maximum=50),
    Option("fields", FIELD_LIST, "the fields compared, on both sides (default: all text of the example)"),
)
_BATCH = 10_000  # evaluation records read together


@dataclass(frozen=True)
class EvalIndex:
    """Every word n-gram of an evaluation set, as sorted unique 64-bit hashes, each with the position (in
    ``example_ids``) of the first evaluation example holding it; and the whole texts of the examples shorter than
    ``ngram`` words, the same way. About 12 bytes per distinct n-gram: 100,000 examples of 300 words take 360 MB."""

    ngram: int
    fields: tuple[str, ...] | None
    example_ids: npt.NDArray[np.int64]
    hashes: U64
    owners: npt.NDArray[np.int32]
    short_hashes: U64
    short_owners: npt.NDArray[np.int32]


def validate(options: dict[str, Any]) -> dict[str, Any]:
    return validate_options(OPTIONS, options, owner="the decontaminate step")


def build_index(eval_records: Iterable[Record], ngram: int, fields: list[str] | tuple[str, ...] | None) -> EvalIndex:
    """The index of ``eval_records`` (read once, in order, a batch at a time) for ``apply``."""
    ids: list[int] = []
    hashes: list[U64] = [np.empty(0, dtype=np.uint64)]
    owners: list[npt.NDArray[np.int32]] = [np.empty(0, dtype=np.int32)]
    short: list[tuple[int, int]] = []
    for batch in batched(eval_records, _BATCH):
        first = len(ids)
        ids += (record["id"] for record in batch)
        texts = [text_of(record["content"], fields) for record in batch]
        found = hash_ngrams(texts, ngram)
        hashes.append(found.hashes)
        owners.append((found.text + first).astype(np.int32))
        for i in np.flatnonzero((found.word_counts > 0) & (found.word_counts < ngram)):
            short.append((stable_hash(normalized_text(texts[i])), first + int(i)))
    all_hashes, all_owners = _first_owner_of_each(np.concatenate(hashes), np.concatenate(owners))
    short_hashes, short_owners = _first_owner_of_each(
        np.array([h for h, _ in short], dtype=np.uint64), np.array([p for _, p in short], dtype=np.int32)
    )
    return EvalIndex(
        ngram=ngram,
        fields=tuple(fields) if fields else None,
        example_ids=np.array(ids, dtype=np.int64),
        hashes=all_hashes,
        owners=all_owners,
        short_hashes=short_hashes,
        short_owners=short_owners,
    )


def batched(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _first_owner_of_each(hashes: U64, owners: npt.NDArray[np.int32]) -> tuple[U64, npt.NDArray[np.int32]]:
    """``hashes`` sorted and unique, each with the smallest owner that held it (a stable sort keeps owners in
    the order they were added, which is increasing)."""
    order = np.argsort(hashes, kind="stable")
    hashes, owners = hashes[order], owners[order]
    first = np.ones(len(hashes), dtype=bool)
    first[1:] = hashes[1:] != hashes[:-1]
    return hashes[first], owners[first]


def apply(records: list[Record], options: dict[str, Any], context: dict[str, Any]) -> StepOutput:
    index = _index_for(options, context)
    texts = [text_of(record["content"], options["fields"]) for record in records]
    ngrams = hash_ngrams(texts, index.ngram)
    details = _ngram_matches(texts, ngrams, index)
    out = StepOutput(kept=[], stats={"short_records": 0})
    for i, record in enumerate(records):
        if 0 < ngrams.word_counts[i] < index.ngram:
            out.stats["short_records"] += 1
            details[i] = _whole_text_match(texts[i], index)
        detail = details.get(i)
        if detail is None:
            out.kept.append(record)
        else:
            out.dropped.append(Dropped(record["id"], "decontaminate", detail))
    return out


def _index_for(options: dict[str, Any], context: dict[str, Any]) -> EvalIndex:
    index = context.get("eval_index")
    if not isinstance(index, EvalIndex):
        raise KeyError("the decontaminate step needs context['eval_index'], built with build_index()")
    fields = tuple(options["fields"]) if options["fields"] else None
    if (index.ngram, index.fields) != (options["ngram"], fields):
        raise ValueError(
            f"the eval index was built for ngram={index.ngram}, fields={index.fields}; the step asks for "
            f"ngram={options['ngram']}, fields={fields}"
        )
    return index


def _ngram_matches(texts: list[str], ngrams: NgramHashes, index: EvalIndex) -> dict[int, dict[str, Any] | None]:
    """The removal detail of each text (by its index) sharing an n-gram with the evaluation set."""
    found, at = _lookup(ngrams.hashes, index.hashes)
    shared = np.flatnonzero(found)
    if not len(shared):
        return {}
    hashes, text, position = ngrams.hashes[shared], ngrams.text[shared], ngrams.position[shared]
    owners = index.owners[at[shared]]
    details: dict[int, dict[str, Any] | None] = {}
    # the shared n-grams come in order of text: each text's are one run
    starts = np.flatnonzero(np.r_[True, text[1:] != text[:-1]])
    for run in np.split(np.arange(len(text)), starts[1:]):
        i = int(text[run[0]])
        details[i] = _detail(texts[i], index, hashes[run], owners[run], position[run])
    return details


def _detail(text: str, index: EvalIndex, hashes: U64, owners: npt.NDArray[np.int32], position: I64) -> dict[str, Any]:
    """What a text shares with the evaluation set, from its shared n-grams (in order of position): the
    evaluation example sharing the most distinct n-grams (on a tie, the one met first), its first n-gram, and how
    many distinct n-grams the text shares in all."""
    distinct, first = np.unique(hashes, return_index=True)
    sharing, counts = np.unique(owners[first], return_counts=True)
    best = np.isin(owners, sharing[counts == counts.max()])
    at = int(np.argmax(best))
    start = int(position[at])
    return {
        "eval_example": int(index.example_ids[owners[at]]),
        "ngram": " ".join(normalized_words(text)[start : start + index.ngram]),
        "overlap": len(distinct),
    }


def _whole_text_match(text: str, index: EvalIndex) -> dict[str, Any] | None:
    normalized = normalized_text(text)
    found, at = _lookup(np.array([stable_hash(normalized)], dtype=np.uint64), index.short_hashes)
    if not found[0]:
        return None
    owner = index.short_owners[at[0]]
    return {"eval_example": int(index.example_ids[owner]), "ngram": normalized, "overlap": 1}


def _lookup(hashes: U64, sorted_hashes: U64) -> tuple[npt.NDArray[np.bool_], I64]:
    """Which of ``hashes`` are in ``sorted_hashes``, and where. The queries are searched in increasing order,
    which lets numpy narrow each search from the last one: several times faster on a large index."""
    if not len(sorted_hashes):
        return np.zeros(len(hashes), dtype=bool), np.zeros(len(hashes), dtype=np.int64)
    order = np.argsort(hashes)
    at = np.empty(len(hashes), dtype=np.int64)
    at[order] = np.searchsorted(sorted_hashes, hashes[order])
    np.minimum(at, len(sorted_hashes) - 1, out=at)
    found: npt.NDArray[np.bool_] = sorted_hashes[at] == hashes
    return found, at
