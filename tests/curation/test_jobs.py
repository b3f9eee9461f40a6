"""Jobs outside their own work: who sees them, cancelling, the heartbeat, and reaping jobs whose worker died."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from annotate.models import Example, Membership, WorkItem
from curation.heartbeat import Heartbeat
from curation.models import Job
from curation.services import import_checks
from curation.services.imports import import_start
from curation.services.jobs import JobFinishedError, job_cancel, jobs_reap, temporary_files_sweep, uploads_sweep
from curation.tasks import run_import
from curation.uploads import ORPHAN_GRACE_SECONDS, new_upload_path, upload_path
from tests.factories import UserFactory

runs_imports = pytest.mark.django_db(transaction=True, databases=["default", "progress"])
JSONL = b"".join(b'{"id": "r%d", "prompt": "Say %d", "response": "%d"}\n' % (n, n, n) for n in range(3000))


def queued_import(project, user, data: bytes = JSONL) -> Job:
    return import_start(project=project, created_by=user, upload=SimpleUploadedFile("d.jsonl", data), enqueue=False)


def running(job: Job, *, attempts: int = 1, heartbeat_age: float = 0) -> Job:
    beat = timezone.now() - timedelta(seconds=heartbeat_age)
    Job.objects.filter(pk=job.pk).update(status="running", attempts=attempts, heartbeat_at=beat, started_at=beat)
    job.refresh_from_db()
    return job


# Visibility follows the role a user holds now.


@pytest.mark.django_db
def test_it_shows_a_job_to_the_projects_managers_and_staff(project, cast, staff):
    job = Job.objects.create(kind="import", project=project, created_by=cast["reviewer"])

    assert list(Job.objects.visible_to(cast["manager"])) == [job]
    assert list(Job.objects.visible_to(staff)) == [job]


@pytest.mark.django_db
def test_it_shows_a_job_to_its_starter_only_while_they_are_a_member(project, cast):
    job = Job.objects.create(kind="import", project=project, created_by=cast["reviewer"])
    assert list(Job.objects.visible_to(cast["reviewer"])) == [job]

    Membership.objects.filter(user=cast["reviewer"], project=project).delete()

    assert list(Job.objects.visible_to(cast["reviewer"])) == []


@pytest.mark.django_db
def test_it_stops_showing_every_project_job_to_a_manager_who_is_demoted(project, cast):
    job = Job.objects.create(kind="import", project=project, created_by=cast["annotator"])
    Membership.objects.filter(user=cast["manager"], project=project).update(role="annotator")

    assert list(Job.objects.visible_to(cast["manager"])) == []
    assert list(Job.objects.visible_to(cast["annotator"])) == [job]


@pytest.mark.django_db
def test_it_shows_no_job_to_outsiders_or_anonymous_visitors(project, cast):
    Job.objects.create(kind="import", project=project, created_by=cast["manager"])

    assert not Job.objects.visible_to(cast["outsider"]).exists()
    assert not Job.objects.visible_to(mock.Mock(is_authenticated=False)).exists()


# Cancelling.


@pytest.mark.django_db
def test_it_cancels_a_queued_job_and_removes_its_upload(project, cast):
    job = queued_import(project, cast["manager"])
    path = upload_path(job)

    job_cancel(job=job)

    job.refresh_from_db()
    assert (job.status, job.stage, job.finished_at is not None) == ("cancelled", "", True)
    assert not path.exists()


@pytest.mark.django_db
def test_it_refuses_to_cancel_a_finished_job(project, cast):
    job = Job.objects.create(kind="import", project=project, created_by=cast["manager"])
    job.succeed({"imported": 1})

    with pytest.raises(JobFinishedError, match="has already finished \\(succeeded\\)"):
        job_cancel(job=job)
    job.refresh_from_db()
    assert job.status == "succeeded"


@runs_imports
def test_it_does_not_run_a_job_cancelled_before_a_worker_took_it(project, cast):
    job = queued_import(project, cast["manager"])
    job_cancel(job=job)

    run_import(job.pk)

    job.refresh_from_db()
    assert (job.status, Example.objects.count()) == ("cancelled", 0)


@runs_imports
def test_it_rolls_back_an_import_cancelled_while_it_writes(project, cast, monkeypatch, import_dirs):
    job = queued_import(project, cast["manager"], JSONL * 20)
    monkeypatch.setattr(import_checks, "PROGRESS_EVERY", 0)
    reports = []
    report_progress = Job.report_progress

    def cancel_on_the_third_report(self, **progress):
        reports.append(progress["stage"])
        if len(reports) == 3:
            # Another request cancels it; it must come through another connection than the import's own.
            Job.objects.using("progress").filter(pk=self.pk).update(status="cancelled")
        return report_progress(self, **progress)

    monkeypatch.setattr(Job, "report_progress", cancel_on_the_third_report)

    run_import(job.pk)

    job.refresh_from_db()
    assert len(reports) >= 3 and set(reports) == {"reading"}
    assert (job.status, Example.objects.count(), WorkItem.objects.count()) == ("cancelled", 0, 0)
    assert [p for p in import_dirs.rglob("*") if p.is_file()] == [upload_path(job)]  # the cancel request removes it


@runs_imports
def test_it_rolls_back_an_import_cancelled_just_before_it_commits(project, cast, monkeypatch):
    job = queued_import(project, cast["manager"])
    stage = import_checks.Reporter.stage

    def cancel_when_committing(self, name, **kwargs):
        stage(self, name, **kwargs)
        if name == "committing":
            Job.objects.using("progress").filter(pk=self.job.pk).update(status="cancelled")

    monkeypatch.setattr(import_checks.Reporter, "stage", cancel_when_committing)

    run_import(job.pk)

    job.refresh_from_db()
    assert (job.status, Example.objects.count(), WorkItem.objects.count()) == ("cancelled", 0, 0)


@runs_imports
def test_it_rolls_back_an_import_reaped_from_under_it_and_keeps_the_file_for_the_retry(project, cast, monkeypatch):
    job = queued_import(project, cast["manager"])
    stage = import_checks.Reporter.stage

    def reaped_meanwhile(self, name, **kwargs):
        if name == "queueing":  # the reaper thought the worker dead, and another worker claimed the job
            Job.objects.using("progress").filter(pk=self.job.pk).update(attempts=2)
        stage(self, name, **kwargs)

    monkeypatch.setattr(import_checks.Reporter, "stage", reaped_meanwhile)

    run_import(job.pk)

    job.refresh_from_db()
    assert (job.status, job.attempts, Example.objects.count()) == ("running", 2, 0)
    assert upload_path(job).exists()


@runs_imports
def test_it_fails_a_job_over_its_time_limit_and_removes_its_upload(project, cast):
    job = queued_import(project, cast["manager"])

    with mock.patch("curation.tasks.import_run", side_effect=SoftTimeLimitExceeded()):
        run_import(job.pk)

    job.refresh_from_db()
    assert job.status == "failed"
    assert "longer than the 6-hour job time limit (WINNOW_JOB_TIME_LIMIT)" in job.error["message"]
    assert not upload_path(job).exists()


@runs_imports
def test_it_keeps_a_cancelled_job_cancelled_when_the_worker_fails_it_afterwards(project, cast):
    job = running(queued_import(project, cast["manager"]))
    job_cancel(job=Job.objects.get(pk=job.pk))

    assert job.fail("too late") is False
    assert Job.objects.get(pk=job.pk).status == "cancelled"


# The heartbeat.


@runs_imports
def test_it_beats_while_the_job_runs_and_stops_when_it_is_no_longer_running(project, cast):
    job = running(queued_import(project, cast["manager"]), heartbeat_age=60)
    before = job.heartbeat_at

    with Heartbeat(job, every=0.05) as heartbeat:
        time.sleep(0.5)
        beaten = Job.objects.get(pk=job.pk).heartbeat_at
        Job.objects.filter(pk=job.pk).update(status="cancelled")
        time.sleep(0.3)
        assert not heartbeat._thread.is_alive()

    assert beaten > before


# Reaping.


@pytest.mark.django_db
def test_it_queues_a_job_whose_worker_stopped_once_more(project, cast, django_capture_on_commit_callbacks, settings):
    job = running(queued_import(project, cast["manager"]), heartbeat_age=settings.WINNOW_JOB_STALE_SECONDS + 5)

    with mock.patch("curation.tasks.run_import.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        report = jobs_reap()

    job.refresh_from_db()
    assert report.retried == [job.pk]
    assert (job.status, job.attempts, job.heartbeat_at) == ("queued", 1, None)
    delay.assert_called_once_with(job.pk)
    assert upload_path(job).exists()


@pytest.mark.django_db
def test_it_fails_a_job_whose_worker_stopped_on_its_retry_too(project, cast, settings):
    job = running(
        queued_import(project, cast["manager"]), attempts=2, heartbeat_age=settings.WINNOW_JOB_STALE_SECONDS + 5
    )

    with mock.patch("curation.tasks.run_import.delay") as delay:
        report = jobs_reap()

    job.refresh_from_db()
    assert report.failed == [job.pk]
    assert job.status == "failed"
    assert "The worker running this job stopped before the job finished, 2 times" in job.error["message"]
    assert "Import the file again" in job.error["message"]
    delay.assert_not_called()
    assert not upload_path(job).exists()


@pytest.mark.django_db
def test_it_leaves_a_job_with_a_recent_heartbeat_alone(project, cast, settings):
    job = running(queued_import(project, cast["manager"]), heartbeat_age=settings.WINNOW_JOB_STALE_SECONDS - 30)

    report = jobs_reap()

    job.refresh_from_db()
    assert (report.retried, report.failed, job.status) == ([], [], "running")


@pytest.mark.django_db
def test_it_reaps_a_job_started_long_ago_that_never_wrote_a_heartbeat(project, cast, settings):
    job = running(
        queued_import(project, cast["manager"]), attempts=2, heartbeat_age=settings.WINNOW_JOB_STALE_SECONDS + 5
    )
    Job.objects.filter(pk=job.pk).update(heartbeat_at=None)

    assert jobs_reap().failed == [job.pk]


@pytest.mark.django_db
def test_it_removes_uploads_no_unfinished_job_needs(project, cast):
    queued = queued_import(project, cast["manager"])
    finished = queued_import(project, cast["manager"])
    Job.objects.filter(pk=finished.pk).update(status="failed")
    old_orphan, young_orphan = new_upload_path(".jsonl"), new_upload_path(".jsonl")
    for path in (old_orphan, young_orphan):
        path.write_bytes(b"{}\n")
    long_ago = time.time() - ORPHAN_GRACE_SECONDS - 60
    os.utime(old_orphan, (long_ago, long_ago))

    removed = uploads_sweep()

    assert sorted(removed) == sorted([upload_path(finished).name, old_orphan.name])
    assert upload_path(queued).exists() and young_orphan.exists()


@pytest.mark.django_db
def test_it_lets_staff_see_a_job_and_creates_it_queued_with_no_attempt(project, staff):
    job = queued_import(project, UserFactory(username="importer", is_staff=True))

    assert (job.status, job.attempts, job.heartbeat_at) == ("queued", 0, None)
    assert list(Job.objects.visible_to(staff)) == [job]


def test_it_removes_temporary_files_of_imports_killed_long_ago(settings, tmp_path):
    directory = settings.DATA_DIR / "tmp"
    directory.mkdir(parents=True)
    old, recent = directory / "import-abc.spool", directory / "import-ids-def.tsv"
    for path in (old, recent):
        path.write_bytes(b"x")
    long_ago = time.time() - settings.CELERY_TASK_TIME_LIMIT - ORPHAN_GRACE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))

    assert temporary_files_sweep() == ["import-abc.spool"]
    assert recent.exists() and not old.exists()


@pytest.mark.django_db
def test_a_figures_job_whose_worker_stopped_twice_says_it_runs_again_when_asked(project, settings):
    from curation.models import Job

    job = Job.objects.create(kind=Job.Kind.AGREEMENT, project=project, params={"figures": "agreement"})
    job = running(job, attempts=2, heartbeat_age=settings.WINNOW_JOB_STALE_SECONDS + 5)

    report = jobs_reap()

    job.refresh_from_db()
    assert report.failed == [job.pk]
    assert "measured again the next time they are asked for" in job.error["message"]
    assert "file" not in job.error["message"]
