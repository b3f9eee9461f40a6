from __future__ import annotations

import re

import pytest
from django.urls import reverse

from annotate.models import Membership


def job_url(job) -> str:
    return reverse("curation:job_detail", args=[job.pk])


def set_progress(job, *, done: int, total: int, stage: str, unit: str) -> None:
    job.status, job.stage, job.progress_unit = "running", stage, unit
    job.progress_done, job.progress_total = done, total
    job.save()


def test_it_polls_while_the_job_is_unfinished(client_as, job):
    set_progress(job, done=2_500_000, total=10_000_000, stage="validating", unit="bytes")

    html = client_as("manager").get(job_url(job)).content.decode()

    assert f'hx-get="{job_url(job)}"' in html
    assert 'hx-trigger="every 1s"' in html
    assert '<progress id="job-progress" value="2500000" max="10000000">' in html
    assert "validating" in html
    assert "2.5 of 10.0 MB" in html


def test_it_shows_an_indeterminate_bar_when_the_total_is_unknown(client_as, job):
    html = client_as("manager").get(job_url(job)).content.decode()

    assert '<progress id="job-progress">' in html


def test_it_counts_records_when_the_unit_is_records(client_as, job):
    set_progress(job, done=1200, total=5000, stage="writing", unit="records")

    html = client_as("manager").get(job_url(job)).content.decode()

    assert "1,200 of 5,000 records" in html


def test_it_renders_only_the_status_fragment_for_htmx(client_as, job):
    response = client_as("manager").get(job_url(job), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert [t.name for t in response.templates] == ["curation/_job_status.html"]
    assert html.lstrip().startswith('<section id="job-status"')
    assert "<html" not in html


def test_it_stops_polling_and_lists_bad_records_when_failed(client_as, job):
    errors = [{"record": 3, "line": 3, "reason": "'text' must be a string, not number"}, {"record": 9, "reason": "x"}]
    job.fail("12 of 40 records are invalid; nothing was imported.", {"errors": errors, "total": 12, "shown": 2})

    html = client_as("manager").get(job_url(job), HTTP_HX_REQUEST="true").content.decode()

    assert "hx-get" not in html
    assert "12 of 40 records are invalid" in html
    assert "&#x27;text&#x27; must be a string, not number" in html
    assert "and 10 more" in html


def test_it_names_the_field_of_each_bad_label_of_a_failed_annotation_import(client_as, job):
    job.kind = "annotation_import"
    job.save()
    errors = [{"record": 2, "line": 2, "field": "answers.quality", "reason": "must be a whole number from 1 to 5"}]
    job.fail("1 of 3 records is invalid; nothing was imported.", {"errors": errors, "total": 1, "shown": 1})

    html = client_as("manager").get(job_url(job), HTTP_HX_REQUEST="true").content.decode()

    assert "<code>answers.quality</code>" in html
    assert "must be a whole number from 1 to 5" in html
    assert "Import again" not in html  # the import page is for examples


def test_it_shows_the_result_and_links_to_the_examples_when_succeeded(client_as, job, project):
    job.succeed({"imported": 1234, "shapes": {"chat": 1000, "text": 234}, "moved_to_metadata": {"source": 1234}})

    html = client_as("manager").get(job_url(job)).content.decode()

    assert "hx-get" not in html
    assert "1,234" in html
    assert "chat: 1,000" in html
    assert "<code>source</code>" in html
    assert reverse("annotate:example_list", args=[project.pk]) in html


def test_it_shows_a_job_to_the_member_who_started_it(client_as, job, cast):
    job.created_by = cast["reviewer"]
    job.save()

    assert client_as("reviewer").get(job_url(job)).status_code == 200


def cancel_url(job) -> str:
    return reverse("curation:job_cancel", args=[job.pk])


def test_it_offers_the_projects_managers_a_cancel_button_that_works_without_javascript(client_as, job):
    html = client_as("manager").get(job_url(job)).content.decode()

    assert f'<form method="post" action="{cancel_url(job)}"' in html
    assert f'hx-post="{cancel_url(job)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_it_offers_no_cancel_button_to_a_starter_who_does_not_manage_the_project(client_as, job, cast):
    job.created_by = cast["reviewer"]
    job.save()

    html = client_as("reviewer").get(job_url(job)).content.decode()

    assert cancel_url(job) not in html
    assert client_as("reviewer").post(cancel_url(job)).status_code == 403


def test_it_offers_no_cancel_button_once_the_job_has_finished(client_as, job):
    job.succeed({"imported": 1, "shapes": {}, "moved_to_metadata": {}})

    assert cancel_url(job) not in client_as("manager").get(job_url(job)).content.decode()


def test_it_cancels_from_a_plain_form_and_comes_back_to_the_job(client_as, job):
    response = client_as("manager").post(cancel_url(job))

    job.refresh_from_db()
    assert (response.status_code, response["Location"], job.status) == (302, job_url(job), "cancelled")
    assert "This job was cancelled" in client_as("manager").get(job_url(job)).content.decode()


def test_it_cancels_with_htmx_and_answers_with_the_status_fragment(client_as, job):
    response = client_as("manager").post(cancel_url(job), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="job-status"')
    assert "badge--cancelled" in html and "hx-get" not in html


def test_it_says_why_a_finished_job_cannot_be_cancelled(client_as, job):
    job.fail("Nothing was imported.")

    plain = client_as("manager").post(cancel_url(job))
    htmx = client_as("manager").post(cancel_url(job), HTTP_HX_REQUEST="true")

    assert (plain.status_code, htmx.status_code) == (409, 200)
    for response in (plain, htmx):
        assert (
            "has already finished (failed); only a queued or running job can be cancelled" in response.content.decode()
        )


def test_it_refuses_cancelling_by_get(client_as, job):
    assert client_as("manager").get(cancel_url(job)).status_code == 405


def test_it_hides_a_job_from_its_starter_once_they_leave_the_project(client_as, job, cast, project):
    job.created_by = cast["reviewer"]
    job.save()
    Membership.objects.filter(user=cast["reviewer"], project=project).delete()

    gone = client_as("reviewer").get(job_url(job))
    missing = client_as("reviewer").get(reverse("curation:job_detail", args=[job.pk + 1000]))

    def main(response) -> str:  # the page around it holds a CSRF token that differs between responses
        return re.search(r"<main.*</main>", response.content.decode(), re.DOTALL).group()

    assert (gone.status_code, missing.status_code) == (404, 404)
    assert main(gone) == main(missing)


@pytest.mark.parametrize(
    ("stage", "label"),
    [
        ("queueing", "Queueing for annotation"),
        ("checking_duplicates", "Looking for records already in the project"),
        ("committing", "Committing"),
        ("writing", "Writing examples"),
    ],
)
def test_it_names_every_stage_in_the_progress_bar(client_as, job, stage, label):
    set_progress(job, done=250_000, total=1_000_000, stage=stage, unit="records")

    html = client_as("manager").get(job_url(job)).content.decode()

    assert label in html
    assert "250,000 of 1,000,000 records" in html


def test_it_lists_the_records_already_in_the_project(client_as, job):
    duplicates = {"total": 102, "records": list(range(1, 101)), "skipped": True}
    job.succeed({"imported": 5, "shapes": {}, "moved_to_metadata": {}, "duplicates": duplicates})

    html = client_as("manager").get(job_url(job)).content.decode()

    assert "102 records have the same content as an example the project already had, and were left out" in html
    assert "1, 2, 3" in html and "and 2 more" in html


# Search index jobs (curation/services/search_index.py) ----------------------------------------------------------


@pytest.fixture
def index_job(project, cast):
    from curation.models import Job

    return Job.objects.create(
        kind=Job.Kind.SEARCH_INDEX,
        project=project,
        created_by=cast["manager"],
        params={"ranges": [[1, 40]], "examples": 40},
        progress_total=40,
        progress_unit="examples",
    )


def test_an_import_links_to_the_job_indexing_its_examples_for_search(client_as, job, index_job):
    job.succeed({"imported": 40, "shapes": {}, "moved_to_metadata": {}, "search_index_job": index_job.pk})

    html = client_as("manager").get(job_url(job)).content.decode()

    assert f'<a href="{job_url(index_job)}">the search index job #{index_job.pk}</a>' in html


def test_an_index_job_says_how_far_it_got_and_what_cancelling_it_leaves(client_as, index_job):
    set_progress(index_job, done=10, total=40, stage="indexing", unit="examples")

    html = client_as("manager").get(job_url(index_job)).content.decode()

    assert "Indexing for search" in html and "10 of 40 examples" in html
    assert "The examples it has not indexed yet are not found by a search until it is run again." in html


def test_a_finished_index_job_says_what_is_searchable(client_as, index_job):
    index_job.succeed({"examples": 40, "written": 30, "seconds": 1.5}, progress=(40, "examples"))

    html = client_as("manager").get(job_url(index_job)).content.decode()

    assert "40 examples can be found by a search (30 indexed now, the others already were)." in html
