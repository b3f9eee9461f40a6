from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Guideline
from tests.factories import ExampleFactory, UserFactory

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
