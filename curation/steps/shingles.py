"""The text a dedup step compares, normalised, and its word n-gram shingles hashed in bulk.

Normalisation (exact and near-duplicate dedup alike): Unicode NFKC, then case folding (then NFKC again when the
text is not ASCII, since folding can leave a text that is not NFKC). Exact dedup then collapses every run of
whitespace to one space (``normalise``).

Words (near-duplicate dedup): the maximal runs of characters that are neither whitespace (``str.isspace``),
punctuation (Unicode categories P*: ``. , ; : ! ? ' " - _ ( ) [ ] { } / \\ @ # % & *``, curly quotes, dashes,
ellipses …) nor control characters (Cc). Punctuation separates words and is otherwise ignored, so
``"Hello, world!"`` and ``"hello world"`` have the same words and ``don't`` is the two words ``don`` and ``t``.
Symbols (``$ + < = > ^ ` | ~``, currency signs, emoji) and digits are parts of words.

Shingles: the word n-grams of a text; a text of fewer than n words (but at least one) is one shingle of all its
words; a text with no word has no shingle. Each shingle is a 64-bit hash: every word is hashed from its UTF-8
bytes, and an n-gram from its words' hashes in order. The tokeniser and the hashes run on numpy arrays over the
bytes of many texts at once (``shingle_hashes``): Python touches each text only to normalise it.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def is_separator(char: str) -> bool:
    """Whether a character separates words: whitespace, punctuation (P*) or a control character (Cc)."""
    return char.isspace() or unicodedata.category(char)[0] == "P" or unicodedata.category(char) == "Cc"


_ASCII_SEPARATORS = frozenset(c for c in map(chr, range(128)) if is_separator(c))
# A sub-batch of about this many bytes of text is tokenised at a time, so the uint64 working arrays stay small.
_BATCH_BYTES = 1 << 18

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def fold(text: str) -> str:
    """NFKC and case folding (see the module's docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return folded if folded.isascii() else unicodedata.normalize("NFKC", folded)


def normalise(text: str) -> str:
    """The text exact dedup compares: folded, whitespace collapsed to single spaces, stripped."""
    return " ".join(fold(text).split())


@cache
def _separator_pattern() -> re.Pattern[str]:
    """Every non-ASCII separator (built once per process, on the first non-ASCII text: about a second)."""
    ranges: list[str] = []
    start = previous = -2
    for code in range(128, sys.maxunicode + 1):
        char = chr(code)
        if is_separator(char):
            if code != previous + 1:
                if start >= 0:
                    ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
                start = code
            previous = code
    ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
    return re.compile("[" + "".join(ranges) + "]")


def words_text(text: str) -> str:
    """The folded text with every non-ASCII separator replaced by a space (ASCII ones are found on the bytes)."""
    folded = fold(text)
    return folded if folded.isascii() else _separator_pattern().sub(" ", folded)


def words(text: str) -> list[str]:
    """The words of a text (see the module's docstring): a plain reading, for tests and references."""
    spaced = "".join(" " if char in _ASCII_SEPARATORS else char for char in words_text(text))
    return spaced.split()


def mix(values: U64) -> U64:
    """SplitMix64's finaliser, in place on a uint64 array (a bijection that spreads every input bit)."""
    values ^= values >> np.uint64(30)
    values *= _M1
    values ^= values >> np.uint64(27)
    values *= _M2
    values ^= values >> np.uint64(31)
    return values


def constants(count: int, salt: int) -> U64:
    """``count`` fixed pseudo-random odd uint64 constants, the same in every process and numpy version."""
    with np.errstate(over="ignore"):
        values = mix(np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN + np.uint64(salt))
    return values | np.uint64(1)


# bytes.translate tables: every ASCII separator byte to 0, every other byte to 1 (bytes >= 0x80 are parts of
# non-ASCII characters, whose separators were already replaced by spaces).
_WORD_CLASS = bytes(0 if chr(i) in _ASCII_SEPARATORS else 1 for i in range(128)) + bytes([1] * 128)
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_CHUNK_SALT = constants(64, salt=0x5EED)


def _word_hashes(data: bytes) -> tuple[U64, I64]:
    """The hash of every word in ``data`` (folded UTF-8 whose only separators are ASCII ones) and each word's first
    byte.

    Each word is read eight bytes at a time as little-endian integers straight from the buffer (a word of up to
    eight bytes, most of them, in one gather), the bytes past its end masked off, and the pieces mixed with the
    word's length.
    """
    size = len(data)
    padded = b" " + data + bytes(16)
    is_word = np.frombuffer(padded.translate(_WORD_CLASS), dtype=np.uint8)[: size + 2]
    edges = np.flatnonzero(is_word[1:] != is_word[:-1])  # index i here is a change between bytes i-1 and i
    starts, ends = edges[0::2], edges[1::2]
    if starts.size == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    lengths = ends - starts
    # windows[i]: the eight bytes from byte i, little-endian (overlapping, unaligned items one byte apart).
    windows: U64 = np.ndarray(shape=(size + 1,), dtype="<u8", buffer=padded, offset=1, strides=(1,))
    with np.errstate(over="ignore"):
        # The first eight bytes (masked past the word's end) and the length; for a longer word, its last eight
        # bytes too, and every eight in between for one longer than sixteen: together, every byte of the word.
        hashes = windows[starts]
        hashes &= _LOW_BYTES[np.minimum(lengths, 8)]
        hashes ^= lengths.astype(np.uint64) * _GOLDEN
        long_words = np.flatnonzero(lengths > 8)
        if long_words.size:
            tail = windows[ends[long_words] - 8]
            hashes[long_words] = mix(hashes[long_words]) ^ mix(tail * _CHUNK_SALT[0])
            longer = long_words[lengths[long_words] > 16]
            chunk = 1
            while longer.size:
                piece = windows[starts[longer] + 8 * chunk] * _CHUNK_SALT[chunk % 64]
                hashes[longer] = mix(hashes[longer]) ^ piece
                chunk += 1
                longer = longer[lengths[longer] > 8 * (chunk + 1)]
    return mix(hashes), starts.astype(np.int64)


def shingle_hashes(texts: list[str], ngram: int) -> tuple[U64, I64]:
    """The shingle hashes of every text, flat, and offsets: text i's shingles are ``hashes[offsets[i]:offsets[i+1]]``
    (in text order, repeats kept; a text with no word has none)."""
    multipliers = constants(ngram, salt=ngram)
    # An ASCII text is its own NFKC form and folds to lower case, done below on the bytes of the whole batch.
    spaced = [text if text.isascii() else words_text(text) for text in texts]
    sizes = np.fromiter(
        (len(s) if s.isascii() else len(s.encode("utf-8")) for s in spaced), dtype=np.int64, count=len(spaced)
    )
    ends = np.cumsum(sizes + 1)
    out_hashes: list[U64] = []
    counts: list[I64] = []
    first = 0
    while first < len(spaced):
        base = int(ends[first - 1]) if first else 0
        last = max(int(np.searchsorted(ends, base + _BATCH_BYTES, side="right")), first + 1)
        hashes, batch_counts = _batch_shingles(spaced[first:last], sizes[first:last], ngram, multipliers)
        out_hashes.append(hashes)
        counts.append(batch_counts)
        first = last
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=offsets[1:])
    flat = np.concatenate(out_hashes) if out_hashes else np.empty(0, dtype=np.uint64)
    return flat, offsets


def _batch_shingles(spaced: list[str], sizes: I64, ngram: int, multipliers: U64) -> tuple[U64, I64]:
    word_hashes, word_starts = _word_hashes(" ".join(spaced).encode("utf-8").lower())
    text_starts = np.zeros(len(spaced), dtype=np.int64)
    np.cumsum(sizes[:-1] + 1, out=text_starts[1:])
    first_word = np.searchsorted(word_starts, text_starts)
    total = word_hashes.size
    words_per_text = np.diff(first_word, append=total)
    short = (words_per_text > 0) & (words_per_text < ngram)
    # acc[i] = Σ_{j<k} word[i+j]·M_j after k rounds: the hash of the k words from word i, before the final mix.
    # Windows that run past a text's end are computed too and dropped below.
    accumulated = np.zeros(total, dtype=np.uint64)
    short_values = np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(ngram):
            if k < total:
                accumulated[: total - k] += word_hashes[k:] * multipliers[k]
            if k == 0 and short.any():
                short_values = np.zeros(int(short.sum()), dtype=np.uint64)
            if short.any():
                done = words_per_text[short] == k + 1
                short_values[done] = accumulated[first_word[short][done]]
    position = np.arange(total, dtype=np.int64) - np.repeat(first_word, words_per_text)
    keep = position <= np.repeat(words_per_text - ngram, words_per_text)
    if short.any():
        accumulated[first_word[short]] = short_values
        keep[first_word[short]] = True
    counts = np.maximum(words_per_text - ngram + 1, 0) + short
    shingles = mix(accumulated[keep])
    shingles[shingles == 0] = 1  # 0 stays free as the empty slot of lookup tables
    return shingles, counts
