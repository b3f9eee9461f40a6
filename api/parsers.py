"""Request body parsers for the API: DRF's own, with the checks that keep bad input a 400.

- JSON is parsed by orjson, which refuses lone surrogates (psycopg2 cannot encode them) and does not recurse in
  Python; the parsed document is then walked without recursion to refuse nesting deeper than MAX_JSON_DEPTH
  (DRF's json-based parser, and json.dumps in its JSONField, raised RecursionError at about a thousand levels)
  and NUL characters, which PostgreSQL cannot store.
- Multipart forms are parsed by Django's parser (uploads stream to temporary files, never whole into memory);
  their fields and file names are checked for the same characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import orjson
from rest_framework import parsers, renderers
from rest_framework.exceptions import ParseError

from config.unstorable import find_big_integer, find_json_problem, unstorable_message

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile
    from django.http import QueryDict
    from django.http.request import _ImmutableQueryDict  # only in django-stubs: a QueryDict that cannot change
    from django.utils.datastructures import MultiValueDict

MAX_JSON_DEPTH = 64
# A number token of 19 digits or more may not fit in 64 bits (-2**63 - 1 has 19); a string holding such digits
# matches too, which only costs a second, exact parse.
LONG_NUMBER = re.compile(rb"\d{19}")
# In valid JSON a NUL can only be written as this escape (raw control characters are not allowed in strings), so
# a body without it needs no look at each string.
NUL_ESCAPE = b"\\u0000"


class JSONParser(parsers.BaseParser):
    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:  # any JSON document, a list as well as an object
        raw = stream.read()
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(_parse_error(exc)) from None
        problem = find_json_problem(document, max_depth=MAX_JSON_DEPTH, check_text=NUL_ESCAPE in raw)
        if problem is None and LONG_NUMBER.search(raw):
            # orjson would have rounded an integer beyond 64 bits into a float: Python's json reads it exactly (the
            # depth is known to be safe for it now) so that it is refused, not stored changed.
            problem = find_big_integer(json.loads(raw))
        if problem is not None:
            raise ParseError(problem)
        return document


def _parse_error(exc: orjson.JSONDecodeError) -> str:
    """orjson's reason, in words that say what to fix for the two cases a well-formed body can still hit."""
    where = f"line {exc.lineno} column {exc.colno}"
    if "recursion depth" in exc.msg:
        return f"The JSON body is nested too deeply ({where}): JSON may be nested at most {MAX_JSON_DEPTH} levels."
    if exc.msg.endswith("surrogate in string"):  # "no low …", "invalid high …": an escape without its pair
        return (
            f"The JSON body holds an unpaired UTF-16 surrogate (an escape such as \\ud800 without its pair) at "
            f"{where}, which is not text: fix or remove it."
        )
    return f"JSON parse error - {exc}"


class MultiPartParser(parsers.MultiPartParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> parsers.DataAndFiles[_ImmutableQueryDict, MultiValueDict[str, UploadedFile]]:
        parsed = super().parse(stream, media_type, parser_context)
        check_form(parsed.data, parsed.files)
        return parsed


def check_form(data: QueryDict, files: MultiValueDict[str, UploadedFile]) -> None:
    for name, values in data.lists():
        for where, text in [("A form field name", name), *((f"The form field {name!r}", value) for value in values)]:
            if message := unstorable_message(where, text):
                raise ParseError(message)
    for name, uploads in files.lists():
        for upload in uploads:
            if message := unstorable_message(f"The name of the file in {name!r}", upload.name or ""):
                raise ParseError(message)
