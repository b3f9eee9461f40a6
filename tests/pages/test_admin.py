from __future__ import annotations

import json

import pytest
from django.urls import reverse

from annotate.models import Guideline, WorkItem
from annotate.services.queue import work_items_create
from tests.factories import ExampleFactory, MembershipFactory, UserFactory

MODELS = [
    "annotate_project",
    "annotate_membership",
    "annotate_guideline",
    "annotate_question",
    "annotate_example",
    "curation_job",
]


@pytest.fixture
def admin_client_(client, db):
    client.force_login(UserFactory(username="admin-user", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", MODELS)
def test_it_lists_every_model_in_the_admin(admin_client_, project, job, model):
    ExampleFactory(project=project)

    response = admin_client_.get(reverse(f"admin:{model}_changelist"))

    assert response.status_code == 200


def test_it_shows_examples_read_only(admin_client_, project):
    example = ExampleFactory(project=project)

    page = admin_client_.get(reverse("admin:annotate_example_change", args=[example.pk]))
    post = admin_client_.post(reverse("admin:annotate_example_change", args=[example.pk]), {"external_id": "changed"})

    assert page.status_code == 200
    assert b'name="external_id"' not in page.content
    assert post.status_code == 403
    assert admin_client_.get(reverse("admin:annotate_example_add")).status_code == 403


def test_it_shows_jobs_read_only(admin_client_, job):
    assert admin_client_.get(reverse("admin:curation_job_change", args=[job.pk])).status_code == 200
    assert admin_client_.get(reverse("admin:curation_job_add")).status_code == 403


def test_it_adds_a_guideline_as_the_next_version(admin_client_, project):
    response = admin_client_.post(reverse("admin:annotate_guideline_add"), {"project": project.pk, "text": "v2 text"})

    assert response.status_code == 302
    latest = project.current_guideline()
    assert (latest.version, latest.text) == (2, "v2 text")
    assert Guideline.objects.filter(project=project).count() == 2


def project_change_form(project, **changes) -> dict:
    """The admin's change form of a project as posted: its settings and the inlines' management forms."""
    data = {
        "name": project.name,
        "description": project.description,
        "overlap": project.overlap,
        "assignment_timeout": project.assignment_timeout,
        **changes,
    }
    for prefix, rows in (("memberships", project.memberships.count()), ("questions", project.questions.count())):
        data |= {f"{prefix}-TOTAL_FORMS": rows, f"{prefix}-INITIAL_FORMS": rows, f"{prefix}-MIN_NUM_FORMS": 0}
        data[f"{prefix}-MAX_NUM_FORMS"] = 1000
    for index, question in enumerate(project.questions.order_by("position", "id")):
        data |= {
            f"questions-{index}-id": question.pk,
            f"questions-{index}-project": project.pk,
            f"questions-{index}-position": question.position,
            f"questions-{index}-name": question.name,
            f"questions-{index}-kind": question.kind,
            f"questions-{index}-options": json.dumps(question.options),
            f"questions-{index}-level": question.level or "",
        }
        if question.required:
            data[f"questions-{index}-required"] = "on"
    return data


def test_a_new_overlap_set_in_the_admin_reaches_the_queue(admin_client_, project):
    ExampleFactory.create_batch(3, project=project)
    work_items_create(project=project)

    response = admin_client_.post(
        reverse("admin:annotate_project_change", args=[project.pk]), project_change_form(project, overlap=5)
    )

    assert response.status_code == 302, response.content[:2000]
    project.refresh_from_db()
    assert project.overlap == 5
    assert set(WorkItem.objects.filter(project=project).values_list("target", flat=True)) == {5}


def test_projects_are_not_created_in_the_admin(admin_client_):
    assert admin_client_.get(reverse("admin:annotate_project_add")).status_code == 403


def test_members_are_shown_but_not_changed_in_the_admin(admin_client_, project):
    """Adding, demoting or removing a member goes through the service (the last manager stays, what a removed
    member held goes back to the queue): the admin only shows members."""
    manager = MembershipFactory(project=project, role="manager")
    change_url = reverse("admin:annotate_membership_change", args=[manager.pk])

    assert admin_client_.get(change_url).status_code == 200
    assert (
        admin_client_.post(
            change_url, {"user": manager.user_id, "project": project.pk, "role": "annotator"}
        ).status_code
        == 403
    )
    assert (
        admin_client_.post(reverse("admin:annotate_membership_delete", args=[manager.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert admin_client_.get(reverse("admin:annotate_membership_add")).status_code == 403
    manager.refresh_from_db()
    assert manager.role == "manager"
    page = admin_client_.get(reverse("admin:annotate_project_change", args=[project.pk]))
    assert b'name="memberships-0-role"' not in page.content
