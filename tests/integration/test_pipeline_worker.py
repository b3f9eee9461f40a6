"""The curation pipeline on real Celery worker processes: several workers share a run's chunks, and a worker
killed midway leaves no half-made version (the run starts again and makes exactly one)."""

from __future__ import annotations

import pytest

from annotate.models import Example
from curation.models import DatasetVersion, Job, PipelineChunk, VersionMember
from tests.conftest import api_client_for
from tests.factories import ExampleFactory
from tests.integration.test_worker import JOB_SECONDS, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, databases=["default", "progress"])]

STEPS = [
    {"op": "clean", "rules": ["normalize_whitespace"]},
    {"op": "filter", "rules": [{"name": "min_words", "field": "response", "value": 3}]},
    {"op": "dedup", "method": "exact"},
    {"op": "dedup", "method": "minhash", "threshold": 0.7, "ngram": 2},
]


def corpus(project, count: int) -> None:
    """Examples where every fifth is too short for the filter and every seventh (not fifth) repeats one text."""

    def content(n: int) -> dict:
        if n % 5 == 0:
            return {"prompt": f"Question {n}?", "response": "ok"}
        if n % 7 == 0:
            return {"prompt": "The same question?", "response": "The same answer, given in several words"}
        return {"prompt": f"Question {n}?", "response": f"An answer about topic {n} in several words"}

    Example.objects.bulk_create(
        ExampleFactory.build(project=project, external_id=f"c{n}", content=content(n)) for n in range(count)
    )


def post_version(client, project, steps=STEPS) -> int:
    response = client.post(f"/api/v1/projects/{project.pk}/versions/", {"steps": steps}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["job"]["id"]


def running_a_phase(job: Job) -> bool:
    return job.status == "running" and job.stage.startswith("step") and job.progress_done > 0


def test_two_workers_share_the_chunks_of_a_run(cast, project, start_worker, monkeypatch):
    monkeypatch.setenv("WINNOW_PIPELINE_CHUNK_SIZE", "40")
    workers = [start_worker(), start_worker()]
    corpus(project, 600)

    job = wait_for(post_version(api_client_for(cast["manager"]), project), workers[0], timeout=JOB_SECONDS * 2)

    assert job.status == "succeeded", job.error
    version = DatasetVersion.objects.get(pk=job.result["version"])
    assert version.counts["input"] == 600 and version.counts["removed_by"]["filter.min_words"] == 120
    assert version.counts["kept"] == VersionMember.objects.filter(version=version).count() < 480
    assert job.result["chunks"] >= 15 and 1 <= job.result["workers"] <= 2
    assert not PipelineChunk.objects.exists()


def test_a_run_whose_worker_process_is_killed_starts_again_and_makes_one_version(
    cast, project, start_worker, monkeypatch
):
    monkeypatch.setenv("WINNOW_PIPELINE_CHUNK_SIZE", "200")
    monkeypatch.setenv("WINNOW_PIPELINE_HELPERS", "0")
    worker = start_worker()
    corpus(project, 20_000)
    steps = [{"op": "filter", "rules": [{"name": "gopher_repetition", "field": "response"}]}, *STEPS]
    job_id = post_version(api_client_for(cast["manager"]), project, steps)
    wait_for(job_id, worker, until=running_a_phase, timeout=JOB_SECONDS * 2)

    worker.kill_pool_process()
    job = wait_for(job_id, worker, timeout=JOB_SECONDS * 4)

    assert (job.status, job.attempts) == ("succeeded", 2), job.error
    assert list(DatasetVersion.objects.values_list("pk", "status")) == [(job.result["version"], "ready")]
    assert VersionMember.objects.filter(version_id=job.result["version"]).count() == job.result["counts"]["kept"]
    assert not PipelineChunk.objects.exists()
