"""Django's error views, answering under /api/ with the API's error body instead of a page (API.md, Conventions).

Django answers these itself, outside any DRF view: a URL that matches no endpoint, a request Django refuses
(e.g. a bad Host header), a 500. The pages elsewhere stay Django's own (templates/403.html, 404.html).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from config.middleware.responses import error_response, is_api


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return error_response(request, status=400, code="invalid", title="Bad request", message="Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        message = str(exception) or "You may not do this."
        return error_response(request, status=403, code="permission_denied", title="Not allowed", message=message)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        message = f"No endpoint at {request.path}: see /api/v1/docs/ for the ones there are."
        return error_response(request, status=404, code="not_found", title="Not found", message=message)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        message = "Something went wrong on the server; it has been logged. Try again, and report it if it persists."
        return error_response(request, status=500, code="server_error", title="Server error", message=message)
    return defaults.server_error(request)
