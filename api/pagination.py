from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import QuerySet
from rest_framework import exceptions, pagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from config.unstorable import unstorable_character

T = TypeVar("T")


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

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list | None:
        self._check_position(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def _check_position(self, queryset: QuerySet, request: Request, view: Any) -> None:
        """A cursor's position must be a value of the field the list is ordered by. DRF passes it to the query
        as it is, so a forged cursor (``p=abc`` for a numeric field, ``p=%00``) failed in the database: a 500."""
        cursor = self.decode_cursor(request)
        if cursor is None or cursor.position is None:
            return
        if unstorable_character(cursor.position):
            raise exceptions.NotFound(self.invalid_cursor_message)
        try:
            field = queryset.model._meta.get_field(self.get_ordering(request, queryset, view)[0].lstrip("-"))
        except FieldDoesNotExist:
            return  # ordered by an annotation: nothing to check the position against
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


class ListPagination(CursorPagination):
    """The same envelope and query parameters for a list computed in Python rather than read from a queryset.

    The cursor is opaque to clients (a position in the list, encoded); the list is computed afresh for every
    page, so rows that change between two requests may move across a page boundary.
    """

    def paginate_list(self, items: Sequence[T], request: Request) -> list[T]:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.offset = self._decode_offset(request)
        self.total = len(items)
        return list(items[self.offset : self.offset + self.page_size])

    def get_next_link(self) -> str | None:
        if self.offset + self.page_size >= self.total:
            return None
        return self._link(self.offset + self.page_size)

    def get_previous_link(self) -> str | None:
        if self.offset <= 0:
            return None
        return self._link(max(0, self.offset - self.page_size))

    def _link(self, offset: int) -> str:
        url = self.request.build_absolute_uri()
        if offset == 0:
            return remove_query_param(url, self.cursor_query_param)
        encoded = base64.urlsafe_b64encode(f"o={offset}".encode()).decode("ascii")
        return replace_query_param(url, self.cursor_query_param, encoded)

    def _decode_offset(self, request: Request) -> int:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return 0
        try:
            key, _, value = (
                base64.b64decode(encoded.encode("ascii"), altchars=b"-_", validate=True).decode().partition("=")
            )
            offset = int(value)
        except (UnicodeError, binascii.Error, ValueError):
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        if key != "o" or offset < 0:
            raise exceptions.NotFound(self.invalid_cursor_message)
        return offset
