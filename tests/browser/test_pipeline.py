"""A manager curates in a real browser: builds a pipeline (clean, filter, exact dedup) with the keyboard, checks it,
tries a filter on a sample, runs a trial, follows the job, opens the version and the duplicates it removed."""

from __future__ import annotations

import json
import re
from unittest import mock

import pytest
from playwright.sync_api import expect

from curation.models import Job
from curation.tasks import run_pipeline
from tests.browser.conftest import sign_in
from tests.browser.test_content_security import RECORD_VIOLATIONS
from tests.factories import ExampleFactory

STORY = "The old keeper climbed the stairs every evening to light the lamp above the grey and restless sea."

# Every form control of the builder has a name a screen reader reads: its label, or a label of its own.
UNLABELLED = """() => [...document.querySelectorAll("#pipeline-builder :is(input, select, textarea, button)")]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.textContent.trim())
  .map((el) => el.outerHTML)"""


@pytest.fixture
def examples(project):
    return [
        ExampleFactory(project=project, external_id="story", content={"prompt": "Tell me a story.", "response": STORY}),
        ExampleFactory(
            project=project,
            external_id="shouted",
            content={"prompt": "Tell me a story.", "response": STORY.replace("grey", "GREY")},
        ),
        ExampleFactory(project=project, external_id="short", content={"prompt": "Hi", "response": "Yo"}),
        ExampleFactory(
            project=project,
            external_id="messy",
            content={"prompt": "Describe the sea.", "response": "Waves  roll\n\n\n\nonto the shore all night."},
        ),
    ]


@pytest.fixture
def queued():
    """The run is queued as the page queues it, but no worker picks it up: the test runs it when it chooses."""
    with mock.patch("curation.tasks.run_pipeline.delay") as delay:
        yield delay


def add_step(page, label: str) -> None:
    page.select_option("#add-op", label=label)
    page.get_by_role("button", name="Add step", exact=True).focus()
    page.keyboard.press("Enter")


def steps_json(page) -> list[dict]:
    return json.loads(page.locator("#id_steps").input_value())


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_manager_builds_runs_and_inspects_a_pipeline_by_keyboard(page, project, cast, examples, queued):
    violations: list[str] = []  # on every page visited: the policy forbids inline scripts and styles
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "manager-user")
    page.goto(f"/projects/{project.pk}/")
    page.get_by_role("link", name="Dataset versions").click()
    expect(page.get_by_role("heading", name="No versions yet")).to_be_visible()
    page.get_by_role("link", name="Make the first version").click()

    # The script replaces the JSON textarea with a form per step; the textarea stays, folded away.
    builder = page.locator("#pipeline-builder")
    expect(builder).to_be_visible()
    expect(page.locator("#steps-json")).not_to_have_attribute("open", "")

    add_step(page, "Clean text")
    first = page.locator(".pipeline-step").nth(0)
    expect(first.get_by_role("heading", name="Step 1: Clean")).to_be_visible()
    # Focus moves into the new step: its first rule, a checkbox, toggled with the space bar.
    expect(first.get_by_label("Fix broken Unicode")).to_be_focused()
    page.keyboard.press("Space")
    expect(first.get_by_label("Fix broken Unicode")).not_to_be_checked()

    add_step(page, "Remove exact duplicates")
    add_step(page, "Filter by rules")
    third = page.locator(".pipeline-step").nth(2)
    expect(third.get_by_role("heading", name="Step 3: Filter")).to_be_visible()
    third.get_by_label("Add a rule").select_option("min_words")
    third.get_by_role("button", name="Add rule").focus()
    page.keyboard.press("Enter")
    expect(third.get_by_label("field")).to_be_focused()  # the new rule's first option
    third.get_by_label("field").select_option("response")
    third.get_by_label("value").fill("3")

    # The filter should run before the dedup: move it up with the keyboard, focus staying on the button.
    page.get_by_role("button", name="Move step 3 up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Move step 2 up")).to_be_focused()
    assert [step["op"] for step in steps_json(page)] == ["clean", "filter", "dedup"]
    assert steps_json(page)[0]["rules"] == ["strip_special_tokens", "normalize_whitespace"]
    assert steps_json(page)[1]["rules"] == [{"name": "min_words", "field": "response", "value": 3}]
    assert page.evaluate(UNLABELLED) == []

    # A dry run of the filter on a sample, shown under its step.
    second = page.locator(".pipeline-step").nth(1)
    second.get_by_role("button", name=re.compile("Dry run on a sample")).click()
    expect(second.locator(".dry-run")).to_contain_text("This filter would remove 1 of a sample of 4")
    expect(second.locator(".dry-run")).to_contain_text("short")

    # Check: the steps are valid, and in a sensible order.
    page.get_by_label("Name", exact=True).fill("first try")
    page.get_by_role("button", name="Check the steps").click()
    expect(page.locator("#check-result")).to_be_focused()
    expect(page.locator("#check-result")).to_contain_text("The 3 steps are valid, and in a sensible order.")
    expect(page.locator(".pipeline-step")).to_have_count(3)  # rebuilt from the JSON the server sent back

    # A trial on a sample of 4; the button says how big.
    page.get_by_label("Trial sample size").fill("4")
    trial = page.get_by_role("button", name="Run a trial on a sample of 4")
    trial.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    job = Job.objects.get(kind="pipeline")
    assert job.params["sample"] == 4 and job.params["name"] == "first try"
    assert page.url.endswith(f"/jobs/{job.pk}/")
    expect(page.locator("#job-status")).to_contain_text("Waiting for a worker")
    expect(page.locator(".pipeline-progress__step")).to_have_count(3)

    # The worker runs it; the page, polling, shows the outcome without a reload.
    with mock.patch("curation.tasks.run_pipeline_chunks.delay"):
        run_pipeline(job.pk)
    expect(page.locator("#job-status")).to_contain_text("2 of 4 examples kept, 2 removed", timeout=15_000)
    results = page.get_by_role("table", name="What each step did")
    expect(results.locator("tbody tr")).to_have_count(3)
    expect(results.locator("tbody tr").nth(2)).to_contain_text("dedup exact")

    page.get_by_role("link", name="Open the trial version").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("first try")
    page.wait_for_load_state("networkidle")
    drawn = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById("chart-removed"));
            return chart ? [chart.data.labels, chart.data.datasets[0].data] : null;
        }"""
    )
    assert drawn == [["kept", "exact duplicate", "min_words (filter)"], [2, 1, 1]]
    table = page.get_by_role("table", name="Examples kept and removed by each rule")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(page.locator(".lineage")).to_contain_text("Filter: drop records failing min_words (on response, 3).")

    # To the duplicates, by keyboard.
    page.get_by_role("link", name="Browse the removals by dedup.exact").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    removal = page.locator("article.removal")
    expect(removal).to_have_count(1)
    expect(removal.get_by_role("region", name="Removed: shouted").locator("del")).to_have_text("GREY")
    expect(removal.get_by_role("region", name="Duplicate of: story").locator("ins")).to_have_text("grey")
    expect(removal).to_contain_text("1 word only in the removed example and 1 word only in story.")
    expect(page.locator("#diff-legend")).to_be_visible()

    violations.extend(page.evaluate("window.__cspViolations"))
    assert violations == []


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_refused_step_is_shown_beside_it_and_focused(page, project, cast, examples, queued):
    sign_in(page, "manager-user")
    page.goto(f"/projects/{project.pk}/versions/new/")
    page.locator("#steps-json summary").click()
    steps = [{"op": "clean", "rules": ["fix_unicode"]}, {"op": "dedup", "method": "minhash", "ngram": 40}]
    page.locator("#id_steps").fill(json.dumps(steps))
    expect(page.locator(".pipeline-step")).to_have_count(2)  # the forms follow the JSON typed by hand

    with page.expect_navigation():
        page.get_by_role("button", name="Run on everything").click()

    second = page.locator(".pipeline-step").nth(1)
    expect(second.get_by_role("alert")).to_contain_text("ngram")
    expect(second.get_by_role("alert")).to_contain_text("from 1 to 13")
    ngram = second.get_by_label("Words per shingle")
    expect(ngram).to_be_focused()
    expect(ngram).to_have_attribute("aria-invalid", "true")
    expect(ngram).to_have_value("40")
    ngram.fill("5")
    with page.expect_navigation():
        page.get_by_role("button", name="Run on everything").click()
    assert page.url.endswith(f"/jobs/{Job.objects.get().pk}/")
    assert Job.objects.get().params["steps"][1]["ngram"] == 5
