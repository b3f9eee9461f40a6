"""Guideline pages: editing (a new version per save), the versions and their differences, sending examples back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Guideline, Resolution, WorkItem
from annotate.services import guideline_add
from annotate.services.reviews import resolution_set
from tests.conftest import ROLES
from tests.factories import ExampleFactory
from tests.pages.test_reviewing import XSS_IMG, XSS_SCRIPT, answers, label_all

OK, REDIRECT, FORBIDDEN, MISSING = 200, 302, 403, 404
MATRIX = {
    "guideline_versions": {
        "manager": OK,
        "reviewer": OK,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": REDIRECT,
    },
    "guideline_edit": {
        "manager": OK,
        "reviewer": FORBIDDEN,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": REDIRECT,
    },
}
MANAGE = {
    "manager": REDIRECT,
    "reviewer": FORBIDDEN,
    "annotator": FORBIDDEN,
    "outsider": MISSING,
    "anonymous": REDIRECT,
}
REOPEN = {**MANAGE, "reviewer": REDIRECT}
HOSTILE_GUIDELINE = f"# Rules\n{XSS_SCRIPT}\n{XSS_IMG}\n[click me](javascript:alert(1))\n"


def url(name, project):
    return reverse(f"annotate:{name}", args=[project.pk])


def versions_page(client, project, **params):
    return client.get(url("guideline_versions", project), params)


@pytest.fixture
def resolved(project, cast):
    """Three disputed examples resolved by a reviewer, two of them noted as made hard by the guideline."""
    unclear = ExampleFactory(project=project, external_id="unclear")
    also_unclear = ExampleFactory(project=project, external_id="also-unclear")
    clear = ExampleFactory(project=project, external_id="clear")
    label_all(project, {example: answers("code", "math", "math") for example in (unclear, also_unclear, clear)})
    for example, note in ((unclear, "Guideline unclear on code"), (also_unclear, "guideline UNCLEAR"), (clear, "")):
        resolution_set(
            project=project,
            example_id=example.pk,
            question_name="topic",
            value="math",
            reviewer=cast["reviewer"],
            note=note,
        )
    return {"unclear": unclear, "also_unclear": also_unclear, "clear": clear}


# Who may do what -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", MATRIX)
def test_it_answers_each_role_as_the_matrix_says(client_as, project, name, role):
    response = client_as(role).get(url(name, project))

    assert response.status_code == MATRIX[name][role]
    if role == "anonymous":
        assert response["Location"] == f"{reverse('login')}?next={url(name, project)}"


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_managers_save_a_version(client_as, project, role):
    response = client_as(role).post(url("guideline_edit", project), {"text": "new rules"})

    assert response.status_code == MANAGE[role]
    assert project.guidelines.count() == (2 if role == "manager" else 1)


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_reviewers_and_managers_send_back_by_note(client_as, project, resolved, role):
    response = client_as(role).post(url("guideline_reopen", project), {"note": "guideline unclear"})

    assert response.status_code == REOPEN[role]
    assert WorkItem.objects.filter(round=2).count() == (2 if role in ("manager", "reviewer") else 0)


def test_it_shows_the_send_back_form_to_whoever_may_reopen(client_as, project):
    assert "Send examples back" in versions_page(client_as("manager"), project).content.decode()
    assert "Send examples back" in versions_page(client_as("reviewer"), project).content.decode()


# Editing ---------------------------------------------------------------------------------------------------


def test_it_prefills_the_current_text(client_as, project):
    html = client_as("manager").get(url("guideline_edit", project)).content.decode()

    assert "# Guideline\nBe helpful.</textarea>" in html
    assert "Save as version 2" in html


def test_it_saves_a_new_version_with_its_author(client_as, project, cast):
    response = client_as("manager").post(url("guideline_edit", project), {"text": "# Guideline\r\nBe kind.\r\n"})

    guideline = project.current_guideline()
    assert (guideline.version, guideline.text, guideline.created_by) == (2, "# Guideline\nBe kind.\n", cast["manager"])
    assert Guideline.objects.get(project=project, version=1).text == "# Guideline\nBe helpful."
    assert response["Location"] == url("guideline_versions", project) + "?version=2"


def test_it_saves_nothing_when_the_text_is_unchanged(client_as, project):
    response = client_as("manager").post(url("guideline_edit", project), {"text": "# Guideline\r\nBe helpful."})

    assert response.status_code == 302
    assert project.guidelines.count() == 1


def test_it_writes_the_first_version_of_a_project_without_one(client_as, project):
    project.guidelines.all().delete()

    client_as("manager").post(url("guideline_edit", project), {"text": "Start here."})

    assert project.current_guideline().version == 1


def test_it_refuses_an_enormous_guideline(client_as, project):
    response = client_as("manager").post(url("guideline_edit", project), {"text": "x" * 200_001})

    assert response.status_code == 400
    assert project.guidelines.count() == 1


# Versions and differences ----------------------------------------------------------------------------------


def test_it_lists_versions_with_author_and_shows_what_changed(client_as, project, cast):
    guideline_add(project=project, text="# Guideline\nBe kind.\nCite sources.", created_by=cast["manager"])

    response = versions_page(client_as("reviewer"), project)

    html = response.content.decode()
    assert [g.version for g in response.context["versions"]] == [2, 1]
    assert ("remove", "Be helpful.") in response.context["diff"]
    assert ("add", "Be kind.") in response.context["diff"] and ("add", "Cite sources.") in response.context["diff"]
    assert ("same", "# Guideline") in response.context["diff"]
    assert "Changes from v1 to v2" in html and "manager-user" in html
    assert (
        'diff__line--add"><span class="diff__sign" aria-label="added">+</span><span class="diff__text">Be kind.' in html
    )


def test_it_shows_an_earlier_version_against_the_one_before(client_as, project, cast):
    guideline_add(project=project, text="second", created_by=cast["manager"])
    guideline_add(project=project, text="third", created_by=cast["manager"])

    response = versions_page(client_as("reviewer"), project, version=2)

    assert response.context["chosen"].version == 2
    assert ("remove", "Be helpful.") in response.context["diff"] and ("add", "second") in response.context["diff"]


def test_it_shows_the_first_version_as_all_added(client_as, project):
    response = versions_page(client_as("reviewer"), project, version=1)

    assert [kind for kind, _ in response.context["diff"] if kind != "hunk"] == ["add", "add"]


@pytest.mark.parametrize("version", ["9", "abc", ""])
def test_it_gives_404_for_a_version_that_does_not_exist(client_as, project, version):
    assert versions_page(client_as("reviewer"), project, version=version).status_code == 404


def test_it_says_when_there_is_no_guideline(client_as, project):
    project.guidelines.all().delete()

    response = versions_page(client_as("reviewer"), project)

    assert response.status_code == 200
    assert "No guideline has been written yet." in response.content.decode()


# Sending examples back by resolution note ------------------------------------------------------------------


def test_it_finds_the_resolutions_whose_note_contains_the_text(client_as, project, resolved):
    response = versions_page(client_as("manager"), project, note="guideline unclear")

    assert [r.example.external_id for r in response.context["matches"]] == ["unclear", "also-unclear"]
    assert "Send 2 examples back" in response.content.decode()


def test_it_sends_back_every_example_resolved_with_the_note(client_as, project, resolved, cast):
    guideline_add(project=project, text="clarified", created_by=cast["manager"])

    response = client_as("manager").post(url("guideline_reopen", project), {"note": "guideline unclear"}, follow=True)

    assert "Sent 2 examples back for re-annotation under guideline version 2." in response.content.decode()
    assert WorkItem.objects.get(pk=resolved["unclear"].pk).round == 2
    assert WorkItem.objects.get(pk=resolved["also_unclear"].pk).round == 2
    assert WorkItem.objects.get(pk=resolved["clear"].pk).round == 1
    assert list(Resolution.objects.values_list("example__external_id", flat=True)) == ["clear"]


@pytest.mark.parametrize("note", ["", "   ", "no such note"])
def test_it_sends_nothing_back_for_an_empty_or_unmatched_note(client_as, project, resolved, note):
    response = client_as("manager").post(url("guideline_reopen", project), {"note": note}, follow=True)

    assert response.status_code == 200
    assert not WorkItem.objects.filter(round=2).exists()
    assert Resolution.objects.count() == 3


# Hostile guideline text ------------------------------------------------------------------------------------


def test_it_renders_a_hostile_guideline_inert_on_every_page(client_as, project, cast):
    guideline_add(project=project, text=HOSTILE_GUIDELINE, created_by=cast["manager"])
    client = client_as("manager")

    for response in (versions_page(client, project), client.get(url("guideline_edit", project))):
        html = response.content.decode()
        assert response.status_code == 200
        assert XSS_SCRIPT not in html and XSS_IMG not in html and 'href="javascript:' not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the diff and the textarea show it as text
    assert "<h3>Rules</h3>" in versions_page(client, project).content.decode()  # the Markdown still renders


# Notes and the preview -------------------------------------------------------------------------------------


def test_it_keeps_a_note_with_a_version_and_shows_it_beside_the_diff(client_as, project, cast):
    client_as("manager").post(
        url("guideline_edit", project), {"text": "# Guideline\nBe kind.", "note": "Kind, not helpful"}
    )

    assert project.current_guideline().note == "Kind, not helpful"
    html = versions_page(client_as("reviewer"), project, version=2).content.decode()
    note = html.index('id="version-note"')
    assert "Kind, not helpful" in html[note : note + 300]
    assert note < html.index('class="diff"')  # beside the diff, above it


def test_it_escapes_a_hostile_note(client_as, project):
    client_as("manager").post(url("guideline_edit", project), {"text": "v2", "note": XSS_SCRIPT})

    html = versions_page(client_as("manager"), project, version=2).content.decode()

    assert XSS_SCRIPT not in html and "&lt;script&gt;" in html


def test_the_preview_is_sanitised_by_the_pages_renderer(client_as, project):
    response = client_as("manager").post(url("guideline_preview", project), {"text": HOSTILE_GUIDELINE})

    html = response.content.decode()
    assert "<h3>Rules</h3>" in html
    assert "alert(1)" not in html and "onerror" not in html and "javascript:" not in html


def test_the_preview_button_shows_the_text_without_saving(client_as, project):
    response = client_as("manager").post(url("guideline_edit", project), {"text": "# New\n*draft*", "preview": "1"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<em>draft</em>" in html and "# New\n*draft*</textarea>" in html
    assert project.guidelines.count() == 1


def test_the_editor_previews_the_current_text_as_it_opens(client_as, project):
    html = client_as("manager").get(url("guideline_edit", project)).content.decode()

    assert 'id="guideline-preview"' in html and "<h3>Guideline</h3>" in html
    assert f'hx-post="{url("guideline_preview", project)}"' in html
