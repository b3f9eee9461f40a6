"""The quality dashboard in a real browser: Chart.js (served from our own static files) draws the charts under the
Content-Security-Policy, and each chart's numbers open with one click."""

from __future__ import annotations

from django.urls import reverse

from annotate.services.annotations import annotation_submit
from annotate.services.projects import guideline_add
from tests.agreement_data import write_labels
from tests.browser.conftest import sign_in
from tests.browser.test_content_security import RECORD_VIOLATIONS


def test_the_dashboard_draws_its_charts_and_opens_their_numbers(page, project, cast):
    annotators = write_labels(project)
    guideline_add(project=project, text="v2", created_by=cast["manager"])
    e2 = project.examples.get(external_id="e2").pk
    annotation_submit(
        project=project, annotator=annotators["ann-c"], example_id=e2, answers={"quality": 3, "topic": "math"}
    )
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "reviewer-user")

    page.goto(reverse("annotate:quality", args=[project.pk]))
    page.wait_for_load_state("networkidle")

    drawn = page.evaluate(
        """() => ["chart-agreement", "chart-versions"].map((id) => {
            const chart = Chart.getChart(document.getElementById(id));
            return chart ? chart.data.datasets.map((set) => set.data.filter((v) => v !== null).length) : null;
        })"""
    )
    agreement, versions = drawn
    assert agreement == [2, 2]  # an interval bar and an alpha point for each of the two questions
    assert versions is not None and len(versions) == 4  # per question: interval bars and a line over the versions
    table = page.locator("#agreement-heading").locator("xpath=../..").locator("details table")
    assert not table.is_visible()
    page.locator("#agreement-heading").locator("xpath=../..").locator("summary").click()
    assert table.is_visible()
    assert "quality" in table.inner_text()
    assert page.evaluate("window.__cspViolations") == []


def test_the_annotator_charts_are_drawn(page):
    from tests.agreement_data import rated_project

    project, reviewer = rated_project()
    reviewer.set_password("pw-for-tests")
    reviewer.save()
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, reviewer.username)

    page.goto(reverse("annotate:quality", args=[project.pk]))
    page.wait_for_load_state("networkidle")

    sizes = page.evaluate(
        """() => ["chart-offsets", "chart-distributions"].map((id) => {
            const chart = Chart.getChart(document.getElementById(id));
            return chart ? chart.data.labels.length : null;
        })"""
    )
    assert sizes == [4, 5]  # four annotators; the answers also of everyone together
    assert page.evaluate("window.__cspViolations") == []
