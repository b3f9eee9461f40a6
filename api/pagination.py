from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

import orjson
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Field, Model, QuerySet
from rest_framework import exceptions, pagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from annotate import browse, review_queue, search
from annotate.models import Example, LabelSummary
from config.unstorable import unstorable_character

_M = TypeVar("_M", bound=Model)
_Row = TypeVar("_Row")


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination answering ``{"results": [...], "next": url|null}`` (plus ``previous``)."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link(), "previous": self.get_previous_link()})

    def get_page_size(self, request: Request) -> int:
        """``page_size`` if given (above ``max_page_size`` it is cut to that); a value that is not a whole number of
        at least 1 is refused rather than silently replaced by the default."""
        value = request.query_params.get(self.page_size_query_param, "")
        if value == "":
            return self.page_size
        try:
            size = int(value)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"must be a whole number from 1 to {self.max_page_size}"]}
            )
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"Results per page (default {self.page_size}, at most {self.max_page_size})."
        return parameters

    def paginate_queryset(
        self, queryset: QuerySet[_M, _Row], request: Request, view: APIView | None = None
    ) -> list[_Row] | None:
        self._check_position(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def _check_position(self, queryset: QuerySet[_M, _Row], request: Request, view: APIView | None) -> None:
        """A cursor's position must be a value of the field the list is ordered by. DRF passes it to the query
        as it is, so a forged cursor (``p=abc`` for a numeric field, ``p=%00``) failed in the database: a 500."""
        cursor = self.decode_cursor(request)
        if cursor is None or cursor.position is None:
            return
        # DRF decodes the position as the text the cursor held (its stubs say int).
        if unstorable_character(str(cursor.position)):
            raise exceptions.NotFound(self.invalid_cursor_message)
        # DRF's get_ordering looks the view's filters up with getattr, so no view is fine; its stubs want one.
        ordering = self.get_ordering(request, queryset, view)  # type: ignore[arg-type]
        try:
            field = queryset.model._meta.get_field(ordering[0].lstrip("-"))
        except FieldDoesNotExist:
            return  # ordered by an annotation: nothing to check the position against
        if not isinstance(field, Field):
            return  # a relation seen from the related model's side: no column of this table to check against
        try:
            field.to_python(cursor.position)
        except ValidationError:
            raise exceptions.NotFound(self.invalid_cursor_message) from None

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }


class NewestFirst(CursorPagination):
    ordering = "-id"


class LatestVersionFirst(CursorPagination):
    ordering = "-version"


class KeysetPagination(CursorPagination):
    """The same envelope and query parameters, for the review queue's keyset order (annotate/review_queue.py).

    The cursor is opaque to clients: the position a page starts after, or ends before, in the queue's order. A
    page is one indexed query wherever it is in the queue, and cases that change between two requests never make
    a page repeat or skip a case that stayed where it was.
    """

    queue_page: review_queue.Page

    def paginate_queue(self, filters: review_queue.Filters, request: Request) -> list[LabelSummary]:
        self.request = request
        self.page_size = self.get_page_size(request)
        direction, position = self._decode(request)
        where = {"before": position} if direction == "before" else {"after": position}
        self.queue_page = review_queue.page(filters, size=self.page_size, **where)
        return self.queue_page.cases

    def get_next_link(self) -> str | None:
        following = self.queue_page.following
        return self._link("after", following) if following else None

    def get_previous_link(self) -> str | None:
        previous = self.queue_page.previous
        return self._link("before", previous) if previous else None

    def _link(self, direction: str, position: review_queue.Position) -> str:
        raw = orjson.dumps({direction[0]: [position.disagreement, position.example_id]})
        encoded = base64.urlsafe_b64encode(raw).decode("ascii")
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, encoded)

    def _decode(self, request: Request) -> tuple[str, review_queue.Position | None]:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return "after", None
        try:
            decoded = orjson.loads(base64.b64decode(encoded.encode("ascii"), altchars=b"-_", validate=True))
            [(key, (disagreement, example_id))] = decoded.items()
        except (UnicodeError, binascii.Error, ValueError, TypeError, AttributeError):
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        valid = (
            key in ("a", "b")
            and isinstance(disagreement, (int, float))
            and not isinstance(disagreement, bool)
            and 0 <= disagreement <= 1
            and isinstance(example_id, int)
            and not isinstance(example_id, bool)
            and 0 <= example_id < 2**63
        )
        if not valid:
            raise exceptions.NotFound(self.invalid_cursor_message)
        return ("after" if key == "a" else "before"), review_queue.Position(float(disagreement), example_id)


def _encode(position: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode("ascii")


def _decoded(encoded: str) -> object:
    """A cursor's JSON, or None when it is not base64 of JSON."""
    try:
        return orjson.loads(base64.b64decode(encoded.encode("ascii"), altchars=b"-_", validate=True))
    except (UnicodeError, binascii.Error, ValueError):
        return None


class ExampleKeyset(CursorPagination):
    """The examples list, searched and filtered (annotate/browse.py): a keyset on the example id, with the same
    envelope and query parameters. The view holds the filters (``view.filters``, annotate.search.ExampleFilters);
    the cursor is opaque to clients: the id a page starts after, or ends before."""

    browse_page: browse.Page

    def paginate_queryset(  # type: ignore[override]  # takes examples and returns them, as the generic one would
        self, queryset: QuerySet[Example], request: Request, view: APIView | None = None
    ) -> list[Example]:
        self.request = request
        self.page_size = self.get_page_size(request)
        filters = getattr(view, "filters", None) or search.ExampleFilters()
        after, before = self._decode(request)
        self.browse_page = browse.page(queryset, filters, after=after, before=before, size=self.page_size, count=False)
        return self.browse_page.examples

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["search_pending"] = {
            "type": "integer",
            "description": "Only with q: how many of the project's examples are not searchable yet (their index job "
            "has not run)",
        }
        return answer

    def get_next_link(self) -> str | None:
        after = self.browse_page.after
        return self._link({"a": after}) if after is not None else None

    def get_previous_link(self) -> str | None:
        before = self.browse_page.before
        return self._link({"b": before}) if before is not None else None

    def _link(self, position: dict[str, int]) -> str:
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, _encode(position))

    def _decode(self, request: Request) -> tuple[int | None, int | None]:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None, None
        decoded = _decoded(encoded)
        if not isinstance(decoded, dict) or len(decoded) != 1:
            raise exceptions.NotFound(self.invalid_cursor_message)
        [(key, example_id)] = decoded.items()
        valid = key in ("a", "b") and isinstance(example_id, int) and not isinstance(example_id, bool)
        if not valid or not 0 <= example_id < 2**63:
            raise exceptions.NotFound(self.invalid_cursor_message)
        return (example_id, None) if key == "a" else (None, example_id)
