"""Every response carries the Content-Security-Policy, and the templates hold nothing it would refuse
(tests/browser/test_content_security.py checks the pages in a real browser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from config.middleware.content_security import API_DOCS_POLICY, POLICY

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO / "templates").rglob("*.html"))
SCRIPTS = sorted((REPO / "static").glob("*.js"))


def test_the_policy_is_as_strict_as_planned():
    directives = dict(part.strip().split(" ", 1) for part in POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in POLICY


@pytest.mark.parametrize("url", ["/accounts/login/", "/api/v1/projects/", "/no-such-page/"])
def test_it_sends_the_policy_on_every_response(client, db, url):
    assert client.get(url)["Content-Security-Policy"] == POLICY


def test_it_sends_the_policy_on_signed_in_pages(client, cast, project):
    client.force_login(cast["manager"])

    response = client.get(reverse("annotate:project_detail", args=[project.pk]))

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.parametrize("name", ["api:docs", "api:redoc"])
def test_it_loosens_the_policy_only_for_the_api_docs(client, db, name):
    response = client.get(reverse(name))

    assert response["Content-Security-Policy"] == API_DOCS_POLICY
    assert "'unsafe-inline'" not in API_DOCS_POLICY.split("script-src")[1].split(";")[0]
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "the docs page runs an inline script"


def test_it_serves_the_swagger_ui_setup_as_a_script_file(client, db):
    response = client.get(reverse("api:docs") + "?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(REPO / "templates")))
def test_no_template_has_inline_script_handlers_or_styles(template):
    html = template.read_text()

    assert not INLINE_SCRIPT.search(html), "inline <script>: move it to a static file (data in json_script)"
    assert not HANDLER_ATTRIBUTE.search(html), "an on…= handler attribute: add the listener in a static script"
    assert not STYLE.search(html), "an inline style: use a class in a static stylesheet"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_no_script_evaluates_strings(script):
    source = script.read_text()

    assert not re.search(r"\beval\(|new Function\(|setTimeout\(\s*[\"']", source)
