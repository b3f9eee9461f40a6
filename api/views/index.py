"""``GET /api/v1/``: an index of the endpoints, grouped by the resource each path starts with.

The index is read from the API's own URL patterns, so it cannot fall behind them. Like the schema it describes the
API and holds no data, so it answers without an account (every endpoint it lists still asks for one).
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import URLPattern, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

METHODS = ("get", "post", "put", "patch", "delete")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
# Where a group is described at more length than its paths say.
GROUPS = {
    "auth": "POST a username and password for the token sent as 'Authorization: Token <key>'",
    "users": "staff: create user accounts",
    "projects": "projects and everything in one: questions, guidelines, members, imports, examples, the annotation "
    "queue, annotations, reviews, agreement, dataset versions and chat templates",
    "versions": "dataset versions: kept examples, removals, statistics and exports",
    "exports": "export jobs' manifests and files",
    "templates": "chat templates stored in a project",
    "examples": "one example",
    "annotations": "one annotation",
    "jobs": "background jobs: progress, result, cancelling",
    "filters": "the catalog of curation filter rules",
}
DESCRIPTIONS = {"schema": "the OpenAPI schema", "docs": "the schema, browsable", "redoc": "the schema as a document"}


def _methods(pattern: URLPattern) -> list[str]:
    view = getattr(pattern.callback, "cls", None)
    return [method.upper() for method in METHODS if view is not None and hasattr(view, method)]


def endpoint_index(patterns: list[URLPattern], base: str) -> dict[str, Any]:
    """The endpoints under ``base`` by group (the first segment of their path), each with its methods."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for pattern in patterns:
        route = str(pattern.pattern)
        if not route or pattern.name in DESCRIPTIONS:
            continue
        entry = {"path": base + _CONVERTER.sub(r"{\1}", route), "methods": _methods(pattern)}
        groups.setdefault(route.split("/", 1)[0], []).append(entry)
    return {
        name: {"about": GROUPS.get(name, ""), "endpoints": sorted(entries, key=lambda entry: entry["path"])}
        for name, entries in groups.items()
    }


class IndexView(APIView):
    """The API's endpoints, grouped; the full reference is the schema (``docs``)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(auth=[], responses={200: dict})
    def get(self, request: Request) -> Response:
        from api.urls import urlpatterns  # the URL module imports this view

        base = reverse("api:index")
        return Response(
            {
                "name": "Winnow API",
                "version": "1",
                "authentication": "Authorization: Token <key>, from POST " + reverse("api:token"),
                **{name: reverse(f"api:{name}") for name in DESCRIPTIONS},
                "groups": endpoint_index([p for p in urlpatterns if isinstance(p, URLPattern)], base),
            }
        )
