"""Normalised words, stable hashes and word n-gram hashes: the one reading of "the same text" shared by
decontamination and the filter rules that compare texts (a response repeating its prompt, conflicting and shared
responses).

Normalisation lowercases and keeps the runs of letters and digits as words: punctuation, underscores and symbols
are word breaks. ``"Don't STOP!"`` → ``["don", "t", "stop"]``.

Hashes that travel between processes (group keys, an eval index built in one worker and used in another) must not
depend on Python's per-process ``hash`` salt. ``stable_hash`` is BLAKE2b cut to 64 bits. ``hash_ngrams`` hashes
every word n-gram of a batch of texts without a Python step per word: the normalised texts are laid end to end
as UTF-8 bytes, each word is hashed from its bytes (a polynomial modulo 2^64, then mixed), and each n-gram from its
words' hashes, in a few numpy operations over the whole batch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_WORD = re.compile(r"[^\W_]+")
# ASCII text is normalised by one byte translation: letters lowercased, digits kept, everything else a space.
_ASCII_WORDS = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))
_SPACE = 32
# Odd 64-bit multipliers: multiplication by one modulo 2^64 is a bijection that spreads bits.
_BASE = 0x9E3779B97F4A7C15
_BATCH_BYTES = 4 << 20  # texts hashed together: few numpy calls, arrays of a few tens of MB at most


def normalized_words(text: str) -> list[str]:
    """The words of ``text``, lowercased, punctuation stripped."""
    return _WORD.findall(text.lower())


def normalized_text(text: str) -> str:
    """``text`` as its normalised words joined by single spaces (what "equal after normalisation" compares)."""
    return " ".join(normalized_words(text))


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` (unsigned) that is the same in every process and on every run."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def _normalized_bytes(text: str) -> bytes:
    """``text``'s normalised words as UTF-8, separated by one or more spaces."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS)
    return " ".join(normalized_words(text)).encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class NgramHashes:
    """Every n-gram of a batch of texts: its hash, the text it is in (index in the batch) and the position of its
    first word in that text, in order of text, then position; and how many words each text has."""

    hashes: U64
    text: I64
    position: I64
    word_counts: I64


def hash_ngrams(texts: list[str], n: int) -> NgramHashes:
    """The hash of every run of ``n`` consecutive normalised words of each text; a text shorter than ``n`` words
    has none. The same n-gram has the same hash in any text, process or run."""
    parts = [_hash_batch(batch, n) for batch in _batches([_normalized_bytes(text) for text in texts])]
    offsets = np.cumsum([0] + [len(part.word_counts) for part in parts[:-1]])
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return NgramHashes(np.empty(0, dtype=np.uint64), empty, empty, empty)
    return NgramHashes(
        hashes=np.concatenate([part.hashes for part in parts]),
        text=np.concatenate([part.text + offset for part, offset in zip(parts, offsets, strict=True)]),
        position=np.concatenate([part.position for part in parts]),
        word_counts=np.concatenate([part.word_counts for part in parts]),
    )


def _batches(blobs: list[bytes]) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    size = 0
    for blob in blobs:
        if batch and size + len(blob) > _BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(blob)
        size += len(blob) + 1
    if batch:
        yield batch


def _hash_batch(blobs: list[bytes], n: int) -> NgramHashes:
    data = np.frombuffer(b" ".join(blobs), dtype=np.uint8)  # a space between texts keeps their words apart
    text_starts = np.zeros(len(blobs), dtype=np.int64)
    np.cumsum([len(blob) + 1 for blob in blobs[:-1]], out=text_starts[1:])
    starts, word_hashes = _word_hashes(data)
    text_of_word = np.searchsorted(text_starts, starts, side="right") - 1
    word_counts = np.bincount(text_of_word, minlength=len(blobs)).astype(np.int64)
    hashes = ngram_hashes(word_hashes, n)
    # the n-gram starting at word i is whole if its last word is in the same text
    whole = np.flatnonzero(text_of_word[: len(hashes)] == text_of_word[n - 1 :])
    first_word = np.zeros(len(blobs), dtype=np.int64)
    np.cumsum(word_counts[:-1], out=first_word[1:])
    text = text_of_word[whole]
    return NgramHashes(hashes=hashes[whole], text=text, position=whole - first_word[text], word_counts=word_counts)


def _word_hashes(data: npt.NDArray[np.uint8]) -> tuple[I64, U64]:
    """Where each word of ``data`` (normalised bytes, words split by spaces) starts, and its hash: the polynomial
    ``sum(byte[k] * B^(k mod 1024))`` over its bytes, with its length mixed in."""
    is_word = data != _SPACE
    edges = np.diff(is_word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    lengths = np.flatnonzero(edges == -1) - starts
    if not len(starts):
        return starts, np.empty(0, dtype=np.uint64)
    word_bytes = data[is_word].astype(np.uint64)
    first_byte = np.zeros(len(starts), dtype=np.int64)  # of each word, among the word bytes
    np.cumsum(lengths[:-1], out=first_byte[1:])
    offset_in_word = np.arange(len(word_bytes)) - np.repeat(first_byte, lengths)
    sums = np.add.reduceat(word_bytes * _POWERS[offset_in_word % len(_POWERS)], first_byte)
    with_length: U64 = np.bitwise_xor(sums, lengths.astype(np.uint64))
    return starts, _mix(with_length)


def _mix(x: U64) -> U64:
    """SplitMix64's finaliser: every bit of the result depends on every bit of ``x``."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    mixed: U64 = x ^ (x >> np.uint64(31))
    return mixed


def ngram_hashes(hashes: U64, n: int) -> U64:
    """The hash of every run of ``n`` consecutive items of ``hashes`` (``len(hashes) - n + 1`` of them, none if
    there are fewer than ``n``): ``sum(h[i + k] * B^(n-1-k)) mod 2^64``."""
    if len(hashes) < n:
        return np.empty(0, dtype=np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(hashes, n)
    result: U64 = windows @ _POWERS[n - 1 :: -1]  # uint64 arithmetic wraps modulo 2^64, which is the point
    return result


def _powers_of_base(size: int) -> U64:
    """``B^0 … B^(size-1)`` modulo 2^64."""
    powers = np.full(size, _BASE, dtype=np.uint64)
    powers[0] = 1
    table: U64 = np.cumprod(powers, dtype=np.uint64)
    return table


# A byte's weight repeats every 1,024 bytes of a word: still a fine hash for the rare longer "word" (a base64
# blob), and the table stays small.
_POWERS = _powers_of_base(1024)
