"""The inspection statistics of a set of records: fed in batches, finished into a JSON-able dict. Pure, no Django.

``StatsAccumulator(slice_key=…, duplicate_sizes=…, seed=…)``; ``add(records)`` for each batch of
``{"id", "content", "metadata"}`` dicts; ``finish()``. Each record is measured once (``measure``); its facts go
into the figures of the whole set and, with a ``slice_key``, into those of its value of that metadata key. Memory
stays bounded whatever the number of records: lengths are histograms plus the values while they fit
(``series.EXACT_MAX``), value counts are capped, and at most ``MAX_TRACKED_SLICES`` values of the slice key get
their own figures (the records of later values go to "other"); the result shows the ``SLICES_SHOWN`` largest
slices and merges the others into one. Content hashes (8 bytes and the id per record) are kept to find the exact
duplicates: 16 bytes a record, 16 MB a million.
"""

from __future__ import annotations

import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

import numpy as np
import orjson

from annotate.shapes import shape_of
from curation.stats import text as measure_text
from curation.stats.series import COUNT_EDGES, LENGTH_EDGES, CappedCounter, Reservoir, Series
from curation.steps.base import Record
from curation.steps.records import FIELDS, fields_of, text_of
from curation.steps.shingles import normalise

UNITS = ("chars", "words", "tokens")
MISSING = "(missing)"
OTHER = "(other)"
MAX_TRACKED_SLICES = 200
SLICES_SHOWN = 20
SAMPLE_SIZE = 10
MAX_METADATA_KEYS = 30
# Values kept per counter: of the whole set, and of each slice.
VALUES_KEPT = {"all": 2_000, "slice": 200}
# Values shown per counter in the result (coverage reads the metadata values from it).
VALUES_SHOWN = {"metadata": 200, "languages": 30, "first_word": 30, "first_two_words": 30, "pairs": 30}
LARGEST_CLUSTERS = 5


def value_text(value: Any) -> str:
    """A metadata value as the statistics name it: a string as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def content_hash(content: dict[str, Any]) -> int:
    """A 64-bit hash of all text of the content, normalised as exact dedup normalises it (0 for no text)."""
    normal = normalise(text_of(content))
    if not normal:
        return 0
    return int.from_bytes(blake2b(normal.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass
class Facts:
    """What the statistics need of one record, measured once whatever the figures it goes into."""

    id: int
    shape: str
    lengths: dict[str, tuple[int, int, int]]  # field → (chars, words, tokens)
    turns: int | None
    language: str
    metadata: dict[str, str]
    hash: int
    artefacts: dict[str, dict[str, int]]  # field → kind → occurrences
    first_words: list[str]
    pair: tuple[str, str] | None
    duplicates: int  # size of the removed-duplicate cluster the record kept (1: none)
    slice_value: str = MISSING


def measure(record: Record, duplicate_sizes: Mapping[int, int] | None = None, slice_key: str | None = None) -> Facts:
    content: dict[str, Any] = record["content"] if isinstance(record.get("content"), dict) else {}
    metadata: dict[str, Any] = record["metadata"] if isinstance(record.get("metadata"), dict) else {}
    by_field = fields_of(content)
    lengths: dict[str, tuple[int, int, int]] = {}
    found: dict[str, dict[str, int]] = {}
    for name in FIELDS:
        if name not in by_field:
            continue
        piece = by_field[name]
        lengths[name] = (len(piece), measure_text.word_count(piece), measure_text.token_estimate(piece))
        if piece and (kinds := measure_text.artefacts(piece)):
            found[name] = kinds
    messages = content.get("messages")
    turns = (
        sum(1 for m in messages if isinstance(m, dict) and m.get("role") != "system")
        if isinstance(messages, list)
        else None
    )
    opening = measure_text.opening_words(measure_text.prompt_text(content))
    return Facts(
        id=int(record["id"]),
        shape=shape_of(content),
        lengths=lengths,
        turns=turns,
        language=measure_text.language(text_of(content)),
        metadata={str(key): value_text(value) for key, value in list(metadata.items())[: MAX_METADATA_KEYS * 2]},
        hash=content_hash(content),
        artefacts=found,
        first_words=opening[:2],
        pair=measure_text.verb_object(opening),
        duplicates=(duplicate_sizes or {}).get(int(record["id"]), 1),
        slice_value=value_text(metadata[slice_key]) if slice_key is not None and slice_key in metadata else MISSING,
    )


@dataclass
class Figures:
    """The figures of one set of records (the whole set, or one slice)."""

    seed: int
    capacity: int
    examples: int = 0
    shapes: Counter[str] = field(default_factory=Counter)
    lengths: dict[str, dict[str, Series]] = field(default_factory=dict)
    turns: Series = field(default_factory=lambda: Series(COUNT_EDGES))
    languages: Counter[str] = field(default_factory=Counter)
    metadata: dict[str, CappedCounter] = field(default_factory=dict)
    metadata_keys_dropped: set[str] = field(default_factory=set)
    hashes: array[int] = field(default_factory=lambda: array("Q"))
    hash_ids: array[int] = field(default_factory=lambda: array("q"))
    removed_clusters: Counter[int] = field(default_factory=Counter)
    largest_removed: list[tuple[int, int]] = field(default_factory=list)  # (size, id), the largest few
    artefacts: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # kind → field → [records, occurrences]
    artefact_records: Counter[str] = field(default_factory=Counter)  # kind → records with one in any field
    prompts: int = 0
    first_word: CappedCounter | None = None
    first_two_words: CappedCounter | None = None
    pairs: CappedCounter | None = None
    verbs: Counter[str] = field(default_factory=Counter)
    with_pair: int = 0
    sample: Reservoir | None = None

    def __post_init__(self) -> None:
        self.first_word = CappedCounter(self.capacity)
        self.first_two_words = CappedCounter(self.capacity)
        self.pairs = CappedCounter(self.capacity)
        self.sample = Reservoir(SAMPLE_SIZE, self.seed)

    def _series(self, name: str) -> dict[str, Series]:
        if name not in self.lengths:
            self.lengths[name] = {unit: Series(LENGTH_EDGES) for unit in UNITS}
        return self.lengths[name]

    def add(self, batch: list[Facts]) -> None:
        assert self.first_word and self.first_two_words and self.pairs and self.sample
        columns: dict[str, tuple[list[int], list[int], list[int]]] = {}
        turns: list[int] = []
        for facts in batch:
            self.examples += 1
            self.shapes[facts.shape] += 1
            self.languages[facts.language] += 1
            for name, (chars, words, tokens) in facts.lengths.items():
                column = columns.setdefault(name, ([], [], []))
                column[0].append(chars)
                column[1].append(words)
                column[2].append(tokens)
            if facts.turns is not None:
                turns.append(facts.turns)
            for key, value in facts.metadata.items():
                counter = self.metadata.get(key)
                if counter is None:
                    if len(self.metadata) >= MAX_METADATA_KEYS:
                        self.metadata_keys_dropped.add(key)
                        continue
                    counter = self.metadata[key] = CappedCounter(self.capacity)
                counter.add(value)
            self.hashes.append(facts.hash)
            self.hash_ids.append(facts.id)
            if facts.duplicates > 1:
                self.removed_clusters[facts.duplicates] += 1
                self._note_largest(facts.duplicates, facts.id)
            kinds_seen: set[str] = set()
            for name, kinds in facts.artefacts.items():
                for kind, occurrences in kinds.items():
                    cell = self.artefacts.setdefault(kind, {}).setdefault(name, [0, 0])
                    cell[0] += 1
                    cell[1] += occurrences
                    kinds_seen.add(kind)
            self.artefact_records.update(kinds_seen)
            if facts.first_words:
                self.prompts += 1
                self.first_word.add(facts.first_words[0])
                self.first_two_words.add(" ".join(facts.first_words))
            if facts.pair is not None:
                self.with_pair += 1
                self.verbs[facts.pair[0]] += 1
                self.pairs.add(" ".join(facts.pair))
            self.sample.add(facts.id)
        for name, column in columns.items():
            series = self._series(name)
            for unit, values in zip(UNITS, column, strict=True):
                series[unit].extend(values)
        self.turns.extend(turns)

    def _note_largest(self, size: int, example: int) -> None:
        self.largest_removed.append((size, example))
        if len(self.largest_removed) > 4 * LARGEST_CLUSTERS:
            self.largest_removed = sorted(self.largest_removed, key=lambda item: (-item[0], item[1]))[:LARGEST_CLUSTERS]

    def merge(self, other: Figures) -> None:
        assert self.first_word and self.first_two_words and self.pairs and self.sample
        assert other.first_word and other.first_two_words and other.pairs and other.sample
        self.examples += other.examples
        self.shapes.update(other.shapes)
        for name, units in other.lengths.items():
            mine = self._series(name)
            for unit, series in units.items():
                mine[unit].merge(series)
        self.turns.merge(other.turns)
        self.languages.update(other.languages)
        for key, counter in other.metadata.items():
            if key in self.metadata:
                self.metadata[key].merge(counter)
            elif len(self.metadata) < MAX_METADATA_KEYS:
                self.metadata[key] = CappedCounter(self.capacity)
                self.metadata[key].merge(counter)
            else:
                self.metadata_keys_dropped.add(key)
        self.metadata_keys_dropped |= other.metadata_keys_dropped
        self.hashes.extend(other.hashes)
        self.hash_ids.extend(other.hash_ids)
        self.removed_clusters.update(other.removed_clusters)
        for size, example in other.largest_removed:
            self._note_largest(size, example)
        for kind, by_field in other.artefacts.items():
            for name, (records, occurrences) in by_field.items():
                cell = self.artefacts.setdefault(kind, {}).setdefault(name, [0, 0])
                cell[0] += records
                cell[1] += occurrences
        self.artefact_records.update(other.artefact_records)
        self.prompts += other.prompts
        self.first_word.merge(other.first_word)
        self.first_two_words.merge(other.first_two_words)
        self.pairs.merge(other.pairs)
        self.verbs.update(other.verbs)
        self.with_pair += other.with_pair
        self.sample.merge(other.sample)

    # The result -----------------------------------------------------------------------------------------------

    def _exact_duplicates(self) -> dict[str, Any]:
        hashes = np.frombuffer(self.hashes, dtype=np.uint64) if self.hashes else np.zeros(0, dtype=np.uint64)
        ids = np.frombuffer(self.hash_ids, dtype=np.int64) if self.hash_ids else np.zeros(0, dtype=np.int64)
        with_text = hashes != 0
        hashes, ids = hashes[with_text], ids[with_text]
        unique, inverse, sizes = np.unique(hashes, return_inverse=True, return_counts=True)
        clustered = sizes > 1
        by_size = Counter(sizes[clustered].tolist())
        largest = []
        for cluster in np.argsort(-sizes, kind="stable")[:LARGEST_CLUSTERS]:
            if sizes[cluster] < 2:
                break
            members = np.sort(ids[inverse == cluster])
            largest.append({"size": int(sizes[cluster]), "examples": members[:10].tolist()})
        return {
            "method": "content_hash",
            "clusters_by_size": {str(size): count for size, count in sorted(by_size.items())},
            "clusters": int(clustered.sum()),
            "records_in_clusters": int(sizes[clustered].sum()),
            "extra_copies": int((sizes[clustered] - 1).sum()),
            "largest": largest,
        }

    def _removed_duplicates(self) -> dict[str, Any]:
        largest = sorted(self.largest_removed, key=lambda item: (-item[0], item[1]))[:LARGEST_CLUSTERS]
        return {
            "method": "removals",
            "clusters_by_size": {str(size): count for size, count in sorted(self.removed_clusters.items())},
            "clusters": sum(self.removed_clusters.values()),
            "removed": sum((size - 1) * count for size, count in self.removed_clusters.items()),
            "largest": [{"size": size, "kept": example} for size, example in largest],
        }

    def finish(self, *, removals: bool) -> dict[str, Any]:
        assert self.first_word and self.first_two_words and self.pairs and self.sample
        fields = {}
        for name in FIELDS:
            if name in self.lengths:
                units = self.lengths[name]
                fields[name] = {"present": units["chars"].count, **{unit: units[unit].summary() for unit in UNITS}}
        artefacts = {
            kind: {
                "records": self.artefact_records[kind],
                "occurrences": sum(cell[1] for cell in self.artefacts.get(kind, {}).values()),
                "by_field": {
                    name: {"records": cell[0], "occurrences": cell[1]}
                    for name, cell in sorted(self.artefacts.get(kind, {}).items())
                },
            }
            for kind in measure_text.ARTEFACT_KINDS
        }
        languages = CappedCounter(len(self.languages) + 1)
        for code, count in self.languages.items():
            languages.add(code, count)
        top_first = self.first_two_words.top(10)
        return {
            "examples": self.examples,
            "shapes": dict(sorted(self.shapes.items(), key=lambda item: (-item[1], item[0]))),
            "fields": fields,
            "turns": self.turns.summary(),
            "languages": languages.top(VALUES_SHOWN["languages"]),
            "metadata": {
                key: {"records": counter.total(), **counter.top(VALUES_SHOWN["metadata"])}
                for key, counter in sorted(self.metadata.items())
            },
            "metadata_keys_not_counted": sorted(self.metadata_keys_dropped)[:20],
            "duplicates": {
                "exact": self._exact_duplicates(),
                "removed": self._removed_duplicates() if removals else None,
            },
            "artefacts": artefacts,
            "openers": {
                "prompts": self.prompts,
                "first_word": self.first_word.top(VALUES_SHOWN["first_word"]),
                "first_two_words": self.first_two_words.top(VALUES_SHOWN["first_two_words"]),
                # How much of the prompts the ten most frequent openings account for: high means little variety.
                "top10_share": round(sum(n for _, n in top_first["values"]) / self.prompts, 4)
                if self.prompts
                else None,
            },
            "verb_object": {
                "prompts": self.prompts,
                "with_pair": self.with_pair,
                "verbs": [[verb, n] for verb, n in sorted(self.verbs.items(), key=lambda i: (-i[1], i[0]))[:30]],
                "pairs": self.pairs.top(VALUES_SHOWN["pairs"]),
            },
            "sample": self.sample.sample(),
        }


def _seed(seed: int, name: str) -> int:
    return seed * 1_000_003 + zlib.crc32(name.encode("utf-8"))


class StatsAccumulator:
    """The statistics of a stream of records (see the module's docstring).

    ``duplicate_sizes`` maps each example a dedup step kept to the size of its cluster (itself and the examples
    removed as its duplicates, ``removal_clusters``); without it, duplicates are only counted by content hash.
    """

    def __init__(
        self, *, slice_key: str | None = None, duplicate_sizes: Mapping[int, int] | None = None, seed: int = 0
    ):
        self.slice_key = slice_key
        self.duplicate_sizes = duplicate_sizes
        self.seed = seed
        self.all = Figures(seed=_seed(seed, ""), capacity=VALUES_KEPT["all"])
        self.slices: dict[str, Figures] = {}

    def add(self, records: Iterable[Record]) -> None:
        batch = [measure(record, self.duplicate_sizes, self.slice_key) for record in records]
        self.all.add(batch)
        if self.slice_key is None:
            return
        by_value: dict[str, list[Facts]] = {}
        for facts in batch:
            value = facts.slice_value[: CappedCounter.MAX_VALUE]
            if value not in self.slices:
                name = value if len(self.slices) < MAX_TRACKED_SLICES else OTHER
                if name not in self.slices:
                    self.slices[name] = Figures(seed=_seed(self.seed, name), capacity=VALUES_KEPT["slice"])
                value = name
            by_value.setdefault(value, []).append(facts)
        for value, facts_list in by_value.items():
            self.slices[value].add(facts_list)

    def finish(self) -> dict[str, Any]:
        removals = self.duplicate_sizes is not None
        result = {
            **self.all.finish(removals=removals),
            "tokens": measure_text.TOKENS,
            "language": measure_text.LANGUAGE,
            "verb_object_method": "first common instruction verb in the prompt's first 20 words, then the next word "
            "that is not a determiner, pronoun, number word or filler (curation/stats/text.py)",
            "slice": None,
        }
        if self.slice_key is not None:
            result["slice"] = self._finish_slices(removals)
        return result

    def _finish_slices(self, removals: bool) -> dict[str, Any]:
        ranked = sorted(
            ((value, figures) for value, figures in self.slices.items() if value != OTHER),
            key=lambda item: (-item[1].examples, item[0]),
        )
        shown, rest = ranked[:SLICES_SHOWN], ranked[SLICES_SHOWN:]
        other = self.slices.get(OTHER)
        if rest:
            merged = Figures(seed=_seed(self.seed, OTHER), capacity=VALUES_KEPT["slice"])
            for _, figures in rest + ([(OTHER, other)] if other is not None else []):
                merged.merge(figures)
            other = merged
        values = [{"value": value, "figures": figures.finish(removals=removals)} for value, figures in shown]
        if other is not None:
            values.append({"value": OTHER, "figures": other.finish(removals=removals)})
        return {
            "key": self.slice_key,
            "values": values,
            "values_merged_into_other": len(rest) + (0 if self.slices.get(OTHER) is None else 1),
            "tracked_limit_reached": OTHER in self.slices,
        }


def removal_clusters(pairs: Iterable[tuple[int, int]], kept: Iterable[int] | None = None) -> dict[int, int]:
    """The size of each duplicate cluster, by the example it kept, from ``(removed, duplicate_of)`` pairs of a
    version's lineage. Chains join: an example removed as a duplicate of one that a later step removed as a
    duplicate of a third belongs to the third's cluster. With ``kept``, only clusters whose example is in it."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        path = []
        while node in parent:
            path.append(node)
            node = parent[node]
        for step in path:
            parent[step] = node
        return node

    for removed, duplicate_of in pairs:
        a, b = root(int(removed)), root(int(duplicate_of))
        if a != b:
            parent[a] = b
    sizes: Counter[int] = Counter()
    for node in list(parent):
        sizes[root(node)] += 1
    clusters = {example: count + 1 for example, count in sizes.items()}
    if kept is not None:
        wanted = set(kept)
        clusters = {example: size for example, size in clusters.items() if example in wanted}
    return clusters
