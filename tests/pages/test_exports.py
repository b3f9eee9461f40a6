"""The export page of a version and the chat templates page: who may open them, a check that counts what would be
left out, the download and the export job from the form, options named when they are wrong, templates previewed,
saved and deleted, and user text escaped."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from curation.models import ChatTemplate, Job
from tests.conftest import ROLES

MANAGE = {"manager": 200, "reviewer": 403, "annotator": 403, "outsider": 404, "anonymous": 302}
XSS = "<script>alert(1)</script>"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_only_managers_open_the_export_and_templates_pages(labelled, cast, client_as, role):
    client = client_as(role)
    for url in (
        reverse("curation:export", args=[labelled.version.pk]),
        reverse("curation:template_list", args=[labelled.project.pk]),
    ):
        assert client.get(url).status_code == MANAGE[role], url


@pytest.mark.django_db
def test_the_version_page_links_its_export_page_for_managers(labelled, client_as):
    url = reverse("curation:version_detail", args=[labelled.version.pk])
    export = reverse("curation:export", args=[labelled.version.pk])
    assert export in client_as("manager").get(url).content.decode()
    assert export not in client_as("reviewer").get(url).content.decode()


@pytest.mark.django_db
def test_a_check_counts_rows_and_lists_what_is_left_out(labelled, client_as):
    response = client_as("manager").post(
        reverse("curation:export", args=[labelled.version.pk]), {"format": "preference", "action": "check"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>3</strong> rows would be written; 6 examples left out." in page
    assert "<code>tie</code>" in page and "cands_tie" in page


@pytest.mark.django_db
def test_a_bad_option_is_named_beside_its_field_and_nothing_starts(labelled, client_as):
    response = client_as("manager").post(
        reverse("curation:export", args=[labelled.version.pk]),
        {"format": "messages", "eval_fraction": "half", "action": "job"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'field field--invalid">\n        <label for="export-eval"' in page and "must be a number" in page
    assert not Job.objects.filter(kind="export").exists()


@pytest.mark.django_db
def test_download_sends_to_the_api_with_the_download_options_only(labelled, client_as):
    response = client_as("manager").post(
        reverse("curation:export", args=[labelled.version.pk]),
        {"format": "messages", "file": "parquet", "with_id": "1", "action": "download"},
    )
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"/api/v1/versions/{labelled.version.pk}/export/?format=messages&file=parquet&with_id=True"
    )
    assert client_as("manager").get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_run_export_job_queues_the_job_and_shows_its_page(labelled, client_as, django_capture_on_commit_callbacks):
    with mock.patch("curation.tasks.run_export.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        response = client_as("manager").post(
            reverse("curation:export", args=[labelled.version.pk]),
            {"format": "messages", "eval_fraction": "0.1", "fractions": "0.25, 0.5", "action": "job"},
        )
    job = Job.objects.get(kind="export")
    assert response.status_code == 302 and response["Location"] == reverse("curation:job_detail", args=[job.pk])
    assert job.params["options"]["fractions"] == [0.25, 0.5]
    delay.assert_called_once_with(job.pk)


@pytest.mark.django_db
def test_a_template_is_previewed_on_real_rows_saved_and_deleted_with_its_text_escaped(labelled, client_as):
    client = client_as("manager")
    url = reverse("curation:template_list", args=[labelled.project.pk])
    fields = {
        "name": "tagged",
        "source": "{% for m in messages %}<{{ m['role'] }}>" + XSS + "{{ m['content'] }}{% endfor %}",
        "system": "1",
    }

    preview = client.post(url, {**fields, "action": "preview"}).content.decode()
    assert "&lt;user&gt;&lt;script&gt;alert(1)&lt;/script&gt;Name a prime number." in preview
    assert XSS not in preview

    saved = client.post(url, {**fields, "action": "save"})
    assert saved.status_code == 302
    template = ChatTemplate.objects.get(project=labelled.project, name="tagged")
    listed = client.get(url).content.decode()
    assert XSS not in listed and "tagged" in listed

    assert client.post(reverse("curation:template_delete", args=[template.pk])).status_code == 302
    assert not ChatTemplate.objects.exists()


@pytest.mark.django_db
def test_a_template_that_does_not_compile_says_where(labelled, client_as):
    response = client_as("manager").post(
        reverse("curation:template_list", args=[labelled.project.pk]),
        {"name": "bad", "source": "{% for m in messages %}\n{{ m['content'] }", "action": "save"},
    )
    assert response.status_code == 400
    assert "(line 2)" in response.content.decode() or "(line 1)" in response.content.decode()
    assert not ChatTemplate.objects.exists()


@pytest.mark.django_db
def test_a_reviewer_cannot_delete_a_template(labelled, client_as):
    template = ChatTemplate.objects.create(project=labelled.project, name="kept", source="{{ messages }}")
    assert client_as("reviewer").post(reverse("curation:template_delete", args=[template.pk])).status_code == 403
    assert client_as("outsider").post(reverse("curation:template_delete", args=[template.pk])).status_code == 404
    assert ChatTemplate.objects.filter(pk=template.pk).exists()
