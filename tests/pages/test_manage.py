"""Managing a project in the browser: a new project, its settings and question editor, and its members."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from annotate.models import Annotation, Assignment, Membership, Project, Role
from annotate.services.queue import next_assignment, work_items_create
from tests.conftest import ROLES
from tests.factories import ExampleFactory, UserFactory
from tests.pages.test_reviewing import XSS_IMG, XSS_SCRIPT, answers, label_all

OK, LOGIN, DONE, FORBIDDEN, MISSING, INVALID = 200, 302, 302, 403, 404, 400
MATRIX = {
    "project_new": {"manager": OK, "reviewer": OK, "annotator": OK, "outsider": OK, "anonymous": LOGIN},
    "project_settings": {
        "manager": OK,
        "reviewer": FORBIDDEN,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    "members": {"manager": OK, "reviewer": OK, "annotator": FORBIDDEN, "outsider": MISSING, "anonymous": LOGIN},
}
MANAGE = {"manager": DONE, "reviewer": FORBIDDEN, "annotator": FORBIDDEN, "outsider": MISSING, "anonymous": LOGIN}


def url(name, project=None):
    return reverse(f"annotate:{name}", args=[] if project is None else [project.pk])


def question_fields(*questions, prefix="questions"):
    """The editor's fields for these rows (dicts of the row's fields; ``original`` for an existing question)."""
    data = {f"{prefix}-TOTAL": str(len(questions))}
    for index, question in enumerate(questions):
        row = {"original": "", "kind": "label", "labels": "", "min": "1", "max": "5", "level": "", "help": ""}
        row.update(question)
        if row.pop("required", True):
            row["required"] = "on"
        data.update({f"{prefix}-{index}-{key}": str(value) for key, value in row.items()})
    return data


def new_project(**fields):
    data = {"name": "toxicity", "description": "", "overlap": "2", "assignment_timeout": "1800", "guideline": ""}
    data.update(fields)
    return data


def existing(project, **changes):
    """The settings editor's rows for the project's questions as they are, with changes by name (None: removed)."""
    rows = []
    for question in project.questions.order_by("position"):
        options = question.options
        row = {
            "original": question.pk,
            "name": question.name,
            "kind": question.kind,
            "labels": "\n".join(options.get("labels", [])),
            "min": options.get("min", ""),
            "max": options.get("max", ""),
            "level": question.level or "",
            "help": question.help,
            "required": question.required,
        }
        change = changes.get(question.name, {})
        if change is None:
            row["removed"] = "1"
        else:
            row.update(change)
        rows.append(row)
    return rows


def post_questions(client, project, *rows, **extra):
    return client.post(url("project_settings", project), {"form": "questions", **question_fields(*rows), **extra})


@pytest.fixture
def answered(project):
    example = ExampleFactory(project=project)
    label_all(project, {example: answers("code", "math", "math")})
    return project


# Who may do what -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", MATRIX)
def test_it_answers_each_role_as_the_matrix_says(client_as, project, name, role):
    address = url(name, None if name == "project_new" else project)

    response = client_as(role).get(address)

    assert response.status_code == MATRIX[name][role]
    if role == "anonymous":
        assert response["Location"] == f"{reverse('login')}?next={address}"


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_anyone_signed_in_create_a_project_as_its_manager(client_as, project, cast, role):
    response = client_as(role).post(url("project_new"), new_project(name=f"by-{role}"))

    created = Project.objects.filter(name=f"by-{role}").first()
    if role == "anonymous":
        assert response.status_code == LOGIN and created is None
        return
    assert response.status_code == DONE and response["Location"] == created.get_absolute_url()
    assert Membership.objects.get(project=created).user == cast[role] and created.memberships.get().role == "manager"


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_managers_change_the_settings(client_as, project, role):
    data = {"form": "project", "name": "renamed", "description": "", "overlap": "3", "assignment_timeout": "3600"}

    response = client_as(role).post(url("project_settings", project), data)

    assert response.status_code == MANAGE[role]
    project.refresh_from_db()
    assert (project.name == "renamed") == (role == "manager")


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_managers_change_the_questions(client_as, project, role):
    rows = [*existing(project), {"name": "notes", "kind": "text", "required": False}]

    response = post_questions(client_as(role), project, *rows)

    assert response.status_code == MANAGE[role]
    assert project.questions.filter(name="notes").exists() == (role == "manager")


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_managers_add_a_member(client_as, project, role):
    UserFactory(username="newcomer")

    response = client_as(role).post(url("members", project), {"username": "newcomer", "role": "annotator"})

    assert response.status_code == MANAGE[role]
    assert project.memberships.filter(user__username="newcomer").exists() == (role == "manager")


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_managers_remove_a_member(client_as, project, role):
    response = client_as(role).post(url("member_remove", project), {"username": "reviewer-user"})

    assert response.status_code == MANAGE[role]
    assert project.memberships.filter(user__username="reviewer-user").exists() == (role != "manager")


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_staff_create_users(client_as, project, role):
    data = {"username": "fresh", "password": "a-long-pass-phrase", "email": "", "role": "annotator"}

    response = client_as(role).post(url("user_new", project), data)

    # Managing the project is not enough: accounts are made by staff.
    assert response.status_code == {**MANAGE, "manager": FORBIDDEN}[role]
    assert not get_user_model().objects.filter(username="fresh").exists()


@pytest.mark.parametrize("role", ROLES)
def test_it_previews_the_guideline_for_managers_only(client_as, project, role):
    response = client_as(role).post(url("guideline_preview", project), {"text": "**bold**"})

    assert response.status_code == {**MANAGE, "manager": OK}[role]
    if role == "manager":
        assert "<strong>bold</strong>" in response.content.decode()


def test_it_links_the_manager_pages_from_the_project_and_the_header(client_as, project):
    as_manager = client_as("manager").get(url("project_detail", project)).content.decode()
    as_reviewer = client_as("reviewer").get(url("project_detail", project)).content.decode()

    for name in ("project_settings", "members", "guideline_edit"):
        assert url(name, project) in as_manager
    assert url("project_settings", project) not in as_reviewer
    assert url("project_new") in as_reviewer  # the header, for everyone signed in
    header = client_as("manager").get(url("members", project)).content.decode().split("</header>")[0]
    assert url("project_settings", project) in header and url("members", project) in header


# A new project -----------------------------------------------------------------------------------------------


def test_it_creates_a_project_with_its_questions_in_order_and_a_guideline(client_as, cast, project):
    questions = question_fields(
        {"name": "severity", "kind": "rating", "min": "0", "max": "4", "help": "0: none, 4: severe"},
        {"name": "kind", "kind": "multi_label", "labels": "insult\nthreat\n\n", "required": False},
    )

    response = client_as("outsider").post(
        url("project_new"), {**new_project(guideline="# Rules\r\nBe fair."), **questions}
    )

    created = Project.objects.get(name="toxicity")
    assert response.status_code == DONE
    assert (created.overlap, created.assignment_timeout) == (2, 1800)
    assert [q.as_spec().as_dict() for q in created.questions.order_by("position")] == [
        {"name": "severity", "kind": "rating", "min": 0, "max": 4, "required": True, "level": "ordinal",
         "help": "0: none, 4: severe"},
        {"name": "kind", "kind": "multi_label", "labels": ["insult", "threat"], "required": False, "level": "nominal",
         "help": ""},
    ]  # fmt: skip
    assert created.current_guideline().text == "# Rules\nBe fair."


def test_it_shows_each_problem_beside_its_field_and_creates_nothing(client_as, project):
    questions = question_fields(
        {"name": "score", "kind": "rating", "min": "5", "max": "1"},
        {"name": "score", "kind": "label", "labels": "only"},
        {"name": "9lives", "kind": "text", "level": "ordinal"},
    )

    response = client_as("manager").post(url("project_new"), {**new_project(name="", overlap="0"), **questions})

    assert response.status_code == INVALID
    assert not Project.objects.exclude(pk=project.pk).exists()
    html = response.content.decode()
    rows = [row.errors for row in response.context["rows"]]
    assert rows[0] == {"max": "must be greater than min"}
    assert set(rows[1]) == {"labels", "name"} and "another question is named 'score'" in rows[1]["name"]
    assert set(rows[2]) == {"name", "level"}
    assert 'id="questions-0-max-error"' in html and "Must be greater than min." in html
    assert 'id="id_name_error"' in html and 'id="id_overlap_error"' in html


def test_its_editor_buttons_work_without_javascript_and_save_nothing(client_as, project):
    rows = question_fields({"name": "first", "kind": "text"}, {"name": "second", "kind": "preference"})
    client = client_as("manager")

    added = client.post(url("project_new"), {**new_project(), **rows, "editor": "add"})
    moved = client.post(url("project_new"), {**new_project(), **rows, "editor": "down-0"})
    removed = client.post(url("project_new"), {**new_project(), **rows, "editor": "remove-0"})

    assert [r.name for r in added.context["rows"]] == ["first", "second", ""]
    assert 'id="questions-2-name"' in added.content.decode()
    assert [r.name for r in moved.context["rows"]] == ["second", "first"]
    assert 'id="questions-1-down" data-action="down" autofocus' in moved.content.decode()  # the focus stays on it
    assert [r.name for r in removed.context["rows"]] == ["second"]
    assert not moved.context["form"].errors  # not checked until the project is saved
    assert Project.objects.count() == 1


# Settings and questions ----------------------------------------------------------------------------------------


def test_it_saves_the_settings_through_the_service(client_as, project, cast):
    example = ExampleFactory(project=project)
    work_items_create(project=project)
    data = {"form": "project", "name": "helpful-v2", "description": "More", "overlap": "5", "assignment_timeout": "600"}

    response = client_as("manager").post(url("project_settings", project), data)

    project.refresh_from_db()
    assert response.status_code == DONE
    assert (project.name, project.description, project.overlap, project.assignment_timeout) == (
        "helpful-v2",
        "More",
        5,
        600,
    )
    assert example.work.__class__.objects.get(pk=example.pk).target == 5  # the queue takes the new overlap


def test_it_names_a_bad_setting_beside_its_field(client_as, project):
    data = {"form": "project", "name": "x", "description": "", "overlap": "1", "assignment_timeout": "5"}

    response = client_as("manager").post(url("project_settings", project), data)

    assert response.status_code == INVALID
    assert "greater than or equal to 60" in response.content.decode()
    project.refresh_from_db()
    assert project.assignment_timeout == 3600


def test_it_changes_reorders_and_adds_questions_without_answers(client_as, project):
    quality, topic = existing(project)
    topic.update(name="subject", labels="code\nmath", help="The main one")

    response = post_questions(client_as("manager"), project, topic, quality, {"name": "notes", "kind": "text"})

    assert response.status_code == DONE
    names = list(project.questions.order_by("position").values_list("name", "help"))
    assert names == [("subject", "The main one"), ("quality", ""), ("notes", "")]


def test_it_removes_a_question_without_answers(client_as, project):
    response = post_questions(client_as("manager"), project, *existing(project, topic=None))

    assert response.status_code == DONE
    assert list(project.questions.values_list("name", flat=True)) == ["quality"]


def test_it_shows_what_happens_to_the_answers_of_an_answered_question(client_as, answered):
    response = client_as("manager").get(url("project_settings", answered))

    html = response.content.decode()
    assert "3 answers." in html
    assert "They are kept as they are" in html and "make it optional instead" in html
    name_input = re.search(r'<input [^>]*id="questions-0-name"[^>]*>', html).group(0)
    assert 'value="quality"' in name_input and " readonly" in name_input
    assert 'value="remove-0"' not in html and 'value="remove-1"' not in html


def test_it_refuses_to_remove_an_answered_question_and_keeps_its_answers(client_as, answered):
    response = post_questions(client_as("manager"), answered, *existing(answered, topic=None))

    assert response.status_code == INVALID
    html = response.content.decode()
    assert "has 3 answers: a question with answers is not removed" in html
    assert answered.questions.filter(name="topic").exists()
    assert Annotation.objects.filter(project=answered, answers__has_key="topic").count() == 3


def test_it_refuses_to_narrow_an_answered_scale_beside_the_field(client_as, answered):
    response = post_questions(client_as("manager"), answered, *existing(answered, quality={"max": "4"}))

    assert response.status_code == INVALID
    assert response.context["rows"][0].errors == {
        "max": "answers may be anywhere from 1 to 5: the scale may widen but not narrow"
    }
    assert 'id="questions-0-max-error"' in response.content.decode()
    assert answered.questions.get(name="quality").options == {"min": 1, "max": 5}


def test_it_adds_a_label_to_an_answered_question(client_as, answered):
    change = {"labels": "code\nmath\ngeneral\nother", "required": False, "help": "Pick the closest."}

    response = post_questions(client_as("manager"), answered, *existing(answered, topic=change))

    assert response.status_code == DONE
    topic = answered.questions.get(name="topic")
    assert (topic.options["labels"][-1], topic.required, topic.help) == ("other", False, "Pick the closest.")
    assert Annotation.objects.filter(project=answered, answers__topic="math").count() == 2


def test_it_shows_the_help_text_to_annotators_under_the_question(client_as, project, cast):
    project.questions.filter(name="topic").update(help="Code means the response is mostly code.")
    ExampleFactory(project=project)
    work_items_create(project=project)

    html = client_as("annotator").get(url("annotate", project)).content.decode()

    assert 'class="question__help prewrap" id="q-topic-help">Code means the response is mostly code.</p>' in html


def test_it_escapes_a_hostile_project_name_question_and_help(client_as, project):
    project.name = XSS_SCRIPT
    project.save()
    rows = existing(project, topic={"labels": f"code\n{XSS_SCRIPT}", "help": XSS_IMG})
    assert post_questions(client_as("manager"), project, *rows).status_code == DONE
    ExampleFactory(project=project)
    work_items_create(project=project)

    for name in ("project_settings", "members", "annotate", "guideline_edit", "project_detail"):
        html = client_as("manager").get(url(name, project)).content.decode()
        assert XSS_SCRIPT not in html and XSS_IMG not in html, name
        assert "&lt;script&gt;" in html, name
    annotator = client_as("annotator").get(url("annotate", project)).content.decode()
    assert XSS_SCRIPT not in annotator and "&lt;img src=x onerror=alert(1)&gt;" in annotator


# Members -----------------------------------------------------------------------------------------------------


def test_it_adds_a_member_and_changes_their_role(client_as, project):
    UserFactory(username="newcomer")
    client = client_as("manager")

    added = client.post(url("members", project), {"username": "newcomer", "role": "annotator"}, follow=True)
    changed = client.post(url("members", project), {"username": "newcomer", "role": "reviewer"}, follow=True)

    assert "Added newcomer as annotator." in added.content.decode()
    assert "newcomer is now reviewer." in changed.content.decode()
    assert project.memberships.get(user__username="newcomer").role == "reviewer"


def test_it_names_an_unknown_user_beside_the_field(client_as, project):
    response = client_as("manager").post(url("members", project), {"username": "ghost", "role": "annotator"})

    assert response.status_code == INVALID
    assert response.context["member_form"].errors == {"username": ["There is no user named 'ghost'."]}


def test_it_keeps_the_last_manager_and_says_why(client_as, project):
    client = client_as("manager")

    demoted = client.post(url("members", project), {"username": "manager-user", "role": "annotator"}, follow=True)
    removed = client.post(url("member_remove", project), {"username": "manager-user"}, follow=True)

    for response in (demoted, removed):
        assert "A project must keep at least one manager" in response.content.decode()
    assert project.memberships.get(user__username="manager-user").role == "manager"


def test_removing_an_annotator_gives_back_the_example_they_held(client_as, project, cast):
    example = ExampleFactory(project=project)
    work_items_create(project=project)
    assert next_assignment(project=project, annotator=cast["annotator"]).example_id == example.pk

    response = client_as("manager").post(url("member_remove", project), {"username": "annotator-user"}, follow=True)

    assert "any example they held is back in the queue" in response.content.decode()
    assignment = Assignment.objects.get(example=example, annotator=cast["annotator"])
    assert assignment.status == Assignment.Status.RELEASED
    assert next_assignment(project=project, annotator=cast["reviewer"]).example_id == example.pk


def test_it_shows_staff_a_form_to_create_a_user_and_adds_them(client, project, staff):
    client.force_login(staff)
    page = client.get(url("members", project)).content.decode()
    data = {"username": "dana", "password": "a-long-pass-phrase", "email": "dana@example.com", "role": "reviewer"}

    response = client.post(url("user_new", project), data, follow=True)

    assert "Create a user" in page
    assert "Created the user dana and added them as reviewer." in response.content.decode()
    dana = get_user_model().objects.get(username="dana")
    assert dana.check_password("a-long-pass-phrase") and dana.email == "dana@example.com"
    assert project.memberships.get(user=dana).role == Role.REVIEWER


def test_it_names_each_bad_detail_of_a_new_user_beside_its_field(client, project, staff):
    client.force_login(staff)
    data = {"username": "staff-user", "password": "123", "email": "nope", "role": "annotator"}

    response = client.post(url("user_new", project), data)

    assert response.status_code == INVALID
    errors = response.context["user_form"].errors
    assert set(errors) == {"username", "password", "email"}
    assert "already exists" in errors["username"][0]


def test_it_does_not_offer_managers_who_are_not_staff_to_create_users(client_as, project):
    html = client_as("manager").get(url("members", project)).content.decode()

    assert "Create a user" not in html and "Add a member" in html


def test_it_shows_reviewers_the_members_without_the_forms(client_as, project):
    html = client_as("reviewer").get(url("members", project)).content.decode()

    assert "manager-user" in html and "annotator-user" in html
    assert "Add a member" not in html and url("member_remove", project) not in html
