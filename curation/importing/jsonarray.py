"""Stream the records out of a JSON array (``[{...}, {...}]``), one at a time, with their numbers and lines.

Each record is parsed by Python's json (``raw_decode``, in C) from a sliding window of the file, so the reader
knows where each record starts and ends: it gives line numbers, and it checks a record's size while reading it,
skipping (never holding) one over the limit. Python's json also keeps what other parsers change without a word:
ijson's yajl turns an unpaired surrogate escape into "?", and orjson rounds integers beyond 64 bits to floats;
here both reach the import's checks unchanged and are reported by name.

Pure Python (no Django).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterator

from curation.importing.sources import BOM, CHUNK, FileError, Limits, RawRecord, too_large
from curation.importing.values import too_deep

WHITESPACE = re.compile(r"[ \t\n\r]*")
# Outside a string, the characters that matter to the structure; inside one, its end or an escape.
STRUCTURE = re.compile(r'[\[\]{}"]')
STRING_BODY = re.compile(r'(?:[^"\\]++|\\.)*+', re.DOTALL)
SCALAR_END = re.compile(r"[,\]}\s]")


class _NotJson(ValueError):
    """A value JSON does not allow (NaN, Infinity), or a number too large to be one."""


def _constant(name: str) -> float:
    raise _NotJson(f"holds {name}, which is not JSON; write null or a string instead")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"holds the number {text[:40]}, too large for a floating-point number; write it as a string")
    return value


DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_finite)


class _Window:
    """Decoded text of the file from the current position on, read a chunk at a time."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks = chunks
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self.text = ""
        self.pos = 0
        self.offset = 0  # characters of the file before text[pos]
        self.line = 1  # the line of text[pos]
        self.eof = False
        self.first = True

    def more(self) -> bool:
        """Read another chunk; False at the end of the file."""
        if self.eof:
            return False
        chunk = next(self.chunks, None)
        try:
            if chunk is None:
                self.eof = True
                self.text += self.decoder.decode(b"", final=True)
                return False
            if self.first:
                chunk, self.first = chunk.removeprefix(BOM), False
            decoded = self.decoder.decode(chunk)
        except UnicodeDecodeError:
            raise FileError(f"the file is not valid UTF-8 (near line {self.line}); save it as UTF-8") from None
        # Drop what has been read, so the window holds about one chunk plus the record being read.
        self.text = self.text[self.pos :] + decoded
        self.pos = 0
        return True

    def advance(self, end: int) -> None:
        self.line += self.text.count("\n", self.pos, end)
        self.offset += end - self.pos
        self.pos = end

    def peek(self) -> str:
        """The next character that is not white space (moving past the white space), or "" at the end."""
        while True:
            self.advance(WHITESPACE.match(self.text, self.pos).end())  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def skip_value(self) -> bool:
        """Move past the value that starts here without building it, holding at most a chunk of it at a time;
        False when the file ends first."""
        first = self.text[self.pos]
        if first not in '[{"':
            found = SCALAR_END.search(self.text, self.pos)
            while found is None:
                self.advance(len(self.text))
                if not self.more():
                    return False
                found = SCALAR_END.search(self.text, self.pos)
            self.advance(found.start())
            return True
        depth, pos = 0, self.pos
        while True:
            found = STRUCTURE.search(self.text, pos)
            if found is None:
                self.advance(len(self.text))
                if not self.more():
                    return False
                pos = self.pos
                continue
            char, pos = found.group(), found.end()
            if char == '"':
                # The whole string in one match, escapes included: a long string is one step, not one per escape.
                while True:
                    end = STRING_BODY.match(self.text, pos).end()  # type: ignore[union-attr]
                    if end < len(self.text) and self.text[end] == '"':
                        pos = end + 1
                        break
                    # The chunk ends inside the string (or inside one of its escapes): read on from there.
                    self.advance(end)
                    if not self.more():
                        return False
                    pos = self.pos
            elif char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
            if depth == 0:
                self.advance(pos)
                return True


def _value_error(window: _Window, number: int, exc: ValueError) -> FileError:
    return FileError(f"invalid JSON after record {number - 1} (line {window.line}): {exc}")


def read_json_array(chunks: Iterator[bytes], limits: Limits) -> Iterator[RawRecord]:
    """The records of a JSON array; ``chunks`` starts with the one that holds the opening bracket."""
    window = _Window(chunks)
    if window.peek() != "[":
        raise FileError("a .json file must hold a list of records ([{...}, ...]) or one record per line")
    window.advance(window.pos + 1)
    limit = limits.record_bytes
    number = 0
    while True:
        char = window.peek()
        if char == "]" and number == 0:
            window.advance(window.pos + 1)
            break
        if not char:
            raise FileError(f"the file ends inside the list of records, after record {number}; is it complete?")
        number += 1
        yield _next_record(window, number, window.line, limit, limits.depth)
        char = window.peek()
        if char == "]":
            window.advance(window.pos + 1)
            break
        if char != ",":
            found = repr(char) if char else "the end of the file"
            where = f"after record {number} (line {window.line})"
            raise FileError(f"invalid JSON {where}: expected ',' or ']', not {found}")
        window.advance(window.pos + 1)
    if window.peek():
        raise FileError(f"invalid JSON after the list of records (line {window.line}): the file must end there")


def _next_record(window: _Window, number: int, line: int, limit: int, depth: int) -> RawRecord:
    """Parse the record that starts at the window's position and move past it."""
    while True:
        try:
            value, end = DECODER.raw_decode(window.text, window.pos)
        except json.JSONDecodeError as exc:
            # Most often the record goes on in the next chunk. Read on (doubling what is held, so a long record
            # costs linear time) until it parses, is over the limit, or the file ends.
            if window.eof:
                raise _value_error(window, number, exc) from None
            held = len(window.text) - window.pos
            if held > limit:
                return _skipped(window, number, line, limit, broken=exc)
            while len(window.text) - window.pos < max(2 * held, held + CHUNK) and window.more():
                pass
            continue
        except RecursionError:
            return _skipped(window, number, line, limit, reason=too_deep(depth))
        except _NotJson as exc:
            return _skipped(window, number, line, limit, reason=str(exc))
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            return _skipped(window, number, line, limit, reason=f"holds a value that cannot be read: {exc}")
        size = end - window.pos
        window.advance(end)
        if size > limit:  # characters: the byte size is at least this
            return RawRecord(number, line, error=too_large(size, limit), size=size)
        return RawRecord(number, line, value=value, size=size)


def _skipped(
    window: _Window, number: int, line: int, limit: int, *, reason: str | None = None, broken: ValueError | None = None
) -> RawRecord:
    """Move past a record that will not be built, holding at most a chunk of it at a time."""
    start = window.offset
    if not window.skip_value():
        raise FileError(f"the file ends inside record {number} (line {line}); is it complete?")
    size = window.offset - start
    if reason is None and size <= limit:  # it was not too long to parse: it is not JSON
        raise _value_error(window, number, broken or ValueError("not JSON")) from None
    return RawRecord(number, line, error=reason or too_large(size, limit), size=size)
