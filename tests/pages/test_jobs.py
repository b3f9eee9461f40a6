from __future__ import annotations

from django.urls import reverse


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
