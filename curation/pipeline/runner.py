"""The pipeline job: runs a version's steps over its input, phase by phase, in chunks that the runner and any
number of helper tasks process in parallel, merges the group steps, and makes the version ready in the
transaction that finishes the job. A run that fails, is cancelled, or whose worker dies leaves no version.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count

from curation.models import DatasetVersion, Job, PipelineChunk, Removal, VersionMember
from curation.pipeline import chunks, store
from curation.pipeline.plan import Plan, compile_plan, validate_steps
from curation.steps.dedup import compared_text

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2


class RunStopped(Exception):
    """The job was cancelled, or taken from this worker: stop, and leave nothing behind."""


def run_context(job: Job, version_id: int) -> chunks.RunContext:
    params = job.params
    assert job.project_id is not None
    return chunks.RunContext(
        job_id=job.pk,
        project_id=job.project_id,
        version_id=version_id,
        parent=params.get("parent"),
        plan=compile_plan(validate_steps(params["steps"])),
    )


def discard_partial(job: Job) -> None:
    """Remove whatever a run of this job left: its unfinished version (with its members and removals) and its
    chunks. Safe to call whatever state the run is in."""
    PipelineChunk.objects.filter(job=job).delete()
    for version in DatasetVersion.objects.filter(job=job, status=DatasetVersion.Status.BUILDING):
        VersionMember.objects.filter(version=version).delete()
        Removal.objects.filter(version=version).delete()
        version.delete()


def _step_name(step: dict[str, Any]) -> str:
    return f"dedup {step['method']}" if step["op"] == "dedup" else step["op"]


class Runner:
    def __init__(self, job: Job):
        self.job = job
        self.params = job.params
        self.started = time.perf_counter()
        self.step_stats: dict[str, dict[str, Any]] = {}

    # Progress -------------------------------------------------------------------------------------------------
    def report(self, *, done: int, total: int, stage: str) -> None:
        if not self.job.report_progress(done=done, total=total, stage=stage[:40], unit="records"):
            raise RunStopped(f"job {self.job.pk} was cancelled or handed to another worker")

    def _stage(self, plan: Plan, phase_index: int) -> str:
        phase = plan.phases[phase_index]
        steps = [part.step for part in phase.record_parts] + ([phase.group.step] if phase.group else [])
        if not steps:
            return "writing_version"
        names = sorted({_step_name(plan.steps[i]) for i in steps}, key=lambda n: n)
        first, last = min(steps) + 1, max(steps) + 1
        where = f"step {first}" if first == last else f"steps {first}-{last}"
        return f"{where} of {len(plan.steps)}: {', '.join(names)}"

    # The run --------------------------------------------------------------------------------------------------
    def run(self) -> None:
        job = self.job
        discard_partial(job)  # an earlier attempt whose worker died
        plan = compile_plan(validate_steps(self.params["steps"]))
        assert job.project_id is not None
        version = DatasetVersion.objects.create(
            project_id=job.project_id,
            parent_id=self.params.get("parent"),
            name=self.params.get("name", ""),
            steps=self.params["steps"],
            trial=self.params.get("sample") is not None,
            sample=self.params.get("sample"),
            seed=self.params.get("seed", 0),
            created_by=job.created_by,
            job=job,
            warnings=plan.warnings,
        )
        try:
            self._build(version, plan)
        except BaseException:
            discard_partial(job)
            raise

    def _build(self, version: DatasetVersion, plan: Plan) -> None:
        job = self.job
        assert job.project_id is not None
        parent = self.params.get("parent")
        workers: set[str] = set()
        chunk_count = 0
        if not plan.steps and self.params.get("sample") is None:
            # A freeze copies the input in one statement, without reading its ids into this process.
            self.report(done=0, total=0, stage="freezing")
            input_count = store.freeze_all(version.pk, project_id=job.project_id, parent=parent)
        else:
            sampling = self.params.get("sample") is not None
            self.report(done=0, total=0, stage="sampling" if sampling else "reading_input")
            ids = store.input_ids(project_id=job.project_id, parent=parent)
            if sampling:
                ids = store.sample_ids(ids, self.params["sample"], self.params.get("seed", 0))
            input_count = len(ids)
            run = chunks.RunContext(
                job_id=job.pk, project_id=job.project_id, version_id=version.pk, parent=parent, plan=plan
            )
            survivors = ids
            for index, phase in enumerate(plan.phases):
                chunk_count += self._run_phase(run, index, survivors)
                workers |= set(
                    PipelineChunk.objects.filter(job=job, phase=index).values_list("worker", flat=True).distinct()
                )
                self._collect_stats(index)
                survivors = np.setdiff1d(survivors, self._removed_ids(version), assume_unique=True)
                if phase.group is not None:
                    survivors = self._merge(run, index, survivors)
        self._finish(version, plan, input_count=input_count, workers=len(workers), chunk_count=chunk_count)

    def _kept(self, version: DatasetVersion) -> int:
        return VersionMember.objects.filter(version=version).count()

    def _removed_ids(self, version: DatasetVersion) -> np.ndarray:
        rows = Removal.objects.filter(version=version).values_list("example_id", flat=True)
        return np.fromiter(rows.iterator(chunk_size=50_000), dtype=np.int64)

    def _run_phase(self, run: chunks.RunContext, index: int, ids: np.ndarray) -> int:
        """Split the phase into chunks, ask helpers to take some, take them too, and wait for all to be done."""
        from curation.tasks import run_pipeline_chunks  # the task module imports this one

        stage = self._stage(run.plan, index)
        count = chunks.split(self.job.pk, index, ids, size=settings.WINNOW_PIPELINE_CHUNK_SIZE)
        helpers = min(count - 1, settings.WINNOW_PIPELINE_HELPERS)
        for _ in range(max(helpers, 0)):
            run_pipeline_chunks.delay(self.job.pk, version_id=run.version_id, phase=index)
        self.report(done=0, total=len(ids), stage=stage)
        while True:
            chunk = chunks.claim(self.job.pk, index)
            if chunk is not None:
                chunks.process(chunk, run)
            else:
                chunks.release_stale(self.job.pk, index, older_than=settings.WINNOW_PIPELINE_CHUNK_STALE_SECONDS)
            done = PipelineChunk.objects.filter(job=self.job, phase=index, status=PipelineChunk.Status.DONE)
            processed = sum(done.values_list("size", flat=True))
            self.report(done=processed, total=len(ids), stage=stage)
            if (
                processed >= len(ids)
                and not PipelineChunk.objects.filter(job=self.job, phase=index)
                .exclude(status=PipelineChunk.Status.DONE)
                .exists()
            ):
                return count
            if chunk is None:
                time.sleep(POLL_SECONDS)

    def _collect_stats(self, index: int) -> None:
        for stats in PipelineChunk.objects.filter(job=self.job, phase=index).values_list("stats", flat=True):
            for step, values in stats.items():
                chunks.add_stats(self.step_stats, int(step), **values)

    def _merge(self, run: chunks.RunContext, index: int, survivors: np.ndarray) -> np.ndarray:
        group = run.plan.phases[index].group
        assert group is not None
        stage = f"merging step {group.step + 1}: {_step_name(run.plan.steps[group.step])}"
        self.report(done=0, total=len(survivors), stage=stage)
        started = time.perf_counter()
        keys = chunks.load_keys(self.job.pk, index)
        replayed = run.plan.replayed_through(index)

        def fetch_texts(ids: np.ndarray) -> dict[int, str]:
            texts: dict[int, str] = {}
            for records in store.read_in_batches(ids, parent=run.parent):
                for record in chunks.replay(records, replayed):
                    texts[record["id"]] = compared_text(record["content"], group.options)
            return texts

        scores: Mapping[int, float] | None = None
        if group.score_question:
            from annotate import gold

            scores = gold.scores(run.project_id, group.score_question)
        # Nothing reached the step (earlier steps removed everything): nothing to compare.
        dropped = group.merge(keys, group.options, fetch_texts, scores) if len(survivors) else []
        with transaction.atomic():
            store.write_removals(run.version_id, group.step, dropped)
        PipelineChunk.objects.filter(job=self.job, phase=index).update(output=None)
        entry = self.step_stats.setdefault(str(group.step), {})
        entry["seconds"] = entry.get("seconds", 0) + time.perf_counter() - started
        entry["merge_seconds"] = round(time.perf_counter() - started, 3)
        entry["group_input"] = len(survivors)
        removed = np.fromiter((item.id for item in dropped), dtype=np.int64, count=len(dropped))
        return np.setdiff1d(survivors, removed)

    def _step_results(self, version: DatasetVersion, plan: Plan, input_count: int) -> list[dict[str, Any]]:
        removed_by_step = Counter(
            dict(
                Removal.objects.filter(version=version).values("step").annotate(n=Count("pk")).values_list("step", "n")
            )
        )
        results = []
        remaining = input_count
        for index, step in enumerate(plan.steps):
            stats = self.step_stats.get(str(index), {})
            removed = removed_by_step.get(index, 0)
            results.append(
                {
                    "step": index + 1,
                    "op": step["op"],
                    "name": _step_name(step),
                    "input": remaining,
                    "output": remaining - removed,
                    "removed": removed,
                    "changed": stats.get("changed", 0),
                    "seconds": round(stats.get("seconds", 0.0), 3),
                    "counters": stats.get("counters", {}),
                }
            )
            remaining -= removed
        return results

    def _finish(self, version: DatasetVersion, plan: Plan, *, input_count: int, workers: int, chunk_count: int) -> None:
        self.report(done=input_count, total=input_count, stage="committing")
        kept = input_count if not plan.steps and version.sample is None else self._kept(version)
        removed_by = dict(
            Removal.objects.filter(version=version)
            .values("rule")
            .annotate(n=Count("pk"))
            .order_by("rule")
            .values_list("rule", "n")
        )
        counts = {"input": input_count, "kept": kept, "removed": sum(removed_by.values()), "removed_by": removed_by}
        results = self._step_results(version, plan, input_count)
        seconds = round(time.perf_counter() - self.started, 3)
        with transaction.atomic():
            DatasetVersion.objects.filter(pk=version.pk).update(
                status=DatasetVersion.Status.READY, counts=counts, step_results=results
            )
            result = {
                "version": version.pk,
                "counts": counts,
                "steps": results,
                "warnings": plan.warnings,
                "workers": max(workers, 1),
                "chunks": chunk_count,
                "seconds": seconds,
            }
            if not self.job.succeed(result, progress=(input_count, "records")):
                raise RunStopped(f"job {self.job.pk} was cancelled before it could finish")
        PipelineChunk.objects.filter(job=self.job).delete()


def pipeline_run(*, job: Job) -> None:
    Runner(job).run()


def pipeline_failure(exc: Exception) -> str:
    """What the job's error says about an unexpected failure: the server log has the traceback."""
    return f"The server log has the details ({type(exc).__name__})."


def help_with_chunks(job_id: int, *, version_id: int, phase: int, should_stop: Callable[[], bool]) -> int:
    """A helper task's work: take pending chunks of the phase until none is left; returns how many it ran."""
    job = Job.objects.filter(pk=job_id, kind=Job.Kind.PIPELINE, status=Job.Status.RUNNING).first()
    if job is None or not DatasetVersion.objects.filter(pk=version_id, job=job).exists():
        return 0
    run = run_context(job, version_id)
    ran = 0
    while not should_stop():
        chunk = chunks.claim(job_id, phase)
        if chunk is None:
            return ran
        try:
            chunks.process(chunk, run)
        except chunks.ChunkLost:
            logger.info("job %s: chunk %s was handed to another worker", job_id, chunk.index)
        except Exception:
            # The runner takes the chunk back and, if it fails there too, fails the job with the reason.
            logger.exception("job %s: chunk %s of phase %s failed in a helper", job_id, chunk.index, phase)
            chunks.give_back(chunk)
            return ran
        ran += 1
    return ran
