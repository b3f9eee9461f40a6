"""Word-level differences between two texts, as pieces a template marks up (``<del>``/``<ins>``, each piece
escaped by the template), and the passage of a text that an n-gram names.

Two ways to compare:

* by words (``whitespace=False``): what dedup compares; spacing is not a difference, and each side keeps its own
  spacing;
* by words and whitespace (``whitespace=True``): what cleaning changes, where a removed blank line is the point.
  Changed whitespace between words that are the same on both sides is shown with visible marks (``·`` for a
  space, ``↵`` before a line break, ``→`` for a tab).

``SequenceMatcher`` is quadratic at worst, and slow on long texts full of common words, so long texts are first
cut at the words both hold once (as patience diff does, see ``_match``). Texts longer than ``MAX_WORDS`` are not
compared: the pieces are the texts whole, and ``compared`` is False.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher

SAME, DELETED, INSERTED, MARKED = "same", "del", "ins", "mark"
MAX_WORDS = 20_000
_DIRECT = 400  # longer ranges of words are cut at anchors before SequenceMatcher sees them

_WORD = re.compile(r"\S+")
_NORMALIZED_WORD = re.compile(r"[^\W_]+")  # as curation.steps.ngrams reads words
_SHOWN_SPACE = str.maketrans({" ": "·", "\t": "→", "\n": "↵\n", "\u00a0": "⍽"})

Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class Piece:
    """A run of text and what it is: the same on both sides, only in the first (``del``), only in the second
    (``ins``), or the passage looked for (``mark``). ``space``: changed whitespace, shown with visible marks."""

    text: str
    kind: str = SAME
    space: bool = False

    @property
    def shown(self) -> str:
        return self.text.translate(_SHOWN_SPACE) if self.space else self.text


@dataclass(frozen=True)
class Diff:
    before: list[Piece]
    after: list[Piece]
    removed: int  # words only in the first text
    added: int  # words only in the second
    whitespace_changed: bool
    compared: bool = True
    labels: tuple[str, str] = ("the first", "the second")  # what the two texts are, for the summary

    @property
    def identical(self) -> bool:
        return self.compared and not (self.removed or self.added or self.whitespace_changed)

    @property
    def summary(self) -> str:
        """The difference in words, for everyone (and the text alternative of the highlighting)."""
        if not self.compared:
            return f"Too long to compare word by word (over {MAX_WORDS:,} words)."
        if self.identical:
            return "No difference."
        parts = []
        if self.removed:
            parts.append(f"{self.removed:,} word{'s' if self.removed != 1 else ''} only in {self.labels[0]}")
        if self.added:
            parts.append(f"{self.added:,} word{'s' if self.added != 1 else ''} only in {self.labels[1]}")
        if not parts:
            return "Only whitespace differs."
        sentence = " and ".join(parts)
        return sentence[0].upper() + sentence[1:] + ("; whitespace differs too." if self.whitespace_changed else ".")


class _Side:
    """A text as its words (with where each is) and the gaps between them: ``gaps[i]`` is the whitespace before
    word ``i``; ``gaps[len(words)]`` what follows the last."""

    def __init__(self, text: str):
        self.text = text
        self.spans = [match.span() for match in _WORD.finditer(text)]
        self.words = [text[start:end] for start, end in self.spans]

    def gap(self, i: int) -> tuple[int, int]:
        start = self.spans[i - 1][1] if i else 0
        end = self.spans[i][0] if i < len(self.spans) else len(self.text)
        return start, end


def word_diff(
    before: str, after: str, *, whitespace: bool = False, labels: tuple[str, str] = ("the first", "the second")
) -> Diff:
    """The differences between two texts (see the module's docstring); ``labels`` name them in the summary."""
    a, b = _Side(before), _Side(after)
    if max(len(a.words), len(b.words)) > MAX_WORDS:
        return Diff([Piece(before)], [Piece(after)], 0, 0, False, compared=False, labels=labels)
    pieces_a: list[Piece] = []
    pieces_b: list[Piece] = []
    removed = added = 0
    spaces = False
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal":
            spaces |= _add_equal(pieces_a, pieces_b, a, b, i1, i2, j1, whitespace)
        else:
            _add_words(pieces_a, a, i1, i2, DELETED)
            _add_words(pieces_b, b, j1, j2, INSERTED)
            removed += i2 - i1
            added += j2 - j1
    spaces |= _add_tail(pieces_a, pieces_b, a, b, whitespace)
    return Diff(_merged(pieces_a), _merged(pieces_b), removed, added, spaces, labels=labels)


def _opcodes(a: _Side, b: _Side) -> list[Opcode]:
    """Opcodes as SequenceMatcher gives them, over the words of ``a`` and ``b``."""
    blocks: list[tuple[int, int, int]] = []
    _match(a.words, b.words, 0, len(a.words), 0, len(b.words), blocks)
    codes: list[Opcode] = []
    i = j = 0
    for ai, bj, size in [*blocks, (len(a.words), len(b.words), 0)]:
        tag = "replace" if i < ai and j < bj else "delete" if i < ai else "insert" if j < bj else ""
        if tag:
            codes.append((tag, i, ai, j, bj))
        if size and codes and codes[-1][0] == "equal" and codes[-1][2] == ai and codes[-1][4] == bj:
            codes[-1] = ("equal", codes[-1][1], ai + size, codes[-1][3], bj + size)
        elif size:
            codes.append(("equal", ai, ai + size, bj, bj + size))
        i, j = ai + size, bj + size
    return codes


def _match(a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int, out: list[tuple[int, int, int]]) -> None:
    """The matching runs of a[alo:ahi] and b[blo:bhi], in order, appended to ``out`` as (i, j, size).

    Short ranges go to SequenceMatcher whole. Long ones are first cut at anchors, as patience diff does: the words
    that occur once on each side, in the longest run that is in the same order on both; the ranges between
    anchors are matched the same way. Natural text has plenty of such words, so a long text costs about as much as
    its changed passages."""
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        out.append((alo, blo, 1))
        alo, blo = alo + 1, blo + 1
    suffix = []
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
        suffix.append((ahi, bhi, 1))
    if alo < ahi and blo < bhi:
        longest = max(ahi - alo, bhi - blo)
        anchors = _anchors(a, b, alo, ahi, blo, bhi) if longest > _DIRECT else []
        if anchors:
            i, j = alo, blo
            for anchor_i, anchor_j in anchors:
                _match(a, b, i, anchor_i, j, anchor_j, out)
                out.append((anchor_i, anchor_j, 1))
                i, j = anchor_i + 1, anchor_j + 1
            _match(a, b, i, ahi, j, bhi, out)
        elif longest <= 4 * _DIRECT:
            matcher = SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            out.extend((alo + i, blo + j, size) for i, j, size in matcher.get_matching_blocks() if size)
        # else: long, and nothing in common that is safe to align on: left as one change
    out.extend(reversed(suffix))


def _anchors(a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int) -> list[tuple[int, int]]:
    """Words found exactly once in a[alo:ahi] and once in b[blo:bhi], as (i, j), in the longest run whose order
    is the same on both sides."""
    count_a = Counter(a[alo:ahi])
    count_b = Counter(b[blo:bhi])
    where_b = {b[j]: j for j in range(blo, bhi) if count_b[b[j]] == 1}
    pairs = [(i, where_b[a[i]]) for i in range(alo, ahi) if count_a[a[i]] == 1 and a[i] in where_b]
    # The longest increasing run of j (patience sorting), with back links to recover it.
    tails: list[int] = []  # tails[k]: index in pairs of the smallest j ending a run of length k + 1
    tail_js: list[int] = []
    back = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect_left(tail_js, j)
        back[index] = tails[k - 1] if k else -1
        if k == len(tails):
            tails.append(index)
            tail_js.append(j)
        else:
            tails[k], tail_js[k] = index, j
    run = []
    index = tails[-1] if tails else -1
    while index >= 0:
        run.append(pairs[index])
        index = back[index]
    return run[::-1]


def _add_words(pieces: list[Piece], side: _Side, i1: int, i2: int, kind: str) -> None:
    """Words i1..i2 as one piece of ``kind``, after the whitespace before them (which is not marked)."""
    if i1 == i2:
        return
    gap_start, start = side.gap(i1)
    if gap_start < start:
        pieces.append(Piece(side.text[gap_start:start]))
    pieces.append(Piece(side.text[start : side.spans[i2 - 1][1]], kind))


def _add_equal(
    pieces_a: list[Piece], pieces_b: list[Piece], a: _Side, b: _Side, i1: int, i2: int, j1: int, whitespace: bool
) -> bool:
    """Words that are the same on both sides, with the whitespace before each compared if ``whitespace``;
    True if any of it differs."""
    changed = False
    for k in range(i2 - i1):
        gap_a, gap_b = a.text[slice(*a.gap(i1 + k))], b.text[slice(*b.gap(j1 + k))]
        if whitespace and gap_a != gap_b:
            pieces_a.append(Piece(gap_a, DELETED, space=True))
            pieces_b.append(Piece(gap_b, INSERTED, space=True))
            changed = True
        else:
            pieces_a.append(Piece(gap_a))
            pieces_b.append(Piece(gap_b))
        pieces_a.append(Piece(a.words[i1 + k]))
        pieces_b.append(Piece(b.words[j1 + k]))
    return changed


def _add_tail(pieces_a: list[Piece], pieces_b: list[Piece], a: _Side, b: _Side, whitespace: bool) -> bool:
    tail_a, tail_b = a.text[slice(*a.gap(len(a.words)))], b.text[slice(*b.gap(len(b.words)))]
    if whitespace and tail_a != tail_b:
        pieces_a.append(Piece(tail_a, DELETED, space=True))
        pieces_b.append(Piece(tail_b, INSERTED, space=True))
        return True
    pieces_a.append(Piece(tail_a))
    pieces_b.append(Piece(tail_b))
    return False


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Neighbouring pieces of the same kind as one (less markup; a screen reader reads a change at once). Changed
    whitespace stays apart from changed words: it is shown with marks."""
    out: list[Piece] = []
    for piece in pieces:
        if not piece.text:
            continue
        if out and out[-1].kind == piece.kind and out[-1].space == piece.space:
            out[-1] = Piece(out[-1].text + piece.text, piece.kind, piece.space)
        else:
            out.append(piece)
    return out


def marked(text: str, ngram: str) -> list[Piece]:
    """``text`` with the first passage whose normalised words are ``ngram``'s (lowercased, punctuation as word
    breaks, as decontamination compares them) marked; the text whole and unmarked if there is none."""
    wanted = ngram.split()
    if not wanted:
        return [Piece(text)]
    matches = list(_NORMALIZED_WORD.finditer(text))
    words = [match[0].lower() for match in matches]
    n = len(wanted)
    for i in range(len(words) - n + 1):
        if words[i : i + n] == wanted:
            start, end = matches[i].start(), matches[i + n - 1].end()
            pieces = [Piece(text[:start]), Piece(text[start:end], MARKED), Piece(text[end:])]
            return [piece for piece in pieces if piece.text]
    return [Piece(text)]
