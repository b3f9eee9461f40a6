"""The main pages checked by axe-core (from npm, a devDependency: scripts/test installs it) in a real browser: no
serious or critical violation of WCAG 2.1 A and AA (labels, contrast, landmarks, names of controls)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from annotate.services.queue import work_items_create
from curation.models import DatasetVersion, Job, VersionMember
from tests.browser.conftest import sign_in
from tests.factories import ExampleFactory
from tests.pages.test_reviewing import answers, label_all

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = ("serious", "critical", "moderate")


@pytest.fixture
def site(project, cast):
    split = ExampleFactory(project=project, external_id="split", metadata={"source": "forum"})
    two_one = ExampleFactory(project=project, external_id="two-one")
    label_all(project, {split: answers("code", "math", "general"), two_one: answers("code", "code", "math")})
    ExampleFactory(project=project, external_id="fresh")  # one left to annotate
    work_items_create(project=project)
    version = DatasetVersion.objects.create(project=project, status="ready", name="all", counts={"kept": 2})
    VersionMember.objects.bulk_create(VersionMember(version=version, example=e) for e in (split, two_one))
    failed = Job.objects.create(
        kind=Job.Kind.IMPORT,
        project=project,
        created_by=cast["manager"],
        status=Job.Status.FAILED,
        params={"filename": "data.jsonl"},
        error={
            "message": "1 of 2 records is invalid; nothing was imported. Fix it and import again.",
            "details": {"total": 1, "errors": [{"record": 2, "line": 3, "reason": "'text' must be a string"}]},
        },
    )
    p = project.pk
    return {
        "projects": "/",
        "project": f"/projects/{p}/",
        "annotate": f"/projects/{p}/annotate/",
        "my annotations": f"/projects/{p}/annotations/mine/",
        "review queue": f"/projects/{p}/review/?question=topic",
        "review page": f"/projects/{p}/review/{split.pk}/?question=topic",
        "review every question": f"/projects/{p}/review/{split.pk}/all/?question=topic",
        "consensus": f"/projects/{p}/review/consensus/?question=topic",
        "quality": f"/projects/{p}/quality/",
        "examples": f"/projects/{p}/examples/",
        "import": f"/projects/{p}/import/",
        "import job": f"/jobs/{failed.pk}/",
        "versions": f"/projects/{p}/versions/",
        "new version": f"/projects/{p}/versions/new/",
        "version": f"/versions/{version.pk}/",
        "export": f"/versions/{version.pk}/export/",
        "guideline versions": f"/projects/{p}/guidelines/",
        "edit guideline": f"/projects/{p}/guidelines/edit/",
    }


@pytest.fixture
def page(browser, live_server):
    """A page whose Content-Security-Policy lets Playwright inject axe-core (an inline script); the policy itself
    is tested in test_content_security.py."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async (rules) => (await axe.run(document, {runOnly: {type: 'tag', values: rules}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.any.concat(n.all).map(c => c.message).join('; '))}))",
        RULES,
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][:5]}" for v in found if v["impact"] in FAILING]


def test_axe_core_is_installed():
    assert AXE.exists(), "run scripts/test (npm ci installs the devDependencies), or npm ci"


def test_the_sign_in_page_passes_axe(page, db):
    page.goto("/accounts/login/")
    assert violations(page) == []


def test_the_main_pages_pass_axe(page, site):
    sign_in(page, "manager-user")
    found = {}
    for name, url in site.items():
        response = page.goto(url)
        assert response.status == 200, name
        page.wait_for_load_state("networkidle")
        if problems := violations(page):
            found[name] = problems
    assert found == {}


FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (el === document.body) return {what: "", shown: true};  // past the last control, on the browser's own
  // A choice's radio or checkbox is hidden under its face, which shows the focus.
  const shown = el.matches(".option input") ? el.nextElementSibling : el;
  const style = getComputedStyle(shown);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return {what: el.outerHTML.slice(0, 80), shown: outline || style.boxShadow !== "none"};
}"""


@pytest.mark.parametrize("name", ["project", "annotate", "review page", "review every question"])
def test_every_control_reached_by_tab_shows_its_focus(page, site, name):
    sign_in(page, "manager-user")
    page.goto(site[name])
    page.wait_for_load_state("networkidle")
    page.locator("body").focus()

    unseen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_SHOWN)
        if not focused["shown"]:
            unseen.append(focused["what"])
    assert unseen == []
