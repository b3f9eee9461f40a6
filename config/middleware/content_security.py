"""The Content-Security-Policy header on every response.

The pages run no inline script and carry no inline style: scripts and styles come from static files, page data
travels in ``<script type="application/json">`` blocks (``json_script``), which are never executed, and htmx is
told not to inject its indicator ``<style>`` (``<meta name="htmx-config">`` in base.html). So an injected
``<script>`` or ``onclick=`` cannot run, and a page cannot be framed or post a form to another site.

Swagger UI and Redoc (drf-spectacular-sidecar, served from our own static files) set inline styles, and Redoc runs
its search in a worker made from a ``blob:`` URL; only those two pages get that looser policy.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
API_DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
API_DOCS_VIEWS = frozenset({"api:docs", "api:redoc"})


def policy_for(request: HttpRequest) -> str:
    match = request.resolver_match
    return API_DOCS_POLICY if match is not None and match.view_name in API_DOCS_VIEWS else POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(HEADER, policy_for(request))
        return response
