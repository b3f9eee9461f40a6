"""Import benchmark: time a large JSONL import end to end on PostgreSQL, and the peak memory of the job.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow CELERY_BROKER_URL=redis://127.0.0.1:6379/12 \\
        SECRET_KEY=bench \\
        .venv/bin/python bench/import_bench.py --records 1000000 --churn 1000000

It writes N instruction records of realistic length (prompts of 20–200 words, responses of 50–400, from a word
list and a seeded RNG) to a temporary JSONL file, streaming. Then it takes the path a real upload takes:
``import_start(upload=...)`` stores the file and creates the Job, and the job runs in a separate process the way
the Celery worker runs it (``curation.tasks.run_import(job_id)``): every stage, from reading the file to the
commit, including the annotation queue's rows and the look for duplicates. The peak RSS reported is that
process's; the seconds per stage come from the job's result; the CPU seconds of the job's process and of the
PostgreSQL backends serving it say what the work cost, whatever else the machine was doing. Then it runs the
search index job the import queued (``curation.tasks.run_search_index``) the same way, and prints its time apart:
the import is done, and its examples are in the annotation queue, before they are searchable. ``--no-index``
leaves it out.

``--churn N`` first inserts N examples into a scratch project, ANALYZEs, and deletes them without a VACUUM, so
the import runs against a table with dead rows and statistics that are wrong, as after a large delete on a
server without autovacuum. ``--again`` then imports the same records a second time (new ids, same content,
``on_duplicate=skip``) into the now full project, to time the duplicates check at that size.
Everything the bench creates is deleted and vacuumed afterwards unless ``--keep`` is given.

Disk: the file exists twice at once (the generated file and the stored upload),
about 2 KB per record each.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import bench_setup
import orjson

ROOT = Path(__file__).resolve().parent.parent
# Common English words, most frequent first; drawn with Zipf-like weights so the text has a realistic spread.
WORD_TEXT = """
the of and to a in is that for it as was with be by on not he this are or his from at which but have an they
you were her she there been one all we their has would when if so what can more no other into some could them
time only than its new two may first also after any these how people made most over did such our use where
well way work then even through back years much because each good long just those own system data model
example question answer training value number part general right between high small large set state point
both under however same another world different following information group important given problem since
process result case order line form first level include end during change without again find place learn
language write answer code function return list string file user test input output error method class type
simple clear short step first second next result explain describe compare reason check consider provide
response prompt task instruction context assistant helpful correct wrong better best quality review label
dataset version filter clean remove duplicate score rating example annotator guideline agree measure
"""
WORDS = WORD_TEXT.split()
TOPICS = ("code", "math", "writing", "knowledge", "safety")
POOL_SIZE = 1_000_003  # a prime, so record slices rarely line up with each other
# The child's own peak is VmHWM, its memory's high-water mark: ru_maxrss would also count the memory of this
# process, which the child's inherited at the fork (Linux carries it over the exec), a floor under every figure.
CHILD = (
    "import os, re, sys, django; django.setup(); from curation.tasks import {task}; {task}(int(sys.argv[1])); "
    "print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
    "print('CPU_SECONDS', os.times().user + os.times().system)"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="how many records (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the record generator (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the bench project, its examples and its user")
    parser.add_argument("--churn", type=int, default=0, help="insert and delete this many rows first (default 0)")
    parser.add_argument("--again", action="store_true", help="then import the same content again, skipping it")
    parser.add_argument("--tmpdir", default=None, help="where to write the generated file (default: system temp)")
    parser.add_argument("--no-index", action="store_true", help="do not run the search index job after the import")
    args = parser.parse_args()
    if args.records < 1:
        parser.error("--records must be at least 1")
    return args


def word_pool(rng: random.Random) -> list[str]:
    """A long random text as a list of tokens; records are slices of it, which is much faster than drawing each."""
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(WORDS))]
    pool = rng.choices(WORDS, weights=weights, k=POOL_SIZE)
    for index in range(0, POOL_SIZE, 7):
        if rng.random() < 0.5:
            pool[index] += rng.choice((".", ".", ",", "?"))
    return pool


def write_records(path: Path, count: int, seed: int, prefix: str = "bench") -> None:
    rng = random.Random(seed)
    pool = word_pool(rng)

    def text(low: int, high: int) -> str:
        length = rng.randint(low, high)
        start = rng.randrange(POOL_SIZE - length)
        return " ".join(pool[start : start + length]).capitalize()

    with open(path, "wb", buffering=1 << 20) as out:
        batch: list[bytes] = []
        for number in range(count):
            record = {
                "id": f"{prefix}-{number:08d}",
                "prompt": text(20, 200),
                "response": text(50, 400),
                "metadata": {"source": "bench", "language": "en", "topic": TOPICS[number % len(TOPICS)]},
            }
            batch.append(orjson.dumps(record))
            if len(batch) == 1000:
                out.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            out.write(b"\n".join(batch) + b"\n")


def run_job(job_id: int, task: str = "run_import") -> tuple[int, float, float, dict[str, float]]:
    """Run the job in a child process as the worker would; return (exit code, seconds, peak RSS in MB, CPU seconds
    of the job's process and of PostgreSQL)."""
    from curation.models import Job

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings")}
    started = time.perf_counter()
    code = CHILD.format(task=task)
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(job_id)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    shown = ""
    backends = bench_setup.BackendCpu()
    while True:
        try:
            child.wait(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            backends.sample()
        job = Job.objects.get(pk=job_id)
        line = f"{job.stage or job.status} {job.percent if job.percent is not None else '?'}%"
        if line != shown and time.perf_counter() - started > 2:
            print(f"  … {time.perf_counter() - started:6.1f} s  {line}", file=sys.stderr)
            shown = line
    seconds = time.perf_counter() - started
    output = child.stdout.read() if child.stdout else ""
    # The job's process reports its own peak (Linux: KB), so two jobs in a row are measured apart.
    peaks = [int(line.split()[1]) for line in output.splitlines() if line.startswith("PEAK_RSS_KB ")]
    cpu = [float(line.split()[1]) for line in output.splitlines() if line.startswith("CPU_SECONDS ")]
    used = {"job": cpu[0] if cpu else float("nan"), "postgres": backends.seconds}
    return child.returncode, seconds, (peaks[0] / 1024 if peaks else float("nan")), used


CHURN_SQL = """
INSERT INTO annotate_example (project_id, external_id, content, metadata, content_hash)
SELECT %s, 'churn-' || n, jsonb_build_object('text', repeat('churn ', 280)), '{}', md5(n::text)
FROM generate_series(1, %s) n
"""


def churn(count: int, user: object) -> None:
    """Leave the examples table as a large delete on a server without autovacuum does: dead rows, and
    statistics that count rows no longer there."""
    from django.db import connection

    from annotate.services import project_create

    scratch = project_create(name=f"import bench churn {time.strftime('%H:%M:%S')}", created_by=user)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(CHURN_SQL, [scratch.pk, count])
        cursor.execute("ANALYZE annotate_example")
        cursor.execute("DELETE FROM annotate_example WHERE project_id = %s", [scratch.pk])
    scratch.delete()
    print(f"churn          {count:,} rows inserted, analyzed and deleted in {time.perf_counter() - began:.1f} s")


def measure(args: argparse.Namespace, project: object, user: object, prefix: str, on_duplicate: str) -> tuple:
    """Generate the file, store it as an upload, run the job; print and return what happened."""
    from django.core.files import File

    from curation.models import Job
    from curation.services.imports import import_start

    with tempfile.TemporaryDirectory(prefix="winnow-bench-", dir=args.tmpdir) as tmp:
        path = Path(tmp) / "bench.jsonl"
        print(f"Generating {args.records:,} records into {path} …", file=sys.stderr)
        began = time.perf_counter()
        write_records(path, args.records, args.seed, prefix)
        generated = time.perf_counter() - began
        size = path.stat().st_size
        began = time.perf_counter()
        with open(path, "rb") as handle:
            # enqueue=False: this script runs the job itself, below, instead of leaving it to a worker.
            upload = File(handle, name="bench.jsonl")
            job = import_start(
                project=project, created_by=user, upload=upload, on_duplicate=on_duplicate, enqueue=False
            )
        stored = time.perf_counter() - began
        # The generated file is no longer needed: import_start copied it, as it copies an upload.
        path.unlink()

    load_before = os.getloadavg()
    writes = bench_setup.ServerWrites()
    code, seconds, peak_mb, cpu = run_job(job.pk)
    wal_bytes, checkpoints = writes.since()
    load_after = os.getloadavg()
    job = Job.objects.get(pk=job.pk)
    result = job.result or {}
    job_seconds = (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else None

    print()
    print(f"import         {prefix!r}, on_duplicate={on_duplicate}")
    print(f"file           {size / 1e6:,.1f} MB ({size / args.records:,.0f} bytes a record)")
    print(f"records        {args.records:,} generated in {generated:.1f} s; {result.get('imported', 0):,} imported")
    if result.get("duplicates"):
        print(f"duplicates     {result['duplicates']['total']:,} already in the project")
    print(f"store upload   {stored:.2f} s (import_start: copy the file, create the job)")
    job_note = f"; the job row says {job_seconds:.1f} s from start to finish" if job_seconds is not None else ""
    print(f"run job        {seconds:.2f} s (a new process, as the worker runs it, start-up included{job_note})")
    spent = result.get("seconds") or {}
    for stage in ("reading", "checking_duplicates", "queueing", "committing"):
        if stage in spent:
            print(f"  {stage:<21}{spent[stage]:7.2f} s")
    print(
        f"records/s      {args.records / seconds:,.0f} (the job's process), "
        f"{args.records / (stored + seconds):,.0f} (with storing the upload)"
    )
    print(f"MB/s           {size / 1e6 / seconds:,.1f}")
    print(f"peak RSS       {peak_mb:,.1f} MB (the job's process)")
    print(f"CPU seconds    job's process {cpu['job']:.1f}, PostgreSQL {cpu['postgres']:.1f} (sampled every 0.25 s)")
    print(
        f"server writes  {wal_bytes / 1e9:,.2f} GB of WAL, {checkpoints} checkpoint(s) started"
        " (the whole PostgreSQL server's, during the job)"
    )
    print(f"load average   {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min; {os.cpu_count()} CPUs)")
    print(f"job status     {job.status}" + (f": {job.error.get('message')}" if job.error else ""))
    if code != 0:
        print(f"job process    exited with status {code}")
    if result.get("search_index_job") and not args.no_index:
        code = max(code, index(result["search_index_job"]))
    return job, code


def index(job_id: int) -> int:
    """Run the search index job the import queued, in a child process as the worker would, and print its figures
    (not part of the import's time: the examples are imported, and annotated, before they are searchable)."""
    from curation.models import Job

    load_before = os.getloadavg()
    code, seconds, peak_mb, cpu = run_job(job_id, "run_search_index")
    load_after = os.getloadavg()
    job = Job.objects.get(pk=job_id)
    result = job.result or {}
    print(f"search index   {seconds:.2f} s for {result.get('written', 0):,} examples (its process, start-up included)")
    print(f"  peak RSS     {peak_mb:,.1f} MB; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"  CPU seconds  job's process {cpu['job']:.1f}, PostgreSQL {cpu['postgres']:.1f}")
    print(f"index job      {job.status}" + (f": {job.error.get('message')}" if job.error else ""))
    return code if job.status == Job.Status.SUCCEEDED else max(code, 1)


def main() -> int:
    args = parse_args()
    if not bench_setup.django_on_postgres("import_bench", "--records 20000"):
        return 2
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotate.models import Project
    from annotate.services import project_create
    from curation.models import Job

    user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:8]}")
    if args.churn:
        churn(args.churn, user)
    project = project_create(name=f"import bench {time.strftime('%Y-%m-%d %H:%M:%S')}", created_by=user)
    jobs = [measure(args, project, user, "bench", "keep")]
    if args.again and jobs[0][0].status == Job.Status.SUCCEEDED:
        jobs.append(measure(args, project, user, "again", "skip"))

    if args.keep:
        print(f"kept project {project.pk} ({project.name!r}) and user {user.username!r}")
    else:
        began = time.perf_counter()
        # A statement per table instead of the ORM's cascade, which would load every example before deleting it.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM annotate_workitem WHERE project_id = %s", [project.pk])
            cursor.execute("DELETE FROM annotate_examplesearch WHERE project_id = %s", [project.pk])
            # Without this, the foreign-key check of each deleted example may scan a million dead queue rows
            # (statistics that say the queue is empty plan it as a sequential scan): hours instead of seconds.
            cursor.execute("VACUUM (ANALYZE) annotate_workitem")
            cursor.execute("DELETE FROM annotate_example WHERE project_id = %s", [project.pk])
        Project.objects.filter(pk=project.pk).delete()
        user.delete()
        with connection.cursor() as cursor:
            # Autovacuum may be off (it is on the development machines): leave no million dead rows behind.
            cursor.execute("VACUUM (ANALYZE) annotate_example, annotate_workitem, annotate_examplesearch, curation_job")
        print(f"deleted the bench project and user, and vacuumed, in {time.perf_counter() - began:.1f} s")
    return 0 if all(job.status == Job.Status.SUCCEEDED and code == 0 for job, code in jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
