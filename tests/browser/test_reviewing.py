"""A reviewer settles disagreements in the browser; an annotator cannot reach the review pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Resolution
from tests.browser.conftest import sign_in
from tests.factories import ExampleFactory
from tests.pages.test_reviewing import answers, label_all


@pytest.fixture
def disputed(project):
    split = ExampleFactory(project=project, external_id="split", content={"prompt": "Sort a list?", "response": "x"})
    two_one = ExampleFactory(project=project, external_id="two-one")
    label_all(project, {split: answers("code", "math", "general"), two_one: answers("code", "code", "math")})
    return split, two_one


def test_a_reviewer_resolves_the_top_disagreement_and_moves_on(page, project, cast, disputed):
    split, two_one = disputed
    sign_in(page, "reviewer-user")

    page.goto(reverse("annotate:review_queue", args=[project.pk]) + "?question=topic")
    rows = page.locator("table.review-cases tbody tr")
    assert rows.count() == 2
    assert rows.first.get_by_text("split").is_visible()
    page.get_by_role("link", name="Review the top case").click()
    page.get_by_role("heading", name="split").wait_for()
    page.get_by_label("Note").fill("guideline unclear")
    page.get_by_role("button", name="Accept ann-c’s answer: general").click()

    page.get_by_role("heading", name="two-one").wait_for()
    assert page.get_by_text("Resolved split: topic = general (ann-c's answer).").is_visible()
    assert "question=topic" in page.url
    resolution = Resolution.objects.get(example=split)
    assert (resolution.value, resolution.method, resolution.reviewer, resolution.note) == (
        "general",
        "reviewer",
        cast["reviewer"],
        "guideline unclear",
    )


def test_a_reviewer_accepts_an_answer_with_a_number_key(page, project, cast, disputed):
    _, two_one = disputed
    sign_in(page, "reviewer-user")
    page.goto(reverse("annotate:review_example", args=[project.pk, two_one.pk]) + "?question=topic")

    page.keyboard.press("3")  # the third annotator's answer, after the few seconds its Undo toast offers
    page.get_by_text("Accepting ann-c’s answer, math, for topic").wait_for()

    page.get_by_text("That was the last case in this queue.").wait_for()
    assert Resolution.objects.get(example=two_one).value == "math"


def test_an_accept_by_key_can_be_undone(page, project, cast, disputed):
    split, two_one = disputed
    page.add_init_script("window.winnowUndoMs = 600")
    sign_in(page, "reviewer-user")
    page.goto(reverse("annotate:review_example", args=[project.pk, split.pk]) + "?question=topic")

    page.keyboard.press("1")
    toast = page.locator("#undo-toast")
    toast.get_by_text("Accepting ann-a’s answer, code, for topic").wait_for()
    page.keyboard.press("u")
    toast.get_by_text("Not accepted: nothing was resolved.").wait_for()
    page.wait_for_timeout(1200)  # twice the delay: nothing was sent

    assert not Resolution.objects.exists()
    assert page.get_by_role("heading", name="split").is_visible()

    page.keyboard.press("2")
    with page.expect_navigation():
        page.keyboard.press("n")  # moving on sends it at once
    page.get_by_role("heading", name="two-one").wait_for()
    assert Resolution.objects.get(example=split).value == "math"


def test_an_annotator_cannot_reach_the_review_pages(page, project, cast, disputed):
    split, _ = disputed
    sign_in(page, "annotator-user")

    for url in (
        reverse("annotate:review_queue", args=[project.pk]),
        reverse("annotate:review_example", args=[project.pk, split.pk]) + "?question=topic",
        reverse("annotate:review_consensus", args=[project.pk]),
        reverse("annotate:guideline_versions", args=[project.pk]),
    ):
        response = page.goto(url)

        assert response.status == 403
        assert page.locator("table.review-cases").count() == 0
        assert page.get_by_text("split").count() == 0


def test_a_reviewer_resolves_every_question_of_an_example_in_one_pass(page, project, cast, disputed):
    split, two_one = disputed
    sign_in(page, "reviewer-user")
    page.goto(reverse("annotate:review_queue", args=[project.pk]) + "?question=topic")
    page.get_by_role("link", name="Review every question of split").click()
    page.get_by_role("heading", name="split").wait_for()

    page.get_by_role("radio", name="Accept general ann-c").check()
    page.get_by_role("group", name="Your own answer to quality").get_by_text("5").click()  # chooses "My own answer"
    assert page.locator("input[name='decision-quality'][value='own']").is_checked()
    page.get_by_role("button", name="Resolve the chosen questions").click()

    page.get_by_role("heading", name="two-one").wait_for()
    assert page.get_by_text("Resolved split: quality = 5, topic = general.").is_visible()
    resolved = {r.question.name: r.value for r in Resolution.objects.filter(example=split)}
    assert resolved == {"topic": "general", "quality": 5}
