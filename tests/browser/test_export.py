"""A manager checks an export, runs the export job and downloads its files, in a real browser, with nothing against
the Content-Security-Policy."""

from __future__ import annotations

from unittest import mock

import pytest
from playwright.sync_api import expect

from curation.models import Job
from curation.tasks import run_export
from tests.browser.conftest import sign_in
from tests.browser.test_content_security import RECORD_VIOLATIONS


@pytest.fixture
def queued():
    with mock.patch("curation.tasks.run_export.delay") as delay:
        yield delay


def test_a_manager_checks_runs_and_downloads_an_export(page, labelled, cast, queued):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "manager-user")
    page.goto(f"/versions/{labelled.version.pk}/")
    page.get_by_role("link", name="Export", exact=True).click()
    expect(page.get_by_role("heading", name="Export all")).to_be_visible()

    page.get_by_label("preference", exact=False).first.check()
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_contain_text("3 rows would be written; 6 examples left out.")
    expect(page.locator("#export-check")).to_contain_text("cands_tie")

    page.get_by_label("Eval share (0–0.9)").fill("0.3")
    page.get_by_label("Nested train fractions").fill("0.5")
    page.get_by_role("button", name="Run export job").click()
    job = Job.objects.get(kind="export")
    run_export(job.pk)
    page.reload()
    files = page.locator("#export-files")
    expect(files).to_contain_text("train.jsonl")
    expect(files).to_contain_text("manifest.json")

    with page.expect_download() as download:
        files.get_by_role("link", name="train.jsonl").click()
    assert download.value.suggested_filename.endswith("train.jsonl")

    page.goto(f"/versions/{labelled.version.pk}/export/")
    expect(page.get_by_role("heading", name="Exports of this version")).to_be_visible()
    expect(page.locator(".export-list")).to_contain_text("train-50pct.jsonl")
    assert violations == []
    assert page.evaluate("window.__cspViolations || []") == []
