"""Refuse NUL characters and lone surrogates in the URL path, the query string, cookies, the Authorization header
and form fields, with a 400 that names where the character is (see config/unstorable.py for why).

One check at the edge rather than one per view or field: every view, form, filter and cursor then sees only text
that the database can store. API request bodies are checked by their parsers (api/parsers.py), which read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse

from config.middleware.responses import error_response, is_api
from config.unstorable import unstorable_message

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def bad_request(request: HttpRequest, message: str, field: str) -> HttpResponse:
    return error_response(
        request, status=400, code="invalid", title="Bad request", message=message, details={field: [message]}
    )


def _request_texts(request: HttpRequest) -> Iterator[tuple[str, str, str]]:
    """(where, field, text) for the parts of the request read before the view: path, query, cookies, header."""
    yield "The URL path", "path", request.path_info
    for name, values in request.GET.lists():
        yield "A query parameter name", name, name
        for value in values:
            yield f"The query parameter {name!r}", name, value
    for name, value in request.COOKIES.items():
        yield f"The cookie {name!r}", name, value
    yield "The Authorization header", "Authorization", request.META.get("HTTP_AUTHORIZATION", "")


def _form_texts(request: HttpRequest) -> Iterator[tuple[str, str, str]]:
    for name, values in request.POST.lists():
        yield "A form field name", name, name
        for value in values:
            yield f"The form field {name!r}", name, value
    for name, uploads in request.FILES.lists():
        for upload in uploads:
            yield f"The name of the file in {name!r}", name, upload.name or ""


def first_problem(texts: Iterator[tuple[str, str, str]]) -> tuple[str, str] | None:
    for where, field, text in texts:
        if message := unstorable_message(where, text):
            return message, field
    return None


class UnstorableTextMiddleware:
    """Comes after BodyLimitMiddleware (reading a form reads the body) and before CsrfViewMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            problem = first_problem(_request_texts(request))
        except TooManyFieldsSent:
            message = f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query parameters: send fewer."
            return error_response(request, status=400, code="invalid", title="Bad request", message=message)
        if problem is not None:
            return bad_request(request, *problem)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable, args: Any, kwargs: Any) -> HttpResponse | None:
        # API bodies are read by DRF's parsers, which check them (api/parsers.py); reading them here would parse
        # a multipart upload before the view chose how.
        if is_api(request) or request.method in ("GET", "HEAD", "OPTIONS") or request.content_type not in FORM_TYPES:
            return None
        problem = first_problem(_form_texts(request))
        return bad_request(request, *problem) if problem is not None else None
