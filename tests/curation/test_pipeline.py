"""The curation pipeline's runner: versions made in chunks by any number of workers, all or nothing, never
changing their parent or an example."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import numpy as np
import pytest
from django.db import connections
from django.utils import timezone

from annotate.models import Example, Membership, Resolution
from annotate.services.annotations import annotation_submit
from annotate.services.queue import next_assignment, work_items_create
from curation.models import DatasetVersion, Job, PipelineChunk, Removal, VersionMember
from curation.pipeline import chunks
from curation.pipeline.runner import help_with_chunks
from curation.services.jobs import job_cancel, jobs_reap
from curation.services.versions import VersionRequestError, version_start
from curation.tasks import run_pipeline
from tests.factories import ExampleFactory, UserFactory

runs_jobs = pytest.mark.django_db(transaction=True, databases=["default", "progress"])

STORY = (
    "The old lighthouse keeper climbed the spiral stairs every evening to light the lamp, watching ships pass "
    "through the narrow channel while gulls circled above the rocks and the tide rolled in slowly."
)


def examples(project, contents):
    made = [
        ExampleFactory(project=project, external_id=f"e{n}", content=content, metadata={"source": f"s{n % 2}"})
        for n, content in enumerate(contents)
    ]
    return [example.pk for example in made]


def run(project, user, steps, **options) -> Job:
    """Start a pipeline as the API does, then run its job here (no helpers unless a test adds them)."""
    with mock.patch("curation.tasks.run_pipeline.delay"):
        job = version_start(project=project, created_by=user, steps=steps, **options)
    with mock.patch("curation.tasks.run_pipeline_chunks.delay"):
        run_pipeline(job.pk)
    job.refresh_from_db()
    return job


def version_of(job: Job) -> DatasetVersion:
    assert job.status == "succeeded", job.error
    return DatasetVersion.objects.get(pk=job.result["version"])


def members(version) -> dict[int, dict | None]:
    return dict(VersionMember.objects.filter(version=version).values_list("example_id", "content"))


def removals(version) -> dict[int, tuple[str, dict]]:
    return {r.example_id: (r.rule, r.detail) for r in Removal.objects.filter(version=version)}


def contents(project) -> dict[int, tuple]:
    return {e.pk: (e.content, e.content_hash) for e in Example.objects.filter(project=project)}


MIXED = [
    {"prompt": "Tell me a story.", "response": STORY},
    {"prompt": "Tell me a story.", "response": STORY.upper()},  # an exact duplicate once normalised
    {"prompt": "Hi", "response": "Hello."},  # too short for min_words 5
    {"prompt": "Describe the sea.  ", "response": "Waves roll   \n\n\n\nonto the grey shore all night long."},
    {"prompt": "Name a colour.", "response": "Blue is the colour of the clear summer sky."},
]


@runs_jobs
def test_a_version_with_no_steps_freezes_every_example(project, manager):
    ids = examples(project, MIXED)

    job = run(project, manager, [])

    version = version_of(job)
    assert version.status == "ready" and version.trial is False and version.parent is None
    assert members(version) == dict.fromkeys(ids)  # nothing cleaned: no content stored
    assert version.counts == {"input": 5, "kept": 5, "removed": 0, "removed_by": {}}
    assert job.result["version"] == version.pk
    assert not PipelineChunk.objects.exists()


@runs_jobs
def test_steps_record_what_they_removed_and_why_and_store_cleaned_content(project, manager):
    ids = examples(project, MIXED)
    before = contents(project)
    steps = [
        {"op": "clean", "rules": ["normalize_whitespace"]},
        {"op": "filter", "rules": [{"name": "min_words", "field": "response", "value": 5}]},
        {"op": "dedup", "method": "exact"},
    ]

    version = version_of(run(project, manager, steps, name="first pass"))

    removed = removals(version)
    assert set(removed) == {ids[1], ids[2]}
    assert removed[ids[2]][0] == "filter.min_words"
    assert removed[ids[1]] == ("dedup.exact", {"duplicate_of": ids[0], "similarity": 1.0})
    kept = members(version)
    assert set(kept) == {ids[0], ids[3], ids[4]}
    # Only the example whose whitespace changed has content of its own; the others read the example's.
    assert kept[ids[0]] is None and kept[ids[4]] is None
    assert kept[ids[3]]["response"] == "Waves roll\n\nonto the grey shore all night long."
    assert kept[ids[3]]["prompt"] == "Describe the sea."
    assert version.counts == {
        "input": 5,
        "kept": 3,
        "removed": 2,
        "removed_by": {"dedup.exact": 1, "filter.min_words": 1},
    }
    assert [(s["name"], s["input"], s["output"], s["removed"]) for s in version.step_results] == [
        ("clean", 5, 5, 0),
        ("filter", 5, 4, 1),
        ("dedup exact", 4, 3, 1),
    ]
    assert version.step_results[0]["changed"] == 1
    assert all(s["seconds"] >= 0 for s in version.step_results)
    assert contents(project) == before  # raw data is immutable


@runs_jobs
def test_a_child_version_starts_from_its_parents_members_and_content_and_leaves_the_parent_alone(project, manager):
    ids = examples(project, MIXED)
    parent = version_of(run(project, manager, [{"op": "clean", "rules": ["normalize_whitespace"]}]))
    parent_rows = members(parent)

    child = version_of(
        run(project, manager, [{"op": "filter", "rules": [{"name": "min_words", "value": 5}]}], parent=parent.pk)
    )
    frozen = version_of(run(project, manager, [], parent=child.pk))

    assert child.parent_id == parent.pk and frozen.parent_id == child.pk
    assert set(members(child)) == set(ids) - {ids[2]}
    # The cleaned content travels down the lineage, with and without steps.
    assert members(child)[ids[3]] == parent_rows[ids[3]] == members(frozen)[ids[3]]
    assert members(parent) == parent_rows
    assert [v.pk for v in frozen.lineage()] == [frozen.pk, child.pk, parent.pk]


@runs_jobs
def test_a_trial_runs_on_a_seeded_sample(project, manager):
    examples(project, [{"text": f"document number {n} about nothing in particular"} for n in range(40)])

    first = version_of(run(project, manager, [], sample=10, seed=7))
    again = version_of(run(project, manager, [], sample=10, seed=7))
    other = version_of(run(project, manager, [], sample=10, seed=8))

    assert first.trial and first.sample == 10 and first.counts["input"] == 10
    assert set(members(first)) == set(members(again))
    assert set(members(first)) != set(members(other))


@runs_jobs
def test_a_failing_step_leaves_no_version_and_says_so(project, manager):
    examples(project, MIXED)

    with mock.patch("curation.steps.filters.apply", side_effect=RuntimeError("boom")), pytest.raises(RuntimeError):
        run(project, manager, [{"op": "filter", "rules": [{"name": "empty"}]}])

    job = Job.objects.get(kind="pipeline")
    assert job.status == "failed" and "no version was made" in job.error["message"]
    assert not DatasetVersion.objects.exists()
    assert not VersionMember.objects.exists() and not Removal.objects.exists()
    assert not PipelineChunk.objects.exists()


@runs_jobs
def test_a_run_cancelled_midway_leaves_no_version(project, manager, settings):
    settings.WINNOW_PIPELINE_CHUNK_SIZE = 2
    examples(project, MIXED)
    real_process = chunks.process
    calls = []

    def cancel_after_the_first_chunk(chunk, run_context):
        real_process(chunk, run_context)
        calls.append(chunk.index)
        if len(calls) == 1:
            job_cancel(job=Job.objects.get(pk=run_context.job_id))

    with mock.patch("curation.pipeline.chunks.process", side_effect=cancel_after_the_first_chunk):
        job = run(project, manager, [{"op": "filter", "rules": [{"name": "empty"}]}])

    assert job.status == "cancelled"
    assert calls == [0]  # it stopped at the next progress report
    assert not DatasetVersion.objects.exists() and not VersionMember.objects.exists()
    assert not PipelineChunk.objects.exists()


def _half_done_run(project, manager):
    """The state a worker killed midway through a run leaves: its job running with an old heartbeat, a version
    being built with some members, chunks done and one claimed."""
    with mock.patch("curation.tasks.run_pipeline.delay"):
        job = version_start(project=project, created_by=manager, steps=[{"op": "filter", "rules": [{"name": "empty"}]}])
    old = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(status="running", attempts=1, started_at=old, heartbeat_at=old)
    version = DatasetVersion.objects.create(project=project, job=job, steps=job.params["steps"])
    first = Example.objects.filter(project=project).order_by("pk").first()
    VersionMember.objects.create(version=version, example=first)
    ids = np.array(sorted(Example.objects.filter(project=project).values_list("pk", flat=True)), dtype=np.int64)
    chunks.split(job.pk, 0, ids, size=2)
    PipelineChunk.objects.filter(job=job, index=0).update(status="done")
    PipelineChunk.objects.filter(job=job, index=1).update(status="running", claimed_at=old, worker="dead:1")
    return Job.objects.get(pk=job.pk)


@runs_jobs
def test_a_run_whose_worker_died_is_retried_from_scratch_and_makes_one_version(project, manager):
    ids = examples(project, MIXED)
    job = _half_done_run(project, manager)

    with mock.patch("curation.tasks.run_pipeline.delay") as delay:
        report = jobs_reap()
    assert report.retried == [job.pk] and delay.call_count == 1
    with mock.patch("curation.tasks.run_pipeline_chunks.delay"):
        run_pipeline(job.pk)

    job.refresh_from_db()
    version = version_of(job)
    assert DatasetVersion.objects.get() == version  # the dead attempt's version is gone
    assert set(members(version)) == set(ids)


@runs_jobs
def test_a_run_whose_worker_died_twice_fails_and_leaves_no_version(project, manager):
    examples(project, MIXED)
    job = _half_done_run(project, manager)
    Job.objects.filter(pk=job.pk).update(attempts=2)

    report = jobs_reap()

    job.refresh_from_db()
    assert report.failed == [job.pk] and job.status == "failed"
    assert "no version was made" in job.error["message"]
    assert not DatasetVersion.objects.exists() and not VersionMember.objects.exists()
    assert not PipelineChunk.objects.exists()


MANY = [
    {"prompt": f"Question {n % 7}?", "response": (STORY if n % 3 == 0 else f"Reply {n} " + "word " * (n % 5))}
    for n in range(30)
]
CHUNKY_STEPS = [
    {"op": "clean", "rules": ["normalize_whitespace", "strip_special_tokens"]},
    {"op": "filter", "rules": [{"name": "min_words", "field": "response", "value": 3}]},
    {"op": "dedup", "method": "exact"},
    {"op": "pii", "action": "redact"},
    {"op": "dedup", "method": "minhash", "threshold": 0.7, "ngram": 2},
]


def _run_with_helpers(project, manager, steps, *, helpers: int) -> Job:
    """Run a job while ``helpers`` threads act as other workers taking its chunks (each with its own database
    connection, as another machine would have)."""
    with mock.patch("curation.tasks.run_pipeline.delay"):
        job = version_start(project=project, created_by=manager, steps=steps)
    threads = []

    def helper(job_id, *, version_id, phase):
        def work():
            try:
                help_with_chunks(job_id, version_id=version_id, phase=phase, should_stop=lambda: False)
            finally:
                connections.close_all()

        thread = threading.Thread(target=work)
        thread.start()
        threads.append(thread)

    with mock.patch("curation.tasks.run_pipeline_chunks.delay", side_effect=helper) as delay:
        run_pipeline(job.pk)
    for thread in threads:
        thread.join(30)
    assert delay.call_count >= helpers
    job.refresh_from_db()
    return job


@runs_jobs
def test_the_chunked_path_makes_the_same_version_as_one_worker(project, manager, settings):
    examples(project, MANY)
    settings.WINNOW_PIPELINE_CHUNK_SIZE = 1000
    single = version_of(run(project, manager, CHUNKY_STEPS))
    settings.WINNOW_PIPELINE_CHUNK_SIZE = 4
    settings.WINNOW_PIPELINE_HELPERS = 3
    job = _run_with_helpers(project, manager, CHUNKY_STEPS, helpers=3)
    chunked = version_of(job)

    assert members(chunked) == members(single)
    assert removals(chunked) == removals(single)
    assert chunked.counts == single.counts and chunked.counts["removed"] > 0
    assert job.result["chunks"] > 3 and job.result["workers"] >= 1


@runs_jobs
def test_a_chunk_whose_worker_went_silent_is_handed_out_again_and_its_late_result_refused(project, manager):
    examples(project, MIXED)
    with mock.patch("curation.tasks.run_pipeline.delay"):
        job = version_start(project=project, created_by=manager, steps=[{"op": "filter", "rules": [{"name": "empty"}]}])
    Job.objects.filter(pk=job.pk).update(status="running")
    version = DatasetVersion.objects.create(project=project, job=job, steps=job.params["steps"])
    ids = np.array(sorted(Example.objects.filter(project=project).values_list("pk", flat=True)), dtype=np.int64)
    chunks.split(job.pk, 0, ids, size=10)
    from curation.pipeline.runner import run_context

    slow = chunks.claim(job.pk, 0)
    PipelineChunk.objects.filter(pk=slow.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert chunks.release_stale(job.pk, 0, older_than=60) == 1
    taken_over = chunks.claim(job.pk, 0)
    chunks.process(taken_over, run_context(job, version.pk))

    with pytest.raises(chunks.ChunkLost):
        chunks.process(slow, run_context(job, version.pk))
    assert VersionMember.objects.filter(version=version).count() == len(ids)  # written once


@runs_jobs
def test_it_warns_when_a_costly_step_runs_before_a_cheap_one_that_would_shrink_its_input(project, manager):
    examples(project, MIXED)
    steps = [
        {"op": "dedup", "method": "minhash"},
        {"op": "filter", "rules": [{"name": "min_words", "value": 3}]},
    ]

    job = run(project, manager, steps)

    version = version_of(job)
    assert len(version.warnings) == 1 and "Step 1 (dedup minhash)" in version.warnings[0]
    assert job.result["warnings"] == version.warnings
    assert run(project, manager, list(reversed(steps))).result["warnings"] == []


@runs_jobs
def test_a_filter_on_labels_keeps_examples_whose_settled_answer_meets_the_condition(project, manager):
    project.overlap = 2
    project.save()
    project.questions.filter(name="topic").update(required=False)
    ids = examples(project, MIXED[:3])
    work_items_create(project=project)
    raters = [UserFactory(username=f"rater-{n}") for n in range(2)]
    for user in raters:
        Membership.objects.create(user=user, project=project, role="annotator")
    given = {}
    for scores in ([5, 5], [2, 3]):
        for user, score in zip(raters, scores, strict=True):
            held = next_assignment(project=project, annotator=user)
            annotation_submit(project=project, annotator=user, example_id=held.example_id, answers={"quality": score})
            given.setdefault(held.example_id, []).append(score)
    unanimous_five = next(e for e, s in given.items() if s == [5, 5])
    split = next(e for e, s in given.items() if s == [2, 3])
    Resolution.objects.create(
        project=project, example_id=split, question=project.questions.get(name="quality"), value=4, method="reviewer"
    )
    steps = [{"op": "filter", "rules": [{"name": "label", "question": "quality", "op": ">=", "value": 4}]}]

    version = version_of(run(project, manager, steps))

    assert set(members(version)) == {unanimous_five, split}  # the resolution (4) wins over the labels (2, 3)
    unlabelled = (set(ids) - set(given)).pop()
    assert removals(version)[unlabelled][0] == "filter.label"


@runs_jobs
def test_decontamination_drops_examples_that_share_a_long_ngram_with_the_eval_version(project, manager, cast):
    ids = examples(project, MIXED)
    evaluation = version_of(run(project, manager, [], sample=1, seed=0))
    eval_id = next(iter(members(evaluation)))

    version = version_of(run(project, manager, [{"op": "decontaminate", "against": evaluation.pk, "ngram": 8}]))

    removed = removals(version)
    assert eval_id in removed
    assert removed[eval_id][1]["eval_example"] == eval_id
    if eval_id in (ids[0], ids[1]):  # the story and its upper-cased copy share every n-gram
        assert {ids[0], ids[1]} <= set(removed)


# Bad requests make nothing.


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("steps", "option", "words"),
    [
        ([{"op": "shuffle"}], "op", "unknown op"),
        ([{"op": "dedup", "method": "minhash", "threshold": 2}], "threshold", "threshold"),
        ([{"op": "filter", "rules": [{"name": "nonsense"}]}], "rules[0].name", "min_words"),
        ("dedup", None, "must be a list"),
        ([{"op": "dedup", "method": "minhash"}, {"op": "dedup", "method": "semantic"}][1:], "method", "minhash"),
    ],
)
def test_bad_steps_are_refused_naming_the_step_and_option(project, manager, steps, option, words):
    with pytest.raises(VersionRequestError) as refused:
        version_start(project=project, created_by=manager, steps=steps)

    assert words in refused.value.message
    assert refused.value.details.get("option") == option
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_parent_or_eval_version_of_a_project_one_cannot_manage_is_no_such_version(project, manager):
    from tests.factories import ProjectFactory

    elsewhere = DatasetVersion.objects.create(project=ProjectFactory(), status="ready")
    building = DatasetVersion.objects.create(project=project, status="building")
    for bad in ({"parent": elsewhere.pk}, {"parent": building.pk}, {"parent": "1"}):
        with pytest.raises(VersionRequestError, match="No such version|version id"):
            version_start(project=project, created_by=manager, steps=[], **bad)
    with pytest.raises(VersionRequestError, match="against: No such version"):
        version_start(project=project, created_by=manager, steps=[{"op": "decontaminate", "against": elsewhere.pk}])


@runs_jobs
def test_a_group_step_after_everything_was_removed_makes_an_empty_version(project, manager):
    examples(project, MIXED)
    steps = [{"op": "filter", "rules": [{"name": "min_words", "value": 1000}]}, {"op": "dedup", "method": "minhash"}]

    version = version_of(run(project, manager, steps))

    assert members(version) == {}
    assert version.counts["kept"] == 0 and version.counts["removed_by"] == {"filter.min_words": 5}


@runs_jobs
def test_deleting_a_project_deletes_its_versions_members_and_removals(project, manager):
    """Members and removals have no foreign-key constraints in the database (a freeze would lock every example
    row): Django's on_delete must remove them."""
    examples(project, MIXED)
    parent = version_of(run(project, manager, [{"op": "dedup", "method": "exact"}]))
    version_of(run(project, manager, [], parent=parent.pk))
    assert VersionMember.objects.exists() and Removal.objects.exists()

    project.delete()

    assert not DatasetVersion.objects.exists()
    assert not VersionMember.objects.exists() and not Removal.objects.exists()
