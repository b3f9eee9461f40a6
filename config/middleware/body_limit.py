"""How many bytes a request body may hold, by who sends it and where it goes.

DRF reads the request stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applies to API bodies: an
anonymous 95 MB JSON body to the token endpoint was parsed whole. This middleware gives every request a limit:

- the sign-in page and the token endpoint, and any request without a signed-in user or a valid API token:
  ``WINNOW_MAX_ANONYMOUS_BODY_BYTES`` (64 KB);
- a multipart upload to an import endpoint by someone who may import there (a manager of the project):
  ``WINNOW_MAX_UPLOAD_BYTES`` (uploads stream to a temporary file, so this can be many GB);
- any other request of a signed-in user: ``WINNOW_MAX_JSON_BODY_BYTES`` (64 MB; a JSON body is parsed in memory).

A body over its limit is answered 413. The declared Content-Length is checked before anything is read; the body is
also counted while it is read, for bodies whose length is not declared up front (chunked bodies under ASGI).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from rest_framework.authtoken.models import Token

from annotate.access import role_in
from annotate.roles import may_manage
from config.middleware.responses import error_response

# Views addressed by URL name (namespace:name). A renamed URL must be renamed here too (tests/security checks that
# every name still resolves).
SIGN_IN_VIEWS = frozenset({"login", "api:token"})
UPLOAD_VIEWS = frozenset({"api:imports", "api:annotations-import", "curation:import"})
TOKEN_KEY = re.compile(r"\w{1,40}", re.ASCII)
# Where the request's bounded stream is kept: in its environ, beside the server's own entries (Django replaces
# request._stream once it has read the body, so that cannot be asked afterwards).
BOUNDED_STREAM = "winnow.bounded_stream"


@dataclass(frozen=True)
class Limit:
    bytes: int
    explanation: str  # completes "The request body is larger than …"


def human_size(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


class RequestBodyTooLarge(RequestDataTooBig):
    """Raised while reading a body that goes past its limit. Django answers a SuspiciousOperation with 400; the
    middleware turns that answer into the 413 this is."""


class BoundedStream:
    """The request's input stream, refusing to give more than ``limit.bytes`` bytes."""

    def __init__(self, stream: IO[bytes], limit: Limit):
        self._stream, self.limit = stream, limit
        self.position = 0
        self.exceeded = False

    def _count(self, data: bytes) -> bytes:
        self.position += len(data)
        if self.position > self.limit.bytes:
            self.exceeded = True
            raise RequestBodyTooLarge(f"request body over {self.limit.bytes} bytes")
        return data

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            # One byte more than allowed is enough to know the body is too large, without reading all of it.
            size = self.limit.bytes - self.position + 1
        return self._count(self._stream.read(size))

    def readline(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            size = self.limit.bytes - self.position + 1
        return self._count(self._stream.readline(size))

    def close(self) -> None:
        self._stream.close()


def declared_length(request: HttpRequest) -> int | None:
    """The body's length as the request declares it, or None when it is not known. A GET, HEAD or OPTIONS that
    declares neither a length nor a chunked body has none (0), and is let through without finding out who sent
    it, which would cost every such request a query for its token."""
    raw = request.META.get("CONTENT_LENGTH")
    if not raw:
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        return 0 if request.method in ("GET", "HEAD", "OPTIONS") and not chunked else None
    try:
        length = int(raw)
    except ValueError:
        return None
    return length if length >= 0 else None


def token_user(request: HttpRequest) -> Any:
    """The active user whose API token the request carries (as DRF's TokenAuthentication reads it), or None."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "token" or not TOKEN_KEY.fullmatch(parts[1]):
        return None
    token = Token.objects.select_related("user").filter(key=parts[1], user__is_active=True).first()
    return token.user if token is not None else None


def sender(request: HttpRequest) -> Any:
    """The signed-in user (session) or the token's user; None for an anonymous request."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return token_user(request)


def may_upload(user: Any, kwargs: dict[str, Any]) -> bool:
    """Whether the user may import into the project the URL names: only they may send a file of upload size (an
    outsider's file would otherwise be streamed to disk before the view refuses them)."""
    project_id = kwargs.get("project_id")
    return isinstance(project_id, int) and may_manage(role_in(user, project_id))


def limit_for(request: HttpRequest, view_name: str, kwargs: dict[str, Any]) -> Limit:
    small = settings.WINNOW_MAX_ANONYMOUS_BODY_BYTES
    if view_name in SIGN_IN_VIEWS:
        return Limit(small, f"the {human_size(small)} a sign-in request may send")
    user = sender(request)
    if user is None:
        return Limit(small, f"the {human_size(small)} a request without a signed-in user may send: sign in first")
    upload = request.content_type == "multipart/form-data" and view_name in UPLOAD_VIEWS
    size = settings.WINNOW_MAX_JSON_BODY_BYTES
    if upload and not may_upload(user, kwargs):
        return Limit(size, f"the {human_size(size)} a request may send to a project you may not import into")
    if upload:
        size = settings.WINNOW_MAX_UPLOAD_BYTES
        return Limit(size, f"the {human_size(size)} an upload may be (WINNOW_MAX_UPLOAD_BYTES)")
    return Limit(
        size,
        f"the {human_size(size)} a request body may be (WINNOW_MAX_JSON_BODY_BYTES); "
        "send large imports as a multipart file upload",
    )


def too_large(request: HttpRequest, limit: Limit) -> HttpResponse:
    return error_response(
        request,
        status=413,
        code="too_large",
        title="Request too large",
        message=f"The request body is larger than {limit.explanation}.",
    )


class BodyLimitMiddleware:
    """Must come before any middleware whose ``process_view`` reads the body (CsrfViewMiddleware reads forms)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        bounded = request.META.get(BOUNDED_STREAM)
        if isinstance(bounded, BoundedStream) and bounded.exceeded:
            # Whatever the reader made of the exception (a 400 page, an error body), the answer is a 413.
            return too_large(request, bounded.limit)
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        declared = declared_length(request)
        if declared is not None and declared <= settings.WINNOW_MAX_ANONYMOUS_BODY_BYTES:
            return None  # within every limit, and the server reads no more than the declared length
        match = request.resolver_match
        limit = limit_for(request, match.view_name if match else "", kwargs)
        if declared is not None and declared > limit.bytes:
            return too_large(request, limit)
        bounded = BoundedStream(request._stream, limit)
        request.META[BOUNDED_STREAM] = bounded
        # Django's stubs type the stream as BinaryIO; Django reads a body only through read() and readline().
        request._stream = bounded  # type: ignore[assignment]
        return None
