"""Searching and filtering in a real browser, and example content rendered the same way on the examples, review
and annotate pages: highlighted code, tool calls as labelled blocks, long texts folded, under the
Content-Security-Policy with nothing refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from annotate.services.queue import work_items_create
from tests.browser.conftest import sign_in
from tests.browser.test_content_security import RECORD_VIOLATIONS
from tests.factories import ExampleFactory
from tests.search_data import WEATHER

LONG = "\n\n".join(f"Paragraph {n} of a very long answer that goes on." for n in range(80))


@pytest.fixture
def watched(page):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(RECORD_VIOLATIONS)
    return page, violations


def csp_violations(page, violations):
    return violations + page.evaluate("window.__cspViolations")


def test_a_reviewer_searches_and_filters_and_the_address_keeps_them(watched, project, cast, searchable):
    page, violations = watched
    sign_in(page, "reviewer-user")
    page.goto(reverse("annotate:example_list", args=[project.pk]))

    page.get_by_label("Search the content").fill("reverse")
    page.get_by_label("Status").select_option("resolved")
    with page.expect_navigation():
        page.get_by_role("button", name="Search", exact=True).click()

    query = parse_qs(urlparse(page.url).query)
    assert query["q"] == ["reverse"] and query["status"] == ["resolved"]
    articles = page.locator("article.example")
    assert articles.count() == 1
    code = articles.first.locator(".highlight pre")
    assert code.is_visible()
    assert code.locator("span.k", has_text="def").is_visible()  # highlighted by Pygments, with classes
    assert "monospace" in code.evaluate("node => getComputedStyle(node).fontFamily")

    page.reload()  # the address alone brings the same view back
    assert page.get_by_label("Search the content").input_value() == "reverse"
    assert page.get_by_label("Status").input_value() == "resolved"
    assert page.locator("article.example").count() == 1
    assert csp_violations(page, violations) == []


def test_a_tool_call_is_a_labelled_block_with_its_arguments(watched, project, cast, searchable):
    page, violations = watched
    sign_in(page, "manager-user")
    page.goto(reverse("annotate:example_list", args=[project.pk]) + "?q=oslo&shape=chat")

    call = page.locator(".tool-call")
    assert call.count() == 1
    assert call.locator(".tool-call__name").inner_text() == "get_weather"
    arguments = call.locator(".tool-call__arguments").inner_text()
    assert '"city": "Oslo"' in arguments and '"unit": "celsius"' in arguments  # decoded and indented
    result = page.locator(".turn--tool")
    assert "tool result" in result.inner_text().lower() and '"temperature": 4' in result.inner_text()
    assert csp_violations(page, violations) == []


def test_a_long_text_is_folded_until_asked_for(watched, project, cast):
    page, violations = watched
    ExampleFactory(project=project, external_id="long", content={"prompt": "Tell me everything.", "response": LONG})
    sign_in(page, "reviewer-user")
    page.goto(reverse("annotate:example_list", args=[project.pk]))

    response = page.locator(".block--response .rendered")
    folded = response.bounding_box()["height"]
    toggle = page.get_by_role("button", name="Show all")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()

    assert response.bounding_box()["height"] > 2 * folded
    assert page.get_by_role("button", name="Show less").get_attribute("aria-expanded") == "true"
    assert csp_violations(page, violations) == []


def test_the_review_queue_filters_and_its_review_page_renders_the_content(watched, project, cast, searchable):
    page, violations = watched
    sign_in(page, "reviewer-user")
    page.goto(reverse("annotate:review_queue", args=[project.pk]) + "?question=topic&show=all")

    page.get_by_label("Search the content").fill("python")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    assert "q=python" in page.url
    rows = page.locator("table.review-cases tbody tr")
    assert rows.count() == 1
    rows.first.get_by_role("link").first.click()
    page.get_by_role("heading", name="code").wait_for()

    assert page.locator(".review-example .highlight span.k", has_text="def").is_visible()
    assert "q=python" in page.url
    assert csp_violations(page, violations) == []


def test_the_annotate_page_renders_tool_calls_the_same_way(watched, project, cast):
    page, violations = watched
    ExampleFactory(project=project, external_id="weather", content=WEATHER)
    work_items_create(project=project)
    sign_in(page, "annotator-user")
    page.goto(reverse("annotate:annotate", args=[project.pk]))

    call = page.locator(".tool-call")
    call.first.wait_for()
    assert call.locator(".tool-call__name").inner_text() == "get_weather"
    assert '"city": "Oslo"' in call.locator(".tool-call__arguments").inner_text()
    assert csp_violations(page, violations) == []
