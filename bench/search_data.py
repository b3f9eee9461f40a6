"""The search bench's examples: text with a realistic spread of words, in every record shape, written with COPY.

Words are drawn from a vocabulary with Zipf weights (rank^-1.05): a few English function words make up much of
the text and most of the 30,000 made-up words are rare, as in real text. A few fixed sentences ("as an AI
language model") are mixed into a small share of the examples, so that phrases have known frequencies. The text
is built with numpy a chunk at a time and the rows go in with one COPY per chunk, in the canonical form import
writes (compact JSON, sorted keys) with the sha256 of that text as ``content_hash``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from collections.abc import Iterator

import numpy as np
import orjson

FUNCTION_WORDS = """
the of and to a in is that for it as was with be by on not this are or from at which but have an they you
were there been one all we their has would when if so what can more no other into some could them time only
""".split()  # noqa: SIM905 - a word list reads better as text
SYLLABLES = "ka lo mi ren tu sa vel dor pa qui zen ba ti mor les ni go ra fen shu wa el in os".split()  # noqa: SIM905
VOCABULARY_SIZE = 30_000
PHRASES = (
    "as an AI language model",  # a refusal boilerplate, in 2% of the examples
    "let me think step by step",  # in 5%
)
PHRASE_SHARE = (0.02, 0.05)
LANGS = ("en", "de", "fr", "es", "ja")
SOURCES = tuple(f"source-{n:02d}" for n in range(20))
CHUNK = 50_000
COPY_SQL = (
    "COPY annotate_example (project_id, external_id, content, metadata, content_hash) FROM STDIN WITH (FORMAT csv)"
)


def vocabulary() -> list[str]:
    """Function words first, then made-up words of two to four syllables (deterministic)."""
    made: list[str] = []
    for size in (2, 3, 4):
        for combination in itertools.product(SYLLABLES, repeat=size):
            made.append("".join(combination))
            if len(made) + len(FUNCTION_WORDS) >= VOCABULARY_SIZE:
                return FUNCTION_WORDS + made
    return FUNCTION_WORDS + made


def weights(size: int) -> np.ndarray:
    ranks = np.arange(1, size + 1, dtype=np.float64)
    p = ranks**-1.05
    return p / p.sum()


class Texts:
    """Random texts, each a slice of one long stream of words drawn up front (much faster than a draw each)."""

    def __init__(self, rng: np.random.Generator, pool: int = 4_000_003):
        self.words = np.array(vocabulary(), dtype=object)
        self.stream = rng.choice(len(self.words), size=pool, p=weights(len(self.words)))
        self.rng = rng

    def text(self, low: int, high: int) -> str:
        count = int(self.rng.integers(low, high))
        start = int(self.rng.integers(0, len(self.stream) - count))
        words = self.words[self.stream[start : start + count]].tolist()
        for phrase, share in zip(PHRASES, PHRASE_SHARE, strict=True):
            if self.rng.random() < share:
                at = int(self.rng.integers(0, len(words) + 1))
                words[at:at] = phrase.split()
        return " ".join(words).capitalize() + "."


def content(texts: Texts, number: int) -> dict[str, object]:
    """One example's content: 45% instruction, 30% chat (a third of them with a tool call), 15% text, 10%
    preference, decided by the row number so every run builds the same project."""
    kind = number % 20
    if kind < 9:
        return {"prompt": texts.text(10, 60), "response": texts.text(40, 200)}
    if kind < 15:
        messages: list[dict[str, object]] = [{"role": "user", "content": texts.text(10, 60)}]
        if kind % 3 == 0:
            arguments = orjson.dumps({"query": texts.text(2, 6), "limit": 5}).decode()
            call = {"id": f"call_{number}", "type": "function", "function": {"name": "search", "arguments": arguments}}
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            messages.append({"role": "tool", "tool_call_id": f"call_{number}", "content": texts.text(10, 40)})
        messages.append({"role": "assistant", "content": texts.text(30, 150)})
        return {"messages": messages}
    if kind < 18:
        return {"text": texts.text(60, 250)}
    return {"prompt": texts.text(10, 40), "chosen": texts.text(30, 120), "rejected": texts.text(30, 120)}


def rows(project_id: int, first: int, last: int, seed: int) -> Iterator[bytes]:
    """COPY data (CSV), a chunk at a time, for examples numbered first..last."""
    rng = np.random.default_rng(seed)
    texts = Texts(rng)
    for start in range(first, last + 1, CHUNK):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for number in range(start, min(start + CHUNK, last + 1)):
            body = orjson.dumps(content(texts, number), option=orjson.OPT_SORT_KEYS)
            meta = {"lang": LANGS[number % 5], "source": SOURCES[(number * 7) % 20]}
            writer.writerow(
                [
                    project_id,
                    f"sb-{number:08d}",
                    body.decode(),
                    orjson.dumps(meta, option=orjson.OPT_SORT_KEYS).decode(),
                    hashlib.sha256(body).hexdigest(),
                ]
            )
        yield out.getvalue().encode()


def copy_examples(cursor: object, project_id: int, count: int, seed: int) -> None:
    """Insert ``count`` examples into the project with COPY (``cursor``: a psycopg2 cursor)."""
    for chunk in rows(project_id, 1, count, seed):
        cursor.copy_expert(COPY_SQL, io.BytesIO(chunk))  # type: ignore[attr-defined]
