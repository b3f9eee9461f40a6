"""A reviewer inspects a large version in a real browser: the page follows the job measuring it, reloads itself
when it is done, draws every chart from local assets with nothing refused by the Content-Security-Policy, switches
the length unit, and slices by a metadata key."""

from __future__ import annotations

from unittest import mock

import pytest
from playwright.sync_api import expect

from curation.models import DatasetVersion, Job, VersionMember
from curation.tasks import run_stats
from tests.browser.conftest import sign_in
from tests.browser.test_content_security import RECORD_VIOLATIONS
from tests.factories import ExampleFactory

CHART = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  return chart ? [chart.data.labels, chart.data.datasets[0].data] : null;
}"""
LENGTH_CHART = """(field) => {
  const chart = Chart.getChart(document.querySelector(`canvas.chart-length[data-field="${field}"]`));
  return chart ? [chart.data.labels, chart.data.datasets[0].data] : null;
}"""


@pytest.fixture
def version(project):
    texts = [
        ("Write a poem about the sea", "Waves roll in and out all night long.", "art"),
        ("Solve 2+2", "4", "math"),
        ("Solve 3+3", "6", "math"),
    ]
    made = DatasetVersion.objects.create(project=project, status="ready", name="tidy", counts={"input": 3, "kept": 3})
    for prompt, response, domain in texts:
        example = ExampleFactory(
            project=project,
            content={"prompt": prompt, "response": response},
            metadata={"domain": domain, "note": "<script>alert(1)</script>"},
        )
        VersionMember.objects.create(version=made, example=example)
    return made


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_reviewer_follows_the_job_then_reads_the_charts(page, project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 2  # three examples: a job measures them
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("dialog", lambda dialog: violations.append(f"dialog: {dialog.message}"))
    sign_in(page, "reviewer-user")

    with mock.patch("curation.tasks.run_stats.delay"):
        page.goto(f"/versions/{version.pk}/")
        page.get_by_role("link", name="Statistics", exact=True).click()
        expect(page.get_by_role("heading", name="Measuring the statistics…")).to_be_visible()
        job = Job.objects.get(kind="stats")
        run_stats(job.pk)
        # The progress bar polls; once the job is done the page reloads itself and draws the charts.
        expect(page.get_by_role("heading", name="Shapes")).to_be_visible(timeout=15_000)
    page.wait_for_load_state("networkidle")

    assert page.evaluate(CHART, "chart-shapes") == [["instruction"], [3]]
    assert sum(page.evaluate(CHART, "chart-languages")[1]) == 3  # "Solve 2+2 4" is too short to tell
    assert page.evaluate(CHART, "chart-artefacts")[1] == [0, 0, 0, 0, 0, 0]
    chars = page.evaluate(LENGTH_CHART, "response")
    assert sum(chars[1]) == 3 and chars[0][0] == "1"
    page.select_option("#length-unit", "words")
    words = page.evaluate(LENGTH_CHART, "response")
    assert sum(words[1]) == 3 and words != chars
    metadata = page.evaluate(
        "() => [...document.querySelectorAll('canvas.chart-metadata')].map((c) => Chart.getChart(c).data.labels)"
    )
    assert ["<script>alert(1)</script>"] in metadata  # drawn as text

    # The sliced figures are measured on their own: by a job again, since the version is large.
    with mock.patch("curation.tasks.run_stats.delay"):
        page.select_option("#f-slice", "domain")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("heading", name="Measuring the statistics…")).to_be_visible()
        run_stats(Job.objects.get(kind="stats", params__slice="domain").pk)
        expect(page.get_by_role("heading", name="By domain")).to_be_visible(timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert page.evaluate(CHART, "chart-slices") == [["math", "art"], [2, 1]]
    slices = page.get_by_role("table", name="Slices by domain")
    expect(slices.locator("tbody tr")).to_have_count(2)

    slices.get_by_role("link", name="Sample of math").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("domain = math")
    expect(page.locator("article.example")).to_have_count(2)

    violations.extend(page.evaluate("window.__cspViolations"))
    assert violations == []
