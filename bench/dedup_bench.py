"""Dedup benchmark: the MinHash step (keys + merge) against datasketch, on a generated English corpus with known
duplicates, and the ground truth computed exactly.

    .venv/bin/python bench/dedup_bench.py --docs 100000

Part 1 (no database): the pure step of ``curation/steps/dedup.py``.

The corpus (``--docs``, default 100,000; ``--seed``): documents of about 100 words built from a sentence grammar
over a vocabulary of about 1,500 English words drawn with Zipf-like frequencies (half instruction records with a
prompt and a response, half text records), of which, besides the originals:
- 4% exact duplicates of an earlier document, differing in case, whitespace or Unicode form (NFKC);
- 12% near duplicates of an earlier document, words substituted, deleted or inserted at a rate of 1% to 25% (so
  pairs fall on both sides of the threshold);
- 10% hard negatives: instruction records from a few prompt templates ("Write a poem about X.") with their own
  responses, and text records that share a long boilerplate paragraph (a disclaimer or footer of 50 or 80
  words: two hand-written and one more per 2,500 documents, so about 100 documents share each) with their own
  content after it (Jaccard between two of them about 0.4 to 0.7); and a few near duplicates of those.

Ground truth, exact: every pair of documents with Jaccard ≥ 0.5 on their shingle sets (word 5-grams as strings,
from ``shingles.words``, the step's definition of words, in plain Python: independent of the step's numpy
hashing), found by prefix filtering (All-Pairs, Bayardo et al. 2007: with the shingles of each document ordered
rarest first, two sets with Jaccard ≥ t share a shingle among the first |A| − ⌈t·|A|⌉ + 1 of either, so that
index misses no such pair), each candidate's Jaccard computed exactly on the string sets. The documents that
should be dropped are, in each connected component of the pairs with Jaccard ≥ threshold, all but the earliest.
``--check-sample N`` also compares the prefix filter with a brute force over all pairs of N documents.

Measured, in this process:
- ours: ``dedup.keys`` on chunks of 10,000 records as the runner's workers do, the arrays concatenated, then
  ``dedup.merge`` (fetch_texts reads a dict); docs/s over both. Then the same with keys() over 2 processes
  (multiprocessing, as two workers would); the merge is one process in both;
- datasketch as users run it: NFKC, case folding and ``\\w+`` words in Python, word 5-grams, ``MinHash.bulk``
  (the fastest documented way), ``MinHashLSH`` at the same threshold and num_perm, all inserted then each
  queried, a document dropped when an earlier one is among its candidates: no verification.
Ours runs ``--runs`` times each way (default 3): the best and the median are printed. Precision and recall of
the dropped documents against the ground truth, for both; the pair recall (the share of
ground-truth pairs whose two documents end in the same cluster) for ours. Goals: ours ≥ 50,000 docs/s on one
process, precision ≥ 0.99, recall ≥ 0.97. The load average is printed with the figures: the machine has two cores
and is shared, so the figures are noisy.
"""

from __future__ import annotations

import argparse
import gc
import math
import multiprocessing
import os
import random
import re
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curation.steps import dedup  # noqa: E402
from curation.steps.shingles import words  # noqa: E402

DOCS_PER_SECOND_GOAL = 50_000
PRECISION_GOAL = 0.99
RECALL_GOAL = 0.97
CHUNK = 10_000
GROUND_TRUTH_FLOOR = 0.5


def wordlist(text: str) -> list[str]:
    return text.split()


# ── The corpus ───────────────────────────────────────────────────────────────────────────────────────────────────

NOUNS = wordlist("""
time year people way day man woman child world life hand part place case week company system program question work
government number night point home water room mother area money story fact month lot right study book eye job word
business issue side kind head house service friend father power hour game line end member law car city community
name president team minute idea kid body information back parent face others level office door health person art
war history party result change morning reason research girl guy moment air teacher force education foot boy age
policy music market sense nation plan college interest death experience effect use class control care field
development role effort rate heart drug show leader light voice wife police mind price report decision son view
relationship town road arm difference value building action model season society tax director position player
record paper space ground form event official matter center couple site project activity star table need court
oil situation cost industry figure street image phone data picture practice piece land product doctor wall patient
worker news test movie north love support technology step baby computer type attention film tree source organization
hair window evidence population truth song energy bank garden river mountain bridge valley forest island village
harbor castle library museum theater station kitchen engine machine network signal pattern surface material metal
glass stone wood paint fabric thread needle basket bottle candle mirror ladder blanket pillow carpet curtain lantern
compass anchor sail rope net boat ship train plane wheel bicycle horse cow sheep goat chicken dog cat bird fish
insect flower leaf branch root seed fruit apple orange lemon grape berry bread cheese butter milk egg soup salad
rice bean corn wheat sugar salt pepper honey coffee tea juice wine beer cake cookie pie letter message envelope stamp
map guide lesson chapter page poem novel article essay journal diary note sketch drawing painting statue sculpture
concert festival parade ceremony wedding funeral holiday journey voyage trip adventure mission task duty habit
skill talent memory dream fear hope joy anger pride shame doubt trust promise secret rumor joke riddle puzzle
answer problem solution method theory principle rule exception example sample measure amount quantity quality
feature detail aspect factor element component structure framework layer boundary edge corner margin border
""")
VERBS = """
find found; make made; take took; give gave; tell told; show showed; build built; carry carried; bring brought;
follow followed; leave left; keep kept; hold held; watch watched; open opened; close closed; paint painted;
describe described; explain explained; discover discovered; repair repaired; design designed; protect protected;
visit visited; remember remembered; forget forgot; choose chose; share shared; sell sold; buy bought; send sent;
receive received; write wrote; read read; study studied; teach taught; learn learned; cook cooked; clean cleaned;
measure measured; count counted; compare compared; collect collected; gather gathered; plant planted; grow grew;
climb climbed; cross crossed; reach reached; lift lifted; push pushed; pull pulled; throw threw; catch caught;
break broke; fix fixed; test tested; check checked; answer answered; ask asked; call called; invite invited;
welcome welcomed; join joined; leave left; lead led; guide guided; serve served; offer offered; accept accepted;
refuse refused; borrow borrowed; lend lent; hide hid; seek sought; chase chased; cover covered; fill filled;
empty emptied; move moved; change changed; improve improved; prepare prepared; organize organized; support supported
""".replace("\n", " ").split(";")
ADJECTIVES = wordlist("""
old new young small large big little long short high low early late good bad great important public private real
best free full special easy hard clear recent certain personal open red green blue white black dark bright heavy
light quiet loud warm cold hot cool dry wet soft rough smooth sharp gentle brave calm careful cheerful clever
curious eager famous friendly generous honest humble kind lively lucky modern narrow nervous patient polite proud
rapid rare rich simple strange strong sudden sweet tall thin tiny tired ugly wide wild wise wooden golden silver
ancient distant empty hidden broken frozen crowded busy lonely peaceful silent northern southern eastern western
local national global rural urban coastal narrow hollow steep shallow deep thick fresh stale ripe sour bitter salty
""")
ADVERBS = wordlist("""
quickly slowly carefully quietly loudly suddenly finally often rarely always never usually sometimes gently
eagerly happily sadly boldly calmly warmly openly proudly barely nearly almost simply clearly easily hardly
""")
NAMES = wordlist("""
Anna Ben Clara David Elena Frank Grace Henry Irene Jack Karen Leo Maria Noah Olivia Peter Quinn Rosa Sam Tara
Umar Vera Walter Xavier Yara Zoe Amir Bianca Carlos Dina Emil Fatima George Hana Ivan Julia Kofi Lena Marco Nina
""")
PLACES = wordlist("""
Lisbon Oslo Cairo Lima Denver Dublin Kyoto Porto Quebec Sydney Vienna Nairobi Madrid Seattle Boston Prague Athens
Milan Geneva Austin Toronto Chicago Berlin Warsaw Bergen Hamburg Naples Seville Krakow Tallinn
""")
PREPOSITIONS = wordlist("in on at near behind under over across through along beside beyond inside around without")
TOPICS = """
the sea|a lost city|autumn rain|an old lighthouse|the first snow|a quiet library|a mountain road|the night train|
a broken clock|the river at dawn|a summer garden|a distant star|a forgotten letter|the harbor in winter|a desert
storm|an empty theater|the last bus home|a village festival|a paper boat|a bridge in fog
""".replace("\n", " ").split("|")
BOILERPLATES = [
    "Disclaimer: this content is provided for general information only and does not constitute professional "
    "advice of any kind. The authors make no representations or warranties about the accuracy or completeness of "
    "the material, and readers should consult a qualified adviser before acting on anything described here.",
    "Terms of use: by reading this page you agree that the publisher is not responsible for any loss or damage "
    "that may arise from the use of the information below. All trademarks belong to their owners. The page may be "
    "updated at any time without notice, and earlier versions are not kept. Questions about these terms can be "
    "sent to the editorial office, which answers within ten working days. Reproduction of the text is allowed for "
    "personal and educational use when the source is named.",
]
CONNECTORS = ["However,", "Meanwhile,", "Later,", "Afterwards,", "In the end,", "Still,", "Even so,", "Then"]


class Grammar:
    """Sentences from a handful of templates over the vocabulary, words drawn with Zipf-like frequencies."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.verbs = [tuple(pair.split()) for pair in VERBS if pair.strip()]

    def pick(self, items: list[Any]) -> Any:
        # Zipf-like: low indexes are drawn far more often, as in real text.
        return items[min(int(self.rng.paretovariate(1.1)) - 1, len(items) - 1) if self.rng.random() < 0.6 else
                     self.rng.randrange(len(items))]  # fmt: skip

    def noun_phrase(self) -> str:
        det = self.rng.choice(["the", "a", "the", "this", "that", "every", "one", "her", "his", "their", "our"])
        if det == "a" or self.rng.random() < 0.5:
            det = "an" if det == "a" and self.pick(ADJECTIVES)[0] in "aeiou" else det
        adjective = f"{self.pick(ADJECTIVES)} " if self.rng.random() < 0.55 else ""
        phrase = f"{det} {adjective}{self.pick(NOUNS)}"
        return phrase.replace("a a", "an a").replace("a e", "an e").replace("a o", "an o")

    def sentence(self) -> str:
        r = self.rng.random()
        verb, past = self.pick(self.verbs)
        if r < 0.25:
            text = (
                f"{self.noun_phrase()} {past} {self.noun_phrase()} {self.rng.choice(PREPOSITIONS)} {self.noun_phrase()}"
            )
        elif r < 0.45:
            text = (f"{self.pick(NAMES)} {self.rng.choice(['said', 'thought', 'wrote', 'knew'])} that "
                    f"{self.noun_phrase()} would {verb} {self.noun_phrase()} {self.pick(ADVERBS)}")  # fmt: skip
        elif r < 0.6:
            text = (f"in {self.rng.randrange(1850, 2025)} {self.noun_phrase()} of {self.pick(PLACES)} {past} "
                    f"{self.noun_phrase()} {self.rng.choice(PREPOSITIONS)} {self.noun_phrase()}")  # fmt: skip
        elif r < 0.75:
            verb2, past2 = self.pick(self.verbs)
            text = (f"although {self.noun_phrase()} {past} {self.noun_phrase()} {self.pick(ADVERBS)}, "
                    f"{self.noun_phrase()} {past2} {self.noun_phrase()}")  # fmt: skip
        elif r < 0.87:
            text = (f"{self.rng.choice(CONNECTORS)} {self.pick(NAMES)} and {self.pick(NAMES)} {past} "
                    f"{self.noun_phrase()} {self.rng.choice(PREPOSITIONS)} {self.pick(PLACES)}")  # fmt: skip
        else:
            place = f"{self.rng.choice(PREPOSITIONS)} {self.noun_phrase()}"
            text = f"why did {self.noun_phrase()} {verb} {self.noun_phrase()} {place}"
            return text[0].upper() + text[1:] + "?"
        return text[0].upper() + text[1:] + "."

    def paragraph(self, words_wanted: int) -> str:
        sentences: list[str] = []
        count = 0
        while count < words_wanted:
            sentence = self.sentence()
            sentences.append(sentence)
            count += len(sentence.split())
        return " ".join(sentences)


def edit(text: str, rate: float, rng: random.Random, grammar: Grammar) -> str:
    """Substitute, delete or insert words at ``rate`` (at least one edit)."""
    tokens = text.split()
    edits = max(1, round(rate * len(tokens)))
    for _ in range(edits):
        i = rng.randrange(len(tokens))
        kind = rng.random()
        if kind < 0.5:
            tokens[i] = grammar.pick(NOUNS + ADJECTIVES)
        elif kind < 0.75 and len(tokens) > 5:
            del tokens[i]
        else:
            tokens.insert(i, grammar.pick(NOUNS + ADJECTIVES))
    return " ".join(tokens)


def variant(text: str, rng: random.Random) -> str:
    """The same text once normalised: another case, other whitespace, or another Unicode form."""
    kind = rng.randrange(4)
    if kind == 0:
        return text.upper()
    if kind == 1:
        return "  " + text.replace(" ", "   ").replace(". ", ".\n\n") + "\n"
    if kind == 2:
        return text.replace("fi", "\ufb01").replace("A", "\uff21")  # the ligature and a fullwidth letter (NFKC)
    return text.replace(" ", "\u00a0", 3).title()


def make_corpus(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    grammar = Grammar(rng)
    contents: list[dict[str, Any]] = []
    # Two hand-written boilerplates and one more per 2,500 documents, from the grammar: groups of about 100
    # documents share one (a site's or a publisher's footer), as in a real crawl of many sources.
    boilerplates = BOILERPLATES + [grammar.paragraph(rng.choice([50, 80])) for _ in range(max(count // 2500, 1))]

    def original() -> dict[str, Any]:
        if rng.random() < 0.5:
            return {"text": grammar.paragraph(rng.randint(85, 115))}
        prompt = grammar.sentence().rstrip(".?") + "? " + grammar.paragraph(rng.randint(8, 20))
        return {"prompt": prompt, "response": grammar.paragraph(rng.randint(70, 95))}

    def map_content(content: dict[str, Any], change: Any) -> dict[str, Any]:
        return {key: change(value) for key, value in content.items()}

    while len(contents) < count:
        r = rng.random()
        if r < 0.04 and contents:
            source = contents[rng.randrange(len(contents))]
            contents.append(map_content(source, lambda v: variant(v, rng)))
        elif r < 0.16 and contents:
            source = contents[rng.randrange(len(contents))]
            rate = rng.choice([0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15, 0.25])
            contents.append(map_content(source, lambda v, rate=rate: edit(v, rate, rng, grammar)))
        elif r < 0.21:
            topic = rng.choice(TOPICS)
            template = rng.choice(["Write a poem about {}.", "Write a short story about {}.", "Describe {} in detail."])
            contents.append({"prompt": template.format(topic), "response": grammar.paragraph(rng.randint(60, 90))})
        elif r < 0.26:
            boilerplate = rng.choice(boilerplates)
            own = grammar.paragraph(rng.randint(15, 25) if len(boilerplate.split()) > 65 else rng.randint(40, 50))
            contents.append({"text": f"{boilerplate}\n\n{own}"})
        else:
            contents.append(original())
    return [{"id": 1000 + i, "content": content, "metadata": {}} for i, content in enumerate(contents)]


# ── Ground truth ─────────────────────────────────────────────────────────────────────────────────────────────────


def reference_shingles(text: str, n: int) -> frozenset[str]:
    w = words(text)
    if not w:
        return frozenset()
    if len(w) < n:
        return frozenset([" ".join(w)])
    return frozenset(" ".join(w[i : i + n]) for i in range(len(w) - n + 1))


def jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    common = len(a & b)
    return common / (len(a) + len(b) - common) if a or b else 0.0


def similar_pairs(sets: list[frozenset[str]], floor: float) -> dict[tuple[int, int], float]:
    """Every pair with Jaccard ≥ floor, exactly, by prefix filtering (see the module's docstring)."""
    frequency: dict[str, int] = defaultdict(int)
    for shingles in sets:
        for shingle in shingles:
            frequency[shingle] += 1
    index: dict[str, list[int]] = defaultdict(list)
    candidates: set[tuple[int, int]] = set()
    for doc, shingles in enumerate(sets):
        if not shingles:
            continue
        ordered = sorted(shingles, key=lambda s: (frequency[s], s))
        prefix = len(ordered) - math.ceil(floor * len(ordered) - 1e-9) + 1
        for shingle in ordered[:prefix]:
            for other in index[shingle]:
                candidates.add((other, doc))
            index[shingle].append(doc)
    pairs: dict[tuple[int, int], float] = {}
    for a, b in candidates:
        value = jaccard(sets[a], sets[b])
        if value >= floor:
            pairs[(a, b)] = value
    return pairs


def brute_force_pairs(sets: list[frozenset[str]], floor: float) -> dict[tuple[int, int], float]:
    pairs = {}
    for a in range(len(sets)):
        for b in range(a + 1, len(sets)):
            if sets[a] and sets[b]:
                value = jaccard(sets[a], sets[b])
                if value >= floor:
                    pairs[(a, b)] = value
    return pairs


def components_dropped(count: int, pairs: Iterable[tuple[int, int]]) -> set[int]:
    """All but the earliest member of each connected component."""
    parent = list(range(count))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {i for i in range(count) if root(i) != i}


# ── The two methods ──────────────────────────────────────────────────────────────────────────────────────────────


_RECORDS: list[dict[str, Any]] = []  # read by the forked workers, as each worker reads its chunk from the database


def chunk_keys(start: int, options: dict[str, Any]) -> dict[str, np.ndarray]:
    return dedup.keys(_RECORDS[start : start + CHUNK], options)


def run_ours(records: list[dict[str, Any]], options: dict[str, Any], texts: dict[int, str], processes: int) -> Any:
    _RECORDS[:] = records
    starts = range(0, len(records), CHUNK)
    gc.freeze()  # the forked workers then leave the parent's objects' pages alone (no copy on write by the collector)
    pool = multiprocessing.get_context("fork").Pool(processes) if processes > 1 else None
    began = time.perf_counter()
    if pool is None:
        parts = [chunk_keys(start, options) for start in starts]
    else:
        with pool:
            parts = pool.starmap(chunk_keys, [(start, options) for start in starts])
    keys = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    keyed = time.perf_counter()
    asked: list[int] = []

    def fetch_texts(ids: np.ndarray) -> dict[int, str]:
        asked.append(ids.size)
        return {int(i): texts[int(i)] for i in ids.tolist()}

    dropped = dedup.merge(keys, options, fetch_texts=fetch_texts, scores=None)
    done = time.perf_counter()
    return dropped, keyed - began, done - keyed, sum(asked)


_WORD = re.compile(r"\w+")


def run_datasketch(records: list[dict[str, Any]], options: dict[str, Any]) -> tuple[set[int], float, tuple[int, int]]:
    from datasketch import MinHash, MinHashLSH

    n, num_perm = options["ngram"], options["num_perm"]
    began = time.perf_counter()
    shingle_sets = []
    for record in records:
        tokens = _WORD.findall(
            unicodedata.normalize("NFKC", dedup.compared_text(record["content"], options)).casefold()
        )
        grams = {" ".join(tokens[i : i + n]).encode() for i in range(max(len(tokens) - n + 1, 1))} if tokens else set()
        shingle_sets.append(list(grams))
    signatures = MinHash.bulk(shingle_sets, num_perm=num_perm)
    lsh = MinHashLSH(threshold=options["threshold"], num_perm=num_perm)
    with lsh.insertion_session() as session:
        for i, signature in enumerate(signatures):
            session.insert(i, signature, check_duplication=False)
    dropped = {i for i, signature in enumerate(signatures) if any(other < i for other in lsh.query(signature))}
    return dropped, time.perf_counter() - began, (lsh.b, lsh.r)


def scores_of(dropped: set[int], truth: set[int]) -> tuple[float, float]:
    hit = len(dropped & truth)
    return (hit / len(dropped) if dropped else 1.0), (hit / len(truth) if truth else 1.0)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the corpus (default 100,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--check-sample", type=int, default=0, metavar="N",
                        help="check the prefix-filter ground truth against brute force on N documents")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3, help="runs of ours, each way (the best and the median shown)")
    parser.add_argument("--skip-datasketch", action="store_true")
    parser.add_argument("--e2e-docs", type=int, default=1_000_000, metavar="N",
                        help="part 2: the pipeline job on N documents (default 1,000,000; 0 skips it)")  # fmt: skip
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    options = dedup.validate(
        {"method": "minhash", "threshold": args.threshold, "ngram": args.ngram, "num_perm": args.num_perm}
    )
    bands, rows = dedup.bands_rows(options["threshold"], options["num_perm"])
    print(f"dedup bench: {args.docs:,} documents, seed {args.seed}; minhash threshold {options['threshold']}, "
          f"{options['ngram']}-grams, {options['num_perm']} values, {bands} bands × {rows} rows")  # fmt: skip

    began = time.perf_counter()
    records = make_corpus(args.docs, args.seed)
    texts = {record["id"]: dedup.compared_text(record["content"], options) for record in records}
    words_per_doc = sum(len(t.split()) for t in texts.values()) / len(texts)
    print(f"  corpus built in {time.perf_counter() - began:.1f} s: {words_per_doc:.0f} words a document on average")

    began = time.perf_counter()
    sets = [reference_shingles(texts[record["id"]], options["ngram"]) for record in records]
    pairs = similar_pairs(sets, GROUND_TRUTH_FLOOR)
    true_pairs = [pair for pair, value in pairs.items() if value >= options["threshold"]]
    truth = components_dropped(len(records), true_pairs)
    near_misses = sum(1 for value in pairs.values() if options["threshold"] - 0.1 <= value < options["threshold"])
    print(f"  ground truth in {time.perf_counter() - began:.1f} s (prefix filter, exact Jaccard): "
          f"{len(true_pairs):,} pairs ≥ {options['threshold']}, {near_misses:,} near misses in "
          f"[{options['threshold'] - 0.1:.1f}, {options['threshold']}), {len(pairs) - len(true_pairs) - near_misses:,} "
          f"more ≥ {GROUND_TRUTH_FLOOR}; {len(truth):,} documents to drop")  # fmt: skip
    if args.check_sample:
        sample = sets[: args.check_sample]
        expected = brute_force_pairs(sample, GROUND_TRUTH_FLOOR)
        found = similar_pairs(sample, GROUND_TRUTH_FLOOR)
        print(f"  prefix filter vs brute force on {len(sample):,} documents: {len(found):,} vs {len(expected):,} "
              f"pairs: {verdict(found == expected)}")  # fmt: skip

    print(f"ours (dedup.keys + dedup.merge), {load()}:")
    index = {record["id"]: i for i, record in enumerate(records)}
    results: dict[int, tuple[float, float, float]] = {}
    for processes in (1, 2):
        # Warm-up, as a long-lived worker is: the layout's caches and the non-ASCII separators (built once per
        # process, about a second), before the pool forks.
        dedup.keys([*records[:100], {"id": 0, "content": {"text": "Ünïcode — “warm-up”"}, "metadata": {}}], options)
        runs = []
        for _ in range(args.runs):
            dropped_list, key_seconds, merge_seconds, fetched = run_ours(records, options, texts, processes)
            runs.append((key_seconds + merge_seconds, key_seconds, merge_seconds))
        runs.sort()
        total, key_seconds, merge_seconds = runs[0]
        median = runs[len(runs) // 2][0]
        dropped = {index[d.id] for d in dropped_list}
        precision, recall = scores_of(dropped, truth)
        results[processes] = (len(records) / total, precision, recall)
        print(f"  keys() on {processes} process{'es' if processes > 1 else ''}, best of {len(runs)}: keys "
              f"{key_seconds:.2f} s + merge {merge_seconds:.2f} s = {total:.2f} s: {len(records) / total:,.0f} docs/s "
              f"(median {len(records) / median:,.0f}); dropped {len(dropped):,} (texts fetched for {fetched:,}); "
              f"precision {precision:.4f}, recall {recall:.4f}; {load()}")  # fmt: skip
    cluster = {i: i for i in range(len(records))}
    for d in dropped_list:
        cluster[index[d.id]] = index[d.detail["duplicate_of"]]
    pair_recall = sum(cluster[a] == cluster[b] for a, b in true_pairs) / max(len(true_pairs), 1)
    transitive = sum("via" in d.detail for d in dropped_list)
    print(f"  pair recall {pair_recall:.4f} ({len(true_pairs):,} pairs ≥ {options['threshold']}); {transitive:,} "
          f"dropped through another member (via)")  # fmt: skip
    speed, precision, recall = results[1]
    print(f"  goal one process ≥ {DOCS_PER_SECOND_GOAL:,} docs/s: {verdict(speed >= DOCS_PER_SECOND_GOAL)} "
          f"({speed:,.0f}); keys() on 2 processes: {results[2][0]:,.0f} docs/s")  # fmt: skip
    print(f"  goal precision ≥ {PRECISION_GOAL}: {verdict(precision >= PRECISION_GOAL)}; "
          f"recall ≥ {RECALL_GOAL}: {verdict(recall >= RECALL_GOAL)}")  # fmt: skip

    if not args.skip_datasketch:
        ds_dropped, ds_seconds, (ds_b, ds_r) = run_datasketch(records, options)
        ds_precision, ds_recall = scores_of(ds_dropped, truth)
        print(f"datasketch (MinHash.bulk + MinHashLSH, {ds_b} bands × {ds_r} rows, no verification), {load()}:")
        print(f"  {ds_seconds:.2f} s: {len(records) / ds_seconds:,.0f} docs/s; dropped {len(ds_dropped):,}; "
              f"precision {ds_precision:.4f}, recall {ds_recall:.4f}")  # fmt: skip
        print(f"  ours / datasketch: {results[1][0] * ds_seconds / len(records):.1f}× (one process), "
              f"{results[2][0] * ds_seconds / len(records):.1f}× (keys() on 2 processes)")  # fmt: skip
    if args.e2e_docs:
        return end_to_end(args.e2e_docs, args.seed)
    return 0


def end_to_end(docs: int, seed: int) -> int:
    """Part 2: the whole pipeline job (filters, exact and MinHash dedup) on PostgreSQL with real Celery workers,
    at 1 and 2 worker processes (bench/pipeline_e2e.py)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_setup import django_on_postgres

    if not django_on_postgres("dedup_bench", "--e2e-docs 1000000"):
        return 2
    import pipeline_e2e

    began = time.perf_counter()
    records = make_corpus(docs, seed + 1)
    print(f"pipeline end to end: {docs:,} documents (corpus built in {time.perf_counter() - began:.1f} s), {load()}")
    return 0 if pipeline_e2e.run(records) else 1


if __name__ == "__main__":
    sys.exit(main())
