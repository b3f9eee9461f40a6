"""An annotator at work in a real browser: keyboard only, a skip, an edit, and submissions that fail."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, AnnotationRevision, Assignment
from annotate.services.queue import work_items_create
from tests.browser.conftest import sign_in
from tests.factories import ExampleFactory, QuestionFactory

EXAMPLE_ID = "#example-title code"
ACTIVE = re.compile(r"\bis-active\b")
FAILED = re.compile(r"\bhas-error\b")


@pytest.fixture
def examples(project):
    made = [
        ExampleFactory(project=project, content={"prompt": f"What is {n} + {n}?", "response": f"It is {2 * n}."})
        for n in range(6)
    ]
    work_items_create(project=project)
    return made


def ready(page):
    """The page's script has started: it highlights a question (keys pressed before that would be lost)."""
    expect(page.locator(".question.is-active")).to_have_count(1)


def open_annotate(page, project):
    page.goto(f"/projects/{project.pk}/annotate/")
    ready(page)


def shown_example(page) -> str:
    return page.locator(EXAMPLE_ID).inner_text()


def press_and_wait_for_next(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def test_an_annotator_labels_by_keyboard_skips_and_edits(page, project, cast, examples):
    annotator = cast["annotator"]
    sign_in(page, "annotator-user")
    open_annotate(page, project)
    expect(page.locator("#q-quality")).to_have_class(ACTIVE)

    labelled = []
    for rating, topic in (("4", "2"), ("5", "1"), ("3", "3")):
        labelled.append(shown_example(page))
        page.keyboard.press(rating)  # picks the rating and moves on to the topic
        expect(page.locator("#q-topic")).to_have_class(ACTIVE)
        page.keyboard.press(topic)
        press_and_wait_for_next(page, "Enter")
        assert shown_example(page) not in labelled
        expect(page.locator(".progress-line")).to_contain_text(f"{len(labelled)} done")

    skipped = shown_example(page)
    page.keyboard.press("s")
    expect(page.locator("#undo-toast")).to_contain_text(f"Skipping {skipped}")
    press_and_wait_for_next(page, "Enter")  # moving on sends the skip at once
    assert shown_example(page) != skipped
    expect(page.locator(".messages")).to_contain_text("Skipped")

    page.get_by_role("link", name="My annotations").first.click()
    rows = page.locator("table.mine tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(labelled[-1])
    page.get_by_role("link", name=f"Edit your answers to {labelled[0]}").click()
    ready(page)
    expect(page.locator("#q-quality input[value='4']")).to_be_checked()
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text(f"Updated your answers to {labelled[0]}")
    page.get_by_role("link", name=f"Edit your answers to {labelled[0]}").click()
    history = page.locator(".history")
    expect(history).to_contain_text("quality")
    expect(history.locator(".answers-list")).to_contain_text("4")
    expect(page.locator("#q-quality input[value='1']")).to_be_checked()

    annotations = {a.example.external_id: a for a in Annotation.objects.filter(annotator=annotator)}
    assert set(annotations) == set(labelled)
    assert annotations[labelled[0]].answers == {"quality": 1, "topic": "math"}
    assert annotations[labelled[1]].answers == {"quality": 5, "topic": "code"}
    assert annotations[labelled[2]].answers == {"quality": 3, "topic": "general"}
    assert all(a.duration_ms is not None and a.started_at is not None for a in annotations.values())
    revision = AnnotationRevision.objects.get()
    assert revision.annotation == annotations[labelled[0]] and revision.answers == {"quality": 4, "topic": "math"}
    skip = Assignment.objects.get(annotator=annotator, status=Assignment.Status.SKIPPED)
    assert skip.example.external_id == skipped


def test_a_refused_submission_keeps_the_answers_and_names_the_question(page, project, cast, examples):
    sign_in(page, "annotator-user")
    open_annotate(page, project)
    example = shown_example(page)

    page.keyboard.press("j")  # past the rating, to the topic
    page.keyboard.press("3")
    page.keyboard.press("Enter")

    expect(page.locator("#form-errors")).to_contain_text("quality: is required; answer it")
    expect(page.locator("#q-quality")).to_have_class(FAILED)
    expect(page.locator("#q-quality")).to_have_class(ACTIVE)
    expect(page.locator("#q-topic input[value='general']")).to_be_checked()
    assert shown_example(page) == example
    assert not Annotation.objects.exists()


def test_an_offline_submission_keeps_the_answers_and_survives_a_reload(page, project, cast, examples):
    sign_in(page, "annotator-user")
    open_annotate(page, project)
    example = shown_example(page)
    page.route("**/annotate/*/", lambda route: route.abort())

    page.keyboard.press("2")
    page.keyboard.press("1")
    page.keyboard.press("Enter")

    expect(page.locator("#form-errors")).to_contain_text("Could not reach the server")
    expect(page.locator("#q-quality input[value='2']")).to_be_checked()
    expect(page.locator("#q-topic input[value='code']")).to_be_checked()
    assert not Annotation.objects.exists()

    page.unroute("**/annotate/*/")
    page.reload()
    ready(page)
    assert shown_example(page) == example
    expect(page.locator("#form-status")).to_contain_text("Restored")
    expect(page.locator("#q-quality input[value='2']")).to_be_checked()
    expect(page.locator("#q-topic input[value='code']")).to_be_checked()
    press_and_wait_for_next(page, "Enter")

    annotation = Annotation.objects.get()
    assert annotation.example.external_id == example and annotation.answers == {"quality": 2, "topic": "code"}
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('winnow:draft:'))") == []


def test_preference_keys_follow_the_letters_on_the_page(page, project, cast):
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal")
    ExampleFactory(project=project, content={"prompt": "Say hi", "responses": ["first", "second"]})
    work_items_create(project=project)
    sign_in(page, "annotator-user")
    open_annotate(page, project)
    shown_as_a = page.locator(".candidates .block").first.locator(".rendered").inner_text()

    page.keyboard.press("3")
    page.keyboard.press("1")
    page.keyboard.press("a")  # "A is better": the response shown first
    press_and_wait_for_next(page, "Enter")

    annotation = Annotation.objects.get()
    assert annotation.answers["better"] == ("a" if shown_as_a == "first" else "b")
    assert annotation.display_order == ([0, 1] if shown_as_a == "first" else [1, 0])


def test_shortcuts_wait_while_the_annotator_types(page, project, cast, examples):
    QuestionFactory(project=project, name="note", kind="text", options={}, level=None, required=False)
    sign_in(page, "annotator-user")
    open_annotate(page, project)
    example = shown_example(page)

    page.keyboard.press("j")
    page.keyboard.press("j")  # onto the text question: the cursor goes into its box
    page.keyboard.type("s1a? t")
    page.keyboard.press("Enter")
    page.keyboard.type("2")
    expect(page.locator("textarea[name='q-note']")).to_have_value("s1a? t\n2")
    expect(page.locator("#q-quality input:checked")).to_have_count(0)
    page.keyboard.press("Escape")
    page.keyboard.press("k")
    page.keyboard.press("k")
    page.keyboard.press("4")
    page.keyboard.press("1")  # the topic; the optional text box is highlighted, the cursor stays out of it
    expect(page.locator("#q-note")).to_have_class(ACTIVE)
    expect(page.locator("textarea[name='q-note']")).not_to_be_focused()
    press_and_wait_for_next(page, "Enter")

    annotation = Annotation.objects.get()
    assert annotation.example.external_id == example
    assert annotation.answers == {"quality": 4, "topic": "code", "note": "s1a? t\n2"}
    assert not Assignment.objects.filter(status=Assignment.Status.SKIPPED).exists()


def test_it_works_without_javascript(browser, live_server, project, cast, examples):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, "annotator-user")
        page.goto(f"/projects/{project.pk}/annotate/")
        first = shown_example(page)

        page.locator("#q-topic label", has_text="math").click()
        page.get_by_role("button", name="Submit").click()
        expect(page.locator("#form-errors")).to_contain_text("quality: is required; answer it")
        expect(page.locator("#q-topic input[value='math']")).to_be_checked()

        page.locator("#q-quality label", has_text="5").click()
        page.get_by_role("button", name="Submit").click()
        expect(page.locator(".messages")).to_contain_text(f"Saved your answers to {first}")
        second = shown_example(page)
        page.get_by_role("button", name="Skip").click()
        expect(page.locator(".messages")).to_contain_text("Skipped")
    finally:
        context.close()

    assert Annotation.objects.get().answers == {"quality": 5, "topic": "math"}
    assert Assignment.objects.get(status=Assignment.Status.SKIPPED).example.external_id == second


def test_ctrl_enter_submits_from_a_text_box(page, project, cast, examples):
    QuestionFactory(project=project, name="note", kind="text", options={}, level=None, required=True)
    sign_in(page, "annotator-user")
    open_annotate(page, project)

    page.keyboard.press("4")
    page.keyboard.press("1")  # the topic; a required text box takes the cursor
    expect(page.locator("textarea[name='q-note']")).to_be_focused()
    page.keyboard.type("fine")
    press_and_wait_for_next(page, "Control+Enter")

    assert Annotation.objects.get().answers == {"quality": 4, "topic": "code", "note": "fine"}


def test_enter_submits_from_a_number_box_and_a_select(page, project, cast):
    QuestionFactory(project=project, name="score", kind="rating", options={"min": 0, "max": 100}, level="interval")
    QuestionFactory(project=project, name="order", kind="ranking", options={}, level=None, required=False)
    ExampleFactory.create_batch(2, project=project, content={"prompt": "Hi", "responses": ["one", "two"]})
    work_items_create(project=project)
    sign_in(page, "annotator-user")
    open_annotate(page, project)

    page.keyboard.press("4")
    page.keyboard.press("1")
    page.locator("input[name='q-score']").fill("70")
    page.locator("#q-order select").first.focus()
    press_and_wait_for_next(page, "Enter")
    assert Annotation.objects.get().answers == {"quality": 4, "topic": "code", "score": 70}

    page.keyboard.press("4")
    page.keyboard.press("1")
    page.locator("input[name='q-score']").fill("30")
    press_and_wait_for_next(page, "Enter")  # the cursor is in the number box
    assert Annotation.objects.count() == 2


def test_a_skip_by_key_can_be_undone(page, project, cast, examples):
    page.add_init_script("window.winnowUndoMs = 600")
    sign_in(page, "annotator-user")
    open_annotate(page, project)
    example = shown_example(page)

    page.keyboard.press("s")
    toast = page.locator("#undo-toast")
    expect(toast).to_contain_text(f"Skipping {example}")
    page.keyboard.press("u")
    expect(toast).to_contain_text(f"Not skipped: {example} is still yours.")
    page.wait_for_timeout(1200)  # twice the delay: nothing was sent

    assert shown_example(page) == example
    held = Assignment.objects.get(annotator=cast["annotator"])
    assert held.status == Assignment.Status.ACTIVE and held.example.external_id == example
    page.keyboard.press("2")  # the keys work again
    expect(page.locator("#q-quality input[value='2']")).to_be_checked()

    page.keyboard.press("s")
    page.keyboard.press("Control+z")
    expect(toast).to_contain_text("Not skipped")
    with page.expect_navigation():
        page.keyboard.press("s")  # and now the time runs out
    assert shown_example(page) != example
    assert Assignment.objects.get(example__external_id=example).status == Assignment.Status.SKIPPED


def test_a_skip_waiting_for_its_undo_is_sent_when_the_annotator_leaves(page, project, cast, examples):
    sign_in(page, "annotator-user")
    open_annotate(page, project)
    example = shown_example(page)

    page.keyboard.press("s")
    expect(page.locator("#undo-toast")).to_be_visible()
    page.get_by_role("link", name="My annotations").first.click()
    page.wait_for_url(re.compile(r"/annotations/mine/"))

    skipped = Assignment.objects.filter(example__external_id=example, status=Assignment.Status.SKIPPED)
    expect_within(lambda: skipped.exists())


def expect_within(condition, seconds: float = 5.0) -> None:
    """A beacon is sent as the page goes: its request may land a moment later."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the beacon never arrived"
        time.sleep(0.05)
