"""Every page against the whole cast: who gets 200, who is sent to sign in, who gets 403 or 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import ROLES

OK, LOGIN, FORBIDDEN, MISSING = 200, 302, 403, 404
DONE = 302  # a change made, and sent back to the page that shows it

MATRIX = {
    "annotate:project_list": {"manager": OK, "reviewer": OK, "annotator": OK, "outsider": OK, "anonymous": LOGIN},
    "annotate:project_detail": {
        "manager": OK,
        "reviewer": OK,
        "annotator": OK,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    "annotate:project_new": {"manager": OK, "reviewer": OK, "annotator": OK, "outsider": OK, "anonymous": LOGIN},
    "annotate:project_settings": {
        "manager": OK,
        "reviewer": FORBIDDEN,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    "annotate:members": {
        "manager": OK,
        "reviewer": OK,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    "annotate:example_list": {
        "manager": OK,
        "reviewer": OK,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    "annotate:quality": {
        "manager": OK,
        "reviewer": OK,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    "curation:import": {
        "manager": OK,
        "reviewer": FORBIDDEN,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    "curation:version_list": {
        "manager": OK,
        "reviewer": OK,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    "curation:version_new": {
        "manager": OK,
        "reviewer": FORBIDDEN,
        "annotator": FORBIDDEN,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
    # A job is visible to the project's managers and to whoever started it (here the manager).
    "curation:job_detail": {
        "manager": OK,
        "reviewer": MISSING,
        "annotator": MISSING,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
}


# Pages that change something, posted to by each role: the job (started by the manager) is queued.
POST_MATRIX = {
    "curation:job_cancel": {
        "manager": DONE,
        "reviewer": MISSING,
        "annotator": MISSING,
        "outsider": MISSING,
        "anonymous": LOGIN,
    },
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", POST_MATRIX)
def test_it_answers_each_roles_post_as_the_matrix_says(client_as, project, job, name, role):
    url = reverse(name, args=[job.pk])

    response = client_as(role).post(url)

    assert response.status_code == POST_MATRIX[name][role]
    job.refresh_from_db()
    assert job.status == ("cancelled" if role == "manager" else "queued")
    if role == "anonymous":
        assert response["Location"] == f"{reverse('login')}?next={url}"
    elif role == "manager":
        assert response["Location"] == reverse("curation:job_detail", args=[job.pk])


def url_for(name: str, project, job) -> str:
    if name in ("annotate:project_list", "annotate:project_new"):
        return reverse(name)
    if name == "curation:job_detail":
        return reverse(name, args=[job.pk])
    return reverse(name, args=[project.pk])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", MATRIX)
def test_it_answers_each_role_as_the_matrix_says(client_as, project, job, name, role):
    url = url_for(name, project, job)

    response = client_as(role).get(url)

    assert response.status_code == MATRIX[name][role]
    if response.status_code == LOGIN:
        assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(
    "name",
    [
        "annotate:project_detail",
        "annotate:example_list",
        "curation:import",
        "curation:version_list",
        "annotate:project_settings",
        "annotate:members",
    ],
)
def test_it_gives_404_for_a_project_that_does_not_exist(client_as, project, name):
    response = client_as("manager").get(reverse(name, args=[project.pk + 1000]))

    assert response.status_code == 404


def test_it_lets_staff_open_every_project_page(client, staff, project, job):
    client.force_login(staff)

    for name in MATRIX:
        assert client.get(url_for(name, project, job)).status_code == 200


def test_it_signs_in_and_lands_on_the_project_list(client, cast):
    response = client.post(reverse("login"), {"username": "reviewer-user", "password": "pw-for-tests"})

    assert response.status_code == 302
    assert response["Location"] == reverse("annotate:project_list")


def test_it_renders_the_sign_in_page(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_it_signs_out_with_a_post(client_as):
    client = client_as("annotator")

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert client.get(reverse("annotate:project_list")).status_code == 302
