from __future__ import annotations

from tests.browser.conftest import sign_in


def test_it_signs_in_and_lists_the_members_projects(page, project, cast):
    sign_in(page, "annotator-user")
    assert page.locator("main").get_by_text("helpfulness").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def test_it_sends_an_anonymous_visitor_to_sign_in(page, project):
    page.goto(f"/projects/{project.pk}/")
    assert "/accounts/login/" in page.url
