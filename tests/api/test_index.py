"""``GET /api/v1/``: the index of the endpoints."""

from __future__ import annotations

from django.urls import URLPattern

from api.urls import urlpatterns
from tests.conftest import api_client_for


def test_it_answers_json_listing_every_endpoint(db):
    response = api_client_for(None).get("/api/v1/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    listed = {entry["path"] for group in body["groups"].values() for entry in group["endpoints"]}
    routes = [str(p.pattern) for p in urlpatterns if isinstance(p, URLPattern) and str(p.pattern)]
    assert len(listed) == len(routes) - 3  # all but schema, docs and redoc, which have their own keys
    assert "/api/v1/projects/{project_id}/next/" in listed
    assert body["docs"] == "/api/v1/docs/"
    assert body["schema"] == "/api/v1/schema/"


def test_it_names_each_endpoints_methods(db):
    groups = api_client_for(None).get("/api/v1/").json()["groups"]

    projects = {entry["path"]: entry["methods"] for entry in groups["projects"]["endpoints"]}
    assert projects["/api/v1/projects/"] == ["GET", "POST"]
    assert projects["/api/v1/projects/{project_id}/"] == ["GET", "PATCH", "DELETE"]
    assert groups["auth"]["endpoints"] == [{"path": "/api/v1/auth/token/", "methods": ["POST"]}]


def test_it_still_answers_an_unknown_path_with_the_json_404(db):
    response = api_client_for(None).get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
