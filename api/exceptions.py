"""Every error leaves the API as ``{"error": {"code", "message", "details"}}`` (API.md, Conventions)."""

from __future__ import annotations

from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotate.services import FieldErrors, ServiceError


class ErrorBody(TypedDict):
    """What ``{"error": …}`` holds. ``details``: DRF's field errors for a 400, extra facts (``retry_after``) for
    some other errors, else null."""

    code: str
    message: str
    details: object


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


class TooManyAttempts(exceptions.APIException):
    """429 after too many failed sign-ins. DRF's handler sets ``Retry-After`` from ``wait`` (seconds)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "too_many_attempts"

    def __init__(self, message: str, *, wait: int):
        super().__init__(message)
        self.wait = wait
        self.error_details = {"retry_after": wait}


def _first_message(detail: Any, path: str = "") -> str:
    """A one-line summary of DRF's nested error detail, naming the field."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{path}.{key}" if path else str(key)
            if key == "non_field_errors":
                name = path
            return _first_message(value, name)
    if isinstance(detail, list) and detail:
        if all(isinstance(item, (str, exceptions.ErrorDetail)) for item in detail):
            return _first_message(detail[0], path)
        for index, item in enumerate(detail):
            if item:
                return _first_message(item, f"{path}[{index}]")
    text = str(detail)
    return f"{path}: {text}" if path else text


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return "invalid"


def service_error_to_api(exc: ServiceError) -> exceptions.APIException:
    if exc.code == "not_assigned":
        return exceptions.PermissionDenied(exc.message, code="not_assigned")
    if exc.code == "conflict":
        return Conflict(exc.message)
    if exc.code == "not_found" and exc.field is None:
        return exceptions.NotFound(exc.message)
    if isinstance(exc, FieldErrors):
        return exceptions.ValidationError({field: [message] for field, message in exc.errors.items()})
    return exceptions.ValidationError({exc.field: [exc.message]} if exc.field else [exc.message])


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        exc = service_error_to_api(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):
        # A body over its limit while being read (config/middleware/body_limit.py), or a form field over
        # DATA_UPLOAD_MAX_MEMORY_SIZE; otherwise Django would answer with an HTML page.
        exc = TooLarge(str(exc))
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError(f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields: send fewer.")
    elif isinstance(exc, TooManyFilesSent):
        exc = exceptions.ParseError(f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files: send fewer.")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    body: ErrorBody
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "message": _first_message(exc.detail), "details": exc.detail}
    else:
        body = {"code": _code(exc), "message": str(exc.detail), "details": getattr(exc, "error_details", None)}
    response.data = {"error": body}
    return response
