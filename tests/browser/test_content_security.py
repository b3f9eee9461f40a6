"""The pages run under the Content-Security-Policy with nothing refused: no inline script or style, no handler
attributes, nothing from elsewhere (config/middleware/content_security.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment
from curation.models import Job
from tests.browser.conftest import sign_in
from tests.factories import ExampleFactory, UserFactory
from tests.pages.test_reviewing import answers, label_all

# Records every violation the browser reports; added before any page script runs (and exempt from the policy).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


REDOC_BADGE = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def watched(page):
    """The page, and the list of Content-Security-Policy violations it reports (console and events)."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.add_init_script(RECORD_VIOLATIONS)
    return page, violations


def visit(page, url: str, violations: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 400, f"{url}: {response and response.status}"
    assert response.headers.get("content-security-policy"), f"{url} has no Content-Security-Policy"
    page.wait_for_load_state("networkidle")
    violations.extend(f"{url}: {text}" for text in page.evaluate("window.__cspViolations"))


@pytest.fixture
def busy_project(project, cast):
    """A project with something on every page: a disagreement, an annotation of the manager's, a running job."""
    split = ExampleFactory(project=project, external_id="split", content={"prompt": "Sort?", "response": "x"})
    label_all(project, {split: answers("code", "math", "general")})
    mine = ExampleFactory(project=project, external_id="mine")
    from annotate.services.queue import work_items_create

    work_items_create(project=project)
    assert next_assignment(project=project, annotator=cast["manager"]).example_id == mine.pk
    annotation, _ = annotation_submit(
        project=project, annotator=cast["manager"], example_id=mine.pk, answers={"quality": 4, "topic": "code"}
    )
    ExampleFactory(project=project, external_id="to-annotate")
    work_items_create(project=project)
    job = Job.objects.create(kind=Job.Kind.IMPORT, project=project, created_by=cast["manager"], params={})
    return {"split": split, "annotation": annotation, "job": job}


def test_the_main_pages_break_no_content_security_rule(watched, project, cast, busy_project):
    page, violations = watched
    p = project.pk
    visit(page, reverse("login"), violations)
    sign_in(page, "manager-user")
    urls = [
        reverse("annotate:project_list"),
        reverse("annotate:project_detail", args=[p]),
        reverse("annotate:example_list", args=[p]),
        reverse("annotate:annotate", args=[p]),
        reverse("annotate:my_annotations", args=[p]),
        reverse("annotate:annotation_edit", args=[p, busy_project["annotation"].pk]),
        reverse("annotate:review_queue", args=[p]) + "?question=topic",
        reverse("annotate:review_example", args=[p, busy_project["split"].pk]) + "?question=topic",
        reverse("annotate:review_consensus", args=[p]) + "?question=topic",
        reverse("annotate:quality", args=[p]),
        reverse("annotate:guideline_edit", args=[p]),
        reverse("annotate:project_new"),
        reverse("annotate:project_settings", args=[p]),
        reverse("annotate:members", args=[p]),
        reverse("annotate:guideline_versions", args=[p]),
        reverse("curation:import", args=[p]),
        reverse("curation:job_detail", args=[busy_project["job"].pk]),
    ]
    for url in urls:
        visit(page, url, violations)
    page.wait_for_timeout(1500)  # the job page polls with htmx every second
    violations.extend(page.evaluate("window.__cspViolations"))

    assert violations == []


def test_the_keyboard_and_htmx_still_work_under_the_policy(watched, project, cast, busy_project):
    page, violations = watched
    sign_in(page, "manager-user")
    visit(page, reverse("annotate:annotate", args=[project.pk]), violations)

    page.keyboard.press("?")  # annotate.js opens the list of shortcuts

    assert page.get_by_role("dialog").is_visible() or page.get_by_text("Keyboard shortcuts").first.is_visible()
    assert violations == []


def test_the_admin_breaks_no_content_security_rule(watched, project, busy_project):
    page, violations = watched
    UserFactory(username="staff-user", is_staff=True, is_superuser=True)
    page.goto("/admin/")  # the admin sends staff to the sign-in page everyone uses
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", "staff-user")
    page.fill("input[name=password]", "pw-for-tests")
    page.click("main button[type=submit]")
    page.wait_for_url("**/admin/")

    for url in [
        reverse("admin:index"),
        reverse("admin:annotate_project_changelist"),
        reverse("admin:annotate_project_change", args=[project.pk]),
        reverse("admin:curation_job_changelist"),
        reverse("admin:auth_user_add"),
    ]:
        visit(page, url, violations)

    assert violations == []


def test_the_api_docs_load_under_their_own_policy(watched, db):
    page, violations = watched

    visit(page, reverse("api:docs"), violations)
    page.locator(".swagger-ui .info").wait_for()
    visit(page, reverse("api:redoc"), violations)
    page.get_by_text("Winnow API").first.wait_for()

    # Redoc's "API docs by Redocly" badge is an image on cdn.redoc.ly; the policy keeps the docs offline.
    assert [text for text in violations if REDOC_BADGE not in text] == []
