from __future__ import annotations

from django.urls import reverse

from annotate.models import Membership, Role
from annotate.services import guideline_add
from tests.factories import ExampleFactory, ProjectFactory


def test_it_lists_only_the_users_projects_with_role_and_example_count(client_as, project, cast):
    ExampleFactory.create_batch(3, project=project)
    other = ProjectFactory(name="someone-elses")
    Membership.objects.create(user=cast["outsider"], project=other, role=Role.ANNOTATOR)

    response = client_as("reviewer").get(reverse("annotate:project_list"))

    assert response.status_code == 200
    [(shown, role)] = response.context["rows"]
    assert shown == project
    assert role == Role.REVIEWER
    assert shown.example_count == 3
    assert b"someone-elses" not in response.content
    assert b"reviewer-user" in response.content  # the signed-in user in the header


def test_it_shows_an_empty_list_to_an_outsider(client_as, project):
    response = client_as("outsider").get(reverse("annotate:project_list"))

    assert response.context["rows"] == []
    assert b"helpfulness" not in response.content


def test_it_shows_the_project_questions_members_and_guideline(client_as, project):
    response = client_as("reviewer").get(reverse("annotate:project_detail", args=[project.pk]))

    html = response.content.decode()
    assert "<h3>Guideline</h3>" in html  # the guideline's Markdown heading, rendered below the page's headings
    assert "quality" in html and "1 to 5" in html
    assert "topic" in html and "nominal" in html and "math" in html
    for username in ("manager-user", "reviewer-user", "annotator-user"):
        assert username in html


def test_it_does_not_show_an_annotator_who_else_is_on_the_project(client_as, project):
    html = client_as("annotator").get(reverse("annotate:project_detail", args=[project.pk])).content.decode()

    assert "<h3>Guideline</h3>" in html and "quality" in html
    assert "reviewer-user" not in html and "manager-user" not in html


def test_it_links_to_examples_and_import_by_role(client_as, project):
    examples = reverse("annotate:example_list", args=[project.pk])
    imports = reverse("curation:import", args=[project.pk])
    url = reverse("annotate:project_detail", args=[project.pk])

    as_manager = client_as("manager").get(url).content.decode()
    as_reviewer = client_as("reviewer").get(url).content.decode()
    as_annotator = client_as("annotator").get(url).content.decode()

    assert examples in as_manager and imports in as_manager
    assert examples in as_reviewer and imports not in as_reviewer
    assert examples not in as_annotator and imports not in as_annotator


def test_it_renders_a_hostile_guideline_inert(client_as, project, cast):
    guideline_add(
        project=project,
        text=(
            "Read carefully.\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
            "[x](javascript:alert(1)) and [safe](https://example.com)"
        ),
        created_by=cast["manager"],
    )

    response = client_as("annotator").get(reverse("annotate:project_detail", args=[project.pk]))

    html = response.content.decode()
    assert "Read carefully." in html
    assert "alert(1)" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert '<a href="https://example.com"' in html


def test_it_links_signed_in_users_to_the_api_docs_and_names_a_favicon(client_as, project):
    html = client_as("annotator").get(reverse("annotate:project_list")).content.decode()

    assert f'href="{reverse("api:docs")}"' in html
    assert 'rel="icon" href="/static/favicon.svg"' in html


def test_it_shows_no_api_link_on_the_sign_in_page(client):
    html = client.get(reverse("login")).content.decode()

    assert 'rel="icon"' in html
    assert reverse("api:docs") not in html


def test_it_answers_favicon_ico_with_the_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"


def test_it_fits_the_questions_in_three_columns(client_as, project):
    html = client_as("annotator").get(reverse("annotate:project_detail", args=[project.pk])).content.decode()

    table = html[html.index('class="table table--compact questions-table"') : html.index("</table>")]
    assert table.count('<th scope="col">') == 3
    assert "ordinal" in table or "nominal" in table
