"""The curation pipeline end to end on PostgreSQL, as a job run by real Celery workers: freezing a version of N
documents with no steps, then exact + MinHash dedup and filters over them with 1 and then 2 worker processes.

Used by ``bench/dedup_bench.py --e2e-docs N`` (part 2), which passes its corpus. Prints the times, the ratio of
the two runs, how many workers took part (from the job's result) and the peak RSS of each worker process (sampled
every 0.2 s with psutil, the pool's child processes included). Goals: freeze ≤ 15 s at 1,000,000 documents; the
pipeline at 1,000,000 documents with peak RSS ≤ 2 GB in every worker.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
FREEZE_GOAL_SECONDS = 15.0
RSS_GOAL_BYTES = 2 * 1024**3
STEPS = [
    {"op": "filter", "rules": [{"name": "min_words", "value": 20}, {"name": "gopher_repetition"}]},
    {"op": "dedup", "method": "exact"},
    {"op": "dedup", "method": "minhash"},
]


def _load_corpus(project_id: int, records: list[dict[str, Any]]) -> None:
    """The documents as examples, written with one COPY (the import's own path is measured by import_bench)."""
    from django.db import connection

    buffer = io.StringIO()
    for n, record in enumerate(records):
        text = orjson.dumps(record["content"]).decode()
        digest = hashlib.sha256(text.encode()).hexdigest()
        buffer.write(f"{project_id}\td{n}\t{text.replace(chr(92), chr(92) * 2)}\t{{}}\t{digest}\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            "COPY annotate_example (project_id, external_id, content, metadata, content_hash) FROM STDIN", buffer
        )


def _vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


class Workers:
    """``count`` Celery worker processes (prefork, one child each) on a queue of their own, and their peak RSS."""

    def __init__(self, count: int, queue: str):
        env = {**os.environ, "WINNOW_TASK_QUEUE": queue, "WINNOW_PIPELINE_HELPERS": str(max(count - 1, 0))}
        self.processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-c",
                    "1",
                    "-n",
                    f"bench{i}-{queue}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for i in range(count)
        ]
        self.peak: dict[int, int] = {}

    def sample(self) -> None:
        for process in self.processes:
            try:
                parent = psutil.Process(process.pid)
                for member in [parent, *parent.children(recursive=True)]:
                    self.peak[member.pid] = max(self.peak.get(member.pid, 0), member.memory_info().rss)
            except psutil.Error:
                continue

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _run_job(start: Callable[[], Any], workers: Workers, *, timeout: float) -> Any:
    from curation.models import Job

    job = start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers.sample()
        job = Job.objects.get(pk=job.pk)
        if job.is_finished:
            return job
        time.sleep(0.2)
    raise SystemExit(f"job {job.pk} did not finish in {timeout:.0f} s (status {job.status}, stage {job.stage})")


def _seconds(job: Any) -> float:
    return (job.finished_at - job.started_at).total_seconds()


def run(records: list[dict[str, Any]], *, worker_counts: tuple[int, ...] = (1, 2), timeout: float = 3600) -> bool:
    """Load ``records`` into a fresh project, then measure; True when every goal was met."""
    from django.contrib.auth.models import User

    from annotate.models import Project
    from curation.models import DatasetVersion
    from curation.services.versions import version_start

    user, _ = User.objects.get_or_create(username="bench-pipeline")
    project = Project.objects.create(name=f"pipeline bench {os.getpid()}", created_by=user)
    ok = True
    try:
        started = time.perf_counter()
        _load_corpus(project.pk, records)
        _vacuum("annotate_example")
        print(f"  loaded {len(records):,} examples in {time.perf_counter() - started:.1f} s")
        # The queue this process sends jobs to (WINNOW_TASK_QUEUE): give the bench a Redis database of its own.
        from django.conf import settings

        queue = settings.WINNOW_TASK_QUEUE
        timings: dict[int, float] = {}
        for count in worker_counts:
            workers = Workers(count, queue)
            try:
                if count == worker_counts[0]:
                    freeze = _run_job(lambda: version_start(project=project, created_by=user, steps=[]), workers,
                                      timeout=timeout)  # fmt: skip
                    seconds = _seconds(freeze)
                    met = freeze.status == "succeeded" and seconds <= FREEZE_GOAL_SECONDS
                    ok &= met
                    print(f"  freeze (no steps): {seconds:.1f} s for {len(records):,} examples "
                          f"(goal ≤ {FREEZE_GOAL_SECONDS:.0f} s) {'PASS' if met else 'MISS'}")  # fmt: skip
                job = _run_job(lambda: version_start(project=project, created_by=user, steps=STEPS), workers,
                               timeout=timeout)  # fmt: skip
            finally:
                workers.stop()
            if job.status != "succeeded":
                print(f"  pipeline at {count} worker(s): {job.status}: {job.error}")
                return False
            timings[count] = _seconds(job)
            peak = max(workers.peak.values(), default=0)
            met = peak <= RSS_GOAL_BYTES
            ok &= met
            result = job.result
            print(
                f"  pipeline at {count} worker process(es): {timings[count]:.1f} s, "
                f"{len(records) / timings[count]:,.0f} docs/s; workers that took part: {result['workers']}, "
                f"chunks: {result['chunks']}; peak RSS {peak / 1024**2:,.0f} MB (goal ≤ 2,048 MB) "
                f"{'PASS' if met else 'MISS'}"
            )
            print(f"    counts: {result['counts']}")
            for step in result["steps"]:
                print(f"    step {step['step']} {step['name']}: {step['input']:,} → {step['output']:,} "
                      f"in {step['seconds']:.1f} s (summed over workers)")  # fmt: skip
        if len(timings) == 2:
            one, two = (timings[c] for c in worker_counts)
            print(f"  speed-up from {worker_counts[0]} to {worker_counts[1]} workers: {one / two:.2f}× "
                  "(two cores: the database and the runner's merge share them)")  # fmt: skip
    finally:
        DatasetVersion.objects.filter(project=project).delete()
        project.delete()
        _vacuum("annotate_example", "curation_versionmember", "curation_removal", "curation_pipelinechunk")
    return ok
