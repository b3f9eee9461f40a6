"""Inspection statistics on PostgreSQL: how long measuring a version (and a project) of N examples takes, as the
request (or the stats job) measures it, and the process's peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow CELERY_BROKER_URL=redis://127.0.0.1:6379/12 \\
        SECRET_KEY=bench .venv/bin/python bench/stats_bench.py --docs 100000

The corpus is dedup_bench's (English documents of about 100 words, text and instruction shapes, with near and
exact copies), each with a ``source`` and a ``topic``; it is written with one COPY, frozen into a version, and
measured three ways: the version, the version sliced by ``topic``, and the whole project. Everything is deleted at
the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import sys
import threading
import time
from pathlib import Path

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_setup import django_on_postgres
from dedup_bench import make_corpus

SOURCES = ["web", "books", "forum", "code", "wiki"]
TOPICS = ["science", "history", "sports", "cooking", "travel", "music", "law", "health"]


def load(project_id: int, count: int, seed: int) -> None:
    from django.db import connection

    rng = random.Random(seed)
    buffer = io.StringIO()
    for n, record in enumerate(make_corpus(count, seed)):
        text = orjson.dumps(record["content"]).decode()
        metadata = orjson.dumps({"source": rng.choice(SOURCES), "topic": rng.choice(TOPICS)}).decode()
        digest = hashlib.sha256(text.encode()).hexdigest()
        buffer.write(f"{project_id}\td{n}\t{text.replace(chr(92), chr(92) * 2)}\t{metadata}\t{digest}\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            "COPY annotate_example (project_id, external_id, content, metadata, content_hash) FROM STDIN", buffer
        )
        cursor.execute("ANALYZE annotate_example")


class PeakRss:
    """The process's resident memory sampled every 0.1 s while the block runs: its peak above the start."""

    def __enter__(self) -> PeakRss:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.1):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not django_on_postgres("stats_bench", "--docs 100000"):
        return 2

    from annotate.models import Project
    from curation.models import DatasetVersion
    from curation.pipeline import store
    from curation.services.stats import stats_compute
    from curation.steps.filter_text import language_identifier

    project = Project.objects.create(name=f"stats bench {time.time_ns()}")
    try:
        started = time.monotonic()
        load(project.pk, args.docs, args.seed)
        version = DatasetVersion.objects.create(project=project, status="ready", counts={"kept": args.docs})
        store.freeze_all(version.pk, project_id=project.pk, parent=None)
        print(f"loaded {args.docs:,} examples and froze a version in {time.monotonic() - started:.1f} s")
        language_identifier()  # loaded once per process, as in a worker
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for label, subject, slice_key in [
            ("version", version, None),
            ("version by topic", version, "topic"),
            ("project", None, None),
        ]:
            with PeakRss() as rss:
                stats, examples, seconds = stats_compute(project=project, version=subject, slice_key=slice_key)
            size = len(orjson.dumps(stats))
            grown = (rss.peak - rss.start) / 1024**2
            print(
                f"{label:>18}: {examples:,} examples in {seconds:.1f} s ({examples / seconds:,.0f}/s), "
                f"{size:,} bytes of JSON, RSS +{grown:,.0f} MB at most (from {rss.start / 1024**2:,.0f} MB)"
            )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if not args.keep:
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM curation_versionmember WHERE version_id IN "
                    "(SELECT id FROM curation_datasetversion WHERE project_id = %s)",
                    [project.pk],
                )
            project.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
