"""Error responses given by middleware, before a view runs: the API's error body under /api/, a page elsewhere."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def error_response(
    request: HttpRequest, *, status: int, code: str, title: str, message: str, details: Any = None
) -> HttpResponse:
    """``{"error": {"code", "message", "details"}}`` for the API (API.md, Conventions); a plain page otherwise.

    The page is rendered without the site's layout on purpose: the request was refused before the session, the
    user and the CSRF token could be trusted, and the layout reads all three.
    """
    if is_api(request):
        return JsonResponse({"error": {"code": code, "message": message, "details": details}}, status=status)
    html = render_to_string("http_error.html", {"status": status, "title": title, "message": message})
    return HttpResponse(html, status=status)
