"""Serving inspection statistics: measured in the request and stored for small versions and projects, by a job
for large ones (at most one per version and slice), never half-stored; a project's measured again once its
number of examples changed; the query's parameters checked."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from curation.models import DatasetVersion, Job, Removal, VersionMember, VersionStats
from curation.services import stats as service
from curation.services.jobs import jobs_reap
from curation.services.stats import StatsQuery, StatsRequestError, stats_for, stats_get, stats_query
from curation.tasks import run_stats
from tests.factories import ExampleFactory, ProjectFactory

runs_jobs = pytest.mark.django_db(transaction=True, databases=["default", "progress"])
STORY = "The old keeper climbed the stairs every evening to light the lamp above the grey and restless sea."


@pytest.fixture
def examples(project):
    return [
        ExampleFactory(project=project, content={"text": STORY}, metadata={"topic": "sea"}),
        ExampleFactory(project=project, content={"text": STORY.upper()}, metadata={"topic": "sea"}),
        ExampleFactory(project=project, content={"prompt": "Write a poem", "response": "Moon."}, metadata={}),
    ]


@pytest.fixture
def version(project, examples):
    """A dedup version: the shouted copy removed as a duplicate of the story; the poem's content cleaned."""
    made = DatasetVersion.objects.create(
        project=project,
        status="ready",
        steps=[{"op": "dedup", "method": "exact"}],
        counts={"input": 3, "kept": 2, "removed": 1, "removed_by": {"dedup.exact": 1}},
    )
    VersionMember.objects.create(version=made, example=examples[0])
    VersionMember.objects.create(
        version=made, example=examples[2], content={"prompt": "Write a poem", "response": "The moon."}
    )
    Removal.objects.create(
        version=made, example=examples[1], rule="dedup.exact", step=0, detail={"duplicate_of": examples[0].pk}
    )
    return made


@pytest.mark.django_db
def test_a_small_version_is_measured_in_the_request_and_stored(project, cast, version, examples):
    answer = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"])

    assert answer.job is None and answer.stats is not None
    payload = answer.stats.payload
    assert payload["examples"] == 2 and answer.stats.examples == 2
    assert payload["fields"]["response"]["chars"]["max"] == len("The moon.")  # the version's content
    assert payload["duplicates"]["removed"]["largest"] == [{"size": 2, "kept": examples[0].pk}]
    assert VersionStats.objects.get().version == version and not Job.objects.exists()


@pytest.mark.django_db
def test_stored_version_statistics_are_served_without_measuring_again(project, cast, version):
    first = stats_get(project=project, version=version, slice_key="topic", user=cast["reviewer"]).stats
    with mock.patch.object(service, "stats_compute") as compute:
        again = stats_get(project=project, version=version, slice_key="topic", user=cast["manager"]).stats
    compute.assert_not_called()
    assert again == first and again.slice_key == "topic"
    assert [v["value"] for v in again.payload["slice"]["values"]] == ["(missing)", "sea"]


@pytest.mark.django_db
def test_project_statistics_are_measured_again_once_the_examples_changed(project, cast, examples):
    first = stats_get(project=project, version=None, slice_key=None, user=cast["reviewer"]).stats
    assert first.payload["examples"] == first.examples == 3
    assert first.payload["duplicates"]["exact"]["extra_copies"] == 1
    assert first.payload["duplicates"]["removed"] is None

    with mock.patch.object(service, "stats_compute") as compute:
        stats_get(project=project, version=None, slice_key=None, user=cast["reviewer"])
    compute.assert_not_called()

    ExampleFactory(project=project, content={"text": "Another one"})
    again = stats_get(project=project, version=None, slice_key=None, user=cast["reviewer"]).stats
    assert again.pk == first.pk and again.examples == again.payload["examples"] == 4


@runs_jobs
def test_a_large_version_is_measured_by_one_job_and_then_served(project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    with mock.patch("curation.tasks.run_stats.delay") as delay:
        first = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"])
        second = stats_get(project=project, version=version, slice_key=None, user=cast["manager"])
        sliced = stats_get(project=project, version=version, slice_key="topic", user=cast["manager"])

    assert first.stats is None and first.job is not None
    assert second.job == first.job and sliced.job != first.job  # one job per version and slice
    assert delay.call_count == 2
    assert first.job.kind == "stats" and first.job.params == {"version": version.pk, "slice": ""}
    assert first.job.created_by == cast["reviewer"]

    run_stats(first.job.pk)

    job = Job.objects.get(pk=first.job.pk)
    stored = VersionStats.objects.get(version=version, slice_key="")
    assert job.status == "succeeded" and job.result["stats"] == stored.pk and job.result["examples"] == 2
    assert job.progress_done == job.progress_total == 2 and job.progress_unit == "examples"
    assert stored.job == job and stored.payload["examples"] == 2
    served = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"])
    assert served.job is None and served.stats == stored


@runs_jobs
def test_a_stats_job_run_twice_measures_once(project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    with mock.patch("curation.tasks.run_stats.delay"):
        job = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"]).job
    run_stats(job.pk)
    with mock.patch.object(service, "stats_compute") as compute:
        run_stats(job.pk)
    compute.assert_not_called()
    assert VersionStats.objects.count() == 1


@runs_jobs
def test_a_cancelled_stats_job_stores_nothing(project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    with mock.patch("curation.tasks.run_stats.delay"):
        job = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"]).job
    measure = service.inspection.StatsAccumulator.add

    def cancel_then_measure(self, records):
        Job.objects.filter(pk=job.pk).update(status="cancelled")
        return measure(self, records)

    with mock.patch.object(service.inspection.StatsAccumulator, "add", cancel_then_measure):
        run_stats(job.pk)

    assert Job.objects.get(pk=job.pk).status == "cancelled"
    assert not VersionStats.objects.exists()


@runs_jobs
def test_a_stats_job_cancelled_while_storing_stores_nothing(project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    with mock.patch("curation.tasks.run_stats.delay"):
        job = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"]).job

    def cancelled(self, *args, **kwargs):
        Job.objects.filter(pk=self.pk).update(status="cancelled")
        return False

    with mock.patch.object(Job, "succeed", cancelled):
        run_stats(job.pk)
    assert not VersionStats.objects.exists()


@runs_jobs
def test_a_stats_job_that_crashes_fails_with_a_message_and_stores_nothing(project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    with mock.patch("curation.tasks.run_stats.delay"):
        job = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"]).job
    with (
        mock.patch.object(service.inspection.StatsAccumulator, "finish", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        run_stats(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "nothing was stored" in job.error["message"]
    assert not VersionStats.objects.exists()


@runs_jobs
def test_a_stats_job_whose_worker_died_is_run_again(project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    with mock.patch("curation.tasks.run_stats.delay"):
        job = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"]).job
    long_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=long_ago, started_at=long_ago)
    with mock.patch("curation.tasks.run_stats.delay") as delay:
        report = jobs_reap()
    assert report.retried == [job.pk]
    delay.assert_called_once_with(job.pk)


@pytest.mark.django_db
def test_stats_for_compares_with_another_version_and_gives_coverage(project, cast, version):
    parent_query = StatsQuery(compare=version, coverage_key="topic", targets={"sea": 0.9})
    everything = stats_for(project=project, version=None, query=parent_query, user=cast["reviewer"])

    assert everything.pending == []
    assert everything.comparison["examples"] == {"this": 3, "other": 2, "change": 1}
    assert everything.coverage["rows"] == [{"value": "sea", "target": 0.9, "count": 2, "share": 0.6667, "gap": -0.2333}]


@runs_jobs
def test_stats_for_waits_for_every_job_it_needs(project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    with mock.patch("curation.tasks.run_stats.delay"):
        result = stats_for(project=project, version=None, query=StatsQuery(compare=version), user=cast["reviewer"])
    assert result.stats is None and result.compared is None
    assert [job.params["version"] for job in result.pending] == [None, version.pk]


# The query ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "param", "words"),
    [
        ({"slice": "1"}, "slice", "not a metadata key"),
        ({"slice": "x" * 101}, "slice", "not a metadata key"),
        ({"compare": "abc"}, "compare", "version id"),
        ({"coverage": "topic", "target.sea": "1.5"}, "target.sea", "from 0 to 1"),
        ({"coverage": "topic", "target.sea": "-0.1"}, "target.sea", "from 0 to 1"),
        ({"coverage": "topic", "target.sea": "nan"}, "target.sea", "from 0 to 1"),
        ({"coverage": "topic", "target.sea": "lots"}, "target.sea", "from 0 to 1"),
        ({"coverage": "topic", "target.sea": "0.7", "target.land": "0.4"}, "target", "more than 1"),
        ({"coverage": "topic", "target.": "0.1"}, "target.", "name a metadata value"),
        ({"target.sea": "0.5"}, "coverage", "metadata key"),
        ({"coverage": "topic"}, "target", "at least one"),
    ],
)
def test_a_bad_parameter_is_named(project, params, param, words):
    with pytest.raises(StatsRequestError) as caught:
        stats_query(params, project=project)
    assert caught.value.param == param and words in caught.value.message
    assert caught.value.code == "invalid"


@pytest.mark.django_db
def test_a_version_of_another_project_is_no_version_to_compare_with(project, version):
    elsewhere = DatasetVersion.objects.create(project=ProjectFactory(), status="ready")
    building = DatasetVersion.objects.create(project=project, status="building")
    for other in (elsewhere.pk, building.pk, 10**9):
        with pytest.raises(StatsRequestError) as caught:
            stats_query({"compare": str(other)}, project=project)
        assert caught.value.code == "not_found" and caught.value.param == "compare"
    assert stats_query({"compare": str(version.pk)}, project=project).compare == version


@pytest.mark.django_db
def test_a_good_query_is_read_in_full(project, version):
    query = stats_query(
        {"slice": "topic", "coverage": "topic", "target.sea": "0.25", "target.a b": "0.75", "page": "2"},
        project=project,
    )
    assert query == StatsQuery(slice_key="topic", coverage_key="topic", targets={"sea": 0.25, "a b": 0.75})


@runs_jobs
def test_a_failed_stats_job_is_not_started_again_for_a_while(project, cast, version, settings):
    settings.WINNOW_STATS_INLINE_MAX = 1
    with mock.patch("curation.tasks.run_stats.delay"):
        job = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"]).job
    job.start()
    job.fail("It broke.")

    with mock.patch("curation.tasks.run_stats.delay") as delay:
        again = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"])
    assert again.job == job and again.job.status == "failed"
    delay.assert_not_called()

    Job.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - timedelta(seconds=service.RETRY_AFTER_SECONDS + 1)
    )
    with mock.patch("curation.tasks.run_stats.delay") as delay:
        later = stats_get(project=project, version=version, slice_key=None, user=cast["reviewer"])
    assert later.job != job and later.job.status == "queued"
    delay.assert_called_once_with(later.job.pk)
