"""A manager sets a project up in the browser, by keyboard where it counts, under the Content-Security-Policy."""

from __future__ import annotations

from django.urls import reverse

from annotate.models import Project
from tests.browser.conftest import sign_in
from tests.browser.test_content_security import visit, watched  # noqa: F401 - a fixture used below
from tests.factories import UserFactory


def row(page, number: int):
    return page.locator("[data-rows] > li").nth(number - 1)


def test_a_manager_sets_up_a_project_from_scratch(watched, project, cast):  # noqa: F811 - the fixture
    page, violations = watched
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    UserFactory(username="newcomer")
    sign_in(page, "manager-user")

    # A new project with two questions of different kinds.
    visit(page, reverse("annotate:project_new"), violations)
    page.get_by_label("Name", exact=True).fill("toxicity")
    page.get_by_label("Annotators per example").fill("2")
    page.get_by_role("button", name="Add a question").click()
    first = row(page, 1)
    assert page.evaluate("document.activeElement.id") == "questions-0-name"  # the new row's name, ready to type
    page.keyboard.type("kind")
    first.get_by_label("Kind").select_option("multi_label")
    first.get_by_label("Labels").fill("insult\nthreat")
    assert first.get_by_label("Lowest rating").is_hidden()  # only the fields of the kind are shown
    page.get_by_role("button", name="Add a question").click()
    second = row(page, 2)
    second.get_by_label("Name").fill("severity")
    second.get_by_label("Kind").select_option("rating")
    assert second.get_by_label("Labels").is_hidden() and second.get_by_label("Lowest rating").is_visible()
    second.get_by_label("Lowest rating").fill("0")
    second.get_by_label("Highest rating").fill("4")
    second.get_by_label("Help text").fill("0 is harmless, 4 is severe.")

    # Reorder by keyboard: Tab onto the second question's "Move up" and press Enter; the focus stays with it.
    second.get_by_label("Help text").focus()
    page.keyboard.press("Shift+Tab")
    while page.evaluate("document.activeElement.id") != "questions-1-up":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert row(page, 1).get_by_label("Name").input_value() == "severity"
    assert page.evaluate("document.activeElement.id") == "questions-0-up"
    assert page.locator("[data-announce]").inner_text() in ("", "Moved it to position 1 of 2.")
    page.get_by_role("button", name="Create the project").click()

    page.get_by_role("heading", name="toxicity", level=1).wait_for()
    created = Project.objects.get(name="toxicity")
    assert [q.name for q in created.questions.order_by("position")] == ["severity", "kind"]
    assert created.questions.get(name="severity").options == {"min": 0, "max": 4}
    assert created.overlap == 2

    # The guideline, with a live preview from the server's sanitised renderer, and a note.
    page.get_by_role("link", name="Edit guideline").first.click()
    page.get_by_role("heading", name="Edit the guideline").wait_for()
    page.wait_for_load_state()  # htmx listens from DOMContentLoaded on: typing before it would go unseen
    page.get_by_label("Guideline").fill("# Severity\n\nRate **harm**, not rudeness.\n\n<script>alert(1)</script>")
    preview = page.locator("#guideline-preview")
    preview.locator("strong", has_text="harm").wait_for()
    assert preview.locator("h3", has_text="Severity").is_visible()
    assert "alert(1)" not in preview.inner_html()
    page.get_by_label("What changed").fill("First rules")
    page.get_by_role("button", name="Save as version 2").click()
    page.get_by_text("Saved the guideline as version 2.").wait_for()
    assert page.locator("#version-note").inner_text().endswith("First rules")

    # A member, added by username.
    visit(page, reverse("annotate:members", args=[created.pk]), violations)
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Role", exact=True).select_option("reviewer")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Added newcomer as reviewer.").wait_for()
    assert created.memberships.get(user__username="newcomer").role == "reviewer"

    violations.extend(page.evaluate("window.__cspViolations"))
    assert violations == [] and script_errors == []


def test_an_answered_question_is_guarded_in_the_editor(watched, project, cast):  # noqa: F811 - the fixture
    from tests.factories import ExampleFactory
    from tests.pages.test_reviewing import answers, label_all

    page, violations = watched
    label_all(project, {ExampleFactory(project=project): answers("code", "math", "math")})
    sign_in(page, "manager-user")
    visit(page, reverse("annotate:project_settings", args=[project.pk]), violations)

    topic = row(page, 2)
    assert topic.get_by_text("3 answers.").is_visible()
    assert topic.get_by_role("button", name="Remove").count() == 0
    assert topic.get_by_label("Name").get_attribute("readonly") is not None
    topic.get_by_label("Labels").fill("code\ngeneral")
    page.get_by_role("button", name="Save the questions").click()

    assert topic.locator(".field__error").first.inner_text().startswith("Answers may use 'math'")
    assert project.questions.get(name="topic").options["labels"] == ["code", "math", "general"]
    violations.extend(page.evaluate("window.__cspViolations"))
    assert violations == []
