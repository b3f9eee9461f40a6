"""Failed sign-ins, counted per username and per client address, and the sign-in page that refuses more.

Both ways in count the same failures: the sign-in page (``SignInView``) and the API's token endpoint
(api/views/auth.py). After ``WINNOW_SIGN_IN_FAILURES_PER_USERNAME`` failures for one username, or
``WINNOW_SIGN_IN_FAILURES_PER_ADDRESS`` from one address, within ``WINNOW_SIGN_IN_WINDOW_SECONDS``, further
attempts are refused until the window ends, without checking the password (so guessing stops, right or wrong).
A successful sign-in clears its username's count; the address keeps its count.

The counts live in Django's cache, which every web process shares: Redis in production, files under the data
directory in the embedded mode (config/settings.py, CACHES).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.forms import Form
from django.http import HttpRequest, HttpResponse

KEY_PREFIX = "sign-in-failures"


@dataclass(frozen=True)
class Lockout:
    wait: int  # seconds until the next attempt is allowed
    reason: str  # "for this username" or "from your address"

    @property
    def message(self) -> str:
        minutes = math.ceil(self.wait / 60)
        retry_at = datetime.fromtimestamp(time.time() + self.wait, tz=UTC).strftime("%H:%M")
        return (
            f"Too many failed sign-ins {self.reason}. Try again in {minutes} minute{'s' if minutes != 1 else ''} "
            f"(after {retry_at} UTC)."
        )


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or, behind ``WINNOW_NUM_PROXIES`` trusted proxies, the address the
    outermost of them saw (further left in X-Forwarded-For is what the client claims, so it is not trusted)."""
    hops = settings.WINNOW_NUM_PROXIES
    if hops > 0:
        header: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [part.strip() for part in header.split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    address: str = request.META.get("REMOTE_ADDR", "")
    return address


class _Counter:
    """Failures under one key in a fixed window that starts at the first failure."""

    def __init__(self, key: str, limit: int, reason: str):
        digest = hashlib.sha256(key.encode()).hexdigest()
        self.count_key, self.since_key = f"{KEY_PREFIX}:{digest}:count", f"{KEY_PREFIX}:{digest}:since"
        self.limit, self.reason = limit, reason

    def lockout(self, window: int) -> Lockout | None:
        if (cache.get(self.count_key) or 0) < self.limit:
            return None
        since = cache.get(self.since_key) or time.time()
        return Lockout(wait=max(1, math.ceil(since + window - time.time())), reason=self.reason)

    def add_failure(self, window: int) -> None:
        cache.add(self.since_key, time.time(), timeout=window)
        cache.add(self.count_key, 0, timeout=window)
        try:
            cache.incr(self.count_key)
        except ValueError:  # the window ended between add and incr
            cache.set(self.count_key, 1, timeout=window)

    def clear(self) -> None:
        cache.delete_many([self.count_key, self.since_key])


class FailedSignIns:
    def __init__(self, *, username: str, address: str):
        self.window = settings.WINNOW_SIGN_IN_WINDOW_SECONDS
        # Usernames are compared case-insensitively here, so that changing the case does not start a new count.
        self.by_username = _Counter(
            f"user:{username.casefold()}", settings.WINNOW_SIGN_IN_FAILURES_PER_USERNAME, "for this username"
        )
        self.by_address = _Counter(f"addr:{address}", settings.WINNOW_SIGN_IN_FAILURES_PER_ADDRESS, "from your address")

    @classmethod
    def for_request(cls, request: HttpRequest, username: Any) -> FailedSignIns:
        return cls(username=username if isinstance(username, str) else "", address=client_address(request))

    def lockout(self) -> Lockout | None:
        """Why and how long further attempts are refused, or None when they are allowed."""
        lockouts = [c.lockout(self.window) for c in (self.by_username, self.by_address)]
        found = [lockout for lockout in lockouts if lockout is not None]
        return max(found, key=lambda lockout: lockout.wait) if found else None

    def add_failure(self) -> None:
        self.by_username.add_failure(self.window)
        self.by_address.add_failure(self.window)

    def succeeded(self) -> None:
        self.by_username.clear()


def is_wrong_credentials(form: Form) -> bool:
    """Whether the form refused a username and password (a guess), rather than, say, a missing field."""
    return form.has_error("__all__", "invalid_login") or form.has_error("__all__", "inactive")


class SignInView(LoginView):
    """Django's sign-in page, refusing attempts after too many failures (429, saying when to try again)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.attempts = FailedSignIns.for_request(request, request.POST.get("username", ""))
        lockout = self.attempts.lockout()
        if lockout is None:
            return super().post(request, *args, **kwargs)
        form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
        response = self.render_to_response(self.get_context_data(form=form, lockout=lockout.message), status=429)
        response["Retry-After"] = str(lockout.wait)
        return response

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        self.attempts.succeeded()
        return super().form_valid(form)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        if is_wrong_credentials(form):
            self.attempts.add_failure()
        return super().form_invalid(form)
