"""Export benchmark: a version of a million examples exported over HTTP to JSONL and to Parquet.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow CELERY_BROKER_URL=redis://127.0.0.1:6379/12 \\
        SECRET_KEY=bench \\
        .venv/bin/python bench/export_bench.py --examples 1000000

It builds a bench project with ``--examples`` instruction examples inserted in SQL (next_bench.py's rows, about
1 KB each), freezes a version of all of them (the pipeline's own freeze), and vacuums. Then it starts
``gunicorn config.wsgi`` with one sync worker (DEBUG off) and, as the project's manager with an API token, downloads
``GET /api/v1/versions/{id}/export/?format=messages&file=jsonl`` and then ``…&file=parquet``, reading each
response to the end. For each it prints the rows (the ``X-Winnow-Rows`` header, checked against the lines
received for JSONL), the seconds from request to last byte, rows/s, bytes, the gunicorn worker's peak RSS
(sampled every 50 ms with psutil) against its RSS before the request, and the CPU seconds that the worker,
PostgreSQL, the client and everything else on the machine spent meanwhile (on a busy machine the first two are the
figures to compare between runs). Goals: ≥ 100,000 rows/s to JSONL, RSS growth ≤ 200 MB. ``--keep`` keeps the
project, ``--reuse VERSION`` measures an existing version; otherwise the project is deleted and the tables
vacuumed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_setup  # noqa: E402 - the bench folder is not a package
import next_bench  # noqa: E402

NAME_PREFIX = "export bench"
GOAL_ROWS_PER_SECOND = 100_000
GOAL_RSS_MB = 200
CHUNK = 200_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1_000_000, help="examples in the version (default 1,000,000)")
    parser.add_argument("--keep", action="store_true", help="keep the bench project")
    parser.add_argument("--reuse", type=int, default=None, help="measure this existing version (made by --keep)")
    parser.add_argument("--format", default="messages", help="export format (default messages)")
    return parser.parse_args()


def build(examples: int) -> Any:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotate.services import project_create
    from curation.models import DatasetVersion
    from curation.pipeline.store import freeze_all

    owner = get_user_model().objects.create_user(username=f"exportbench-{uuid.uuid4().hex[:8]}")
    project = project_create(name=f"{NAME_PREFIX} {time.strftime('%Y-%m-%d %H:%M:%S')}", created_by=owner)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(1, examples + 1, CHUNK):
            cursor.execute(next_bench.INSERT_SQL, [project.pk, start, min(start + CHUNK - 1, examples)])
    print(f"  … {examples:,} examples ({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    version = DatasetVersion.objects.create(project=project, created_by=owner, name="bench freeze")
    kept = freeze_all(version.pk, project_id=project.pk, parent=None)
    DatasetVersion.objects.filter(pk=version.pk).update(
        status=DatasetVersion.Status.READY, counts={"input": kept, "kept": kept, "removed": 0, "removed_by": {}}
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) annotate_example, curation_versionmember")
    print(f"  … version {version.pk} frozen ({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    return version


def token_for(version: Any) -> str:
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=version.project.created_by)
    return token.key


def delete(version: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotate.models import Project

    project = version.project
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM curation_versionmember WHERE version_id IN "
            "(SELECT id FROM curation_datasetversion WHERE project_id = %s)",
            [project.pk],
        )
        cursor.execute("DELETE FROM curation_export WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM curation_datasetversion WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM annotate_workitem WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM annotate_example WHERE project_id = %s", [project.pk])
        owner = project.created_by_id
        Project.objects.filter(pk=project.pk).delete()
        get_user_model().objects.filter(pk=owner, username__startswith="exportbench-").delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) annotate_example, annotate_workitem, curation_versionmember")


class PeakRss:
    """The highest RSS of a process, sampled every 50 ms while the block runs."""

    def __init__(self, pid: int):
        import psutil

        self.process = psutil.Process(pid)
        self.before = self.process.memory_info().rss
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


class CpuSeconds:
    """CPU seconds spent while the block runs: by the gunicorn worker, by PostgreSQL's backends on the bench
    database, by this process (the client), and by everything else on the machine. On a shared machine the first
    two are the figures to compare between runs; "else" says how busy the machine was. The backends are sampled
    every 250 ms (more often costs the client a tenth of a core)."""

    def __init__(self, pid: int):
        import psutil

        self.psutil, self.worker = psutil, psutil.Process(pid)
        self.seconds: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.backends.sample()

    def _read(self) -> dict[str, float]:
        worker, client, machine = self.worker.cpu_times(), self.psutil.Process().cpu_times(), self.psutil.cpu_times()
        return {
            "worker": worker.user + worker.system,
            "client": client.user + client.system,
            "machine": machine.user + machine.system + machine.nice,
        }

    def __enter__(self) -> CpuSeconds:
        self.backends = bench_setup.BackendCpu()
        self.before = self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.backends.sample()
        after = self._read()
        self.seconds = {key: after[key] - self.before[key] for key in after}
        self.seconds["postgres"] = self.backends.seconds
        self.seconds["else"] = self.seconds.pop("machine") - sum(self.seconds.values())


def worker_pid(server: subprocess.Popen) -> int:
    import psutil

    for _ in range(100):
        children = psutil.Process(server.pid).children()
        if children:
            return children[0].pid
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def download(port: int, token: str, path: str) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    began = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Token {token}"})
    response = connection.getresponse()
    first_byte = time.perf_counter() - began
    received = lines = 0
    buffer = bytearray(1 << 20)  # read into one buffer: a fresh megabyte per read cost the client seconds of CPU
    view = memoryview(buffer)
    while size := response.readinto(view):
        received += size
        lines += buffer.count(b"\n", 0, size)
    seconds = time.perf_counter() - began
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")
    return {
        "rows": int(response.getheader("X-Winnow-Rows") or 0),
        "skipped": response.getheader("X-Winnow-Skipped"),
        "lines": lines,
        "bytes": received,
        "seconds": seconds,
        "first_byte": first_byte,
    }


def main() -> int:
    args = parse_args()
    if not bench_setup.django_on_postgres("export_bench", "--examples 1000000"):
        return 2

    from curation.models import DatasetVersion

    version = (
        DatasetVersion.objects.select_related("project__created_by").get(pk=args.reuse)
        if args.reuse
        else build(args.examples)
    )
    token = token_for(version)
    port = 8700 + os.getpid() % 200
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        server_args = argparse.Namespace(workers=1, threads=1, worker_class="sync", timeout=3600)
        server = next_bench.start_gunicorn(server_args, port, Path(folder) / "access.log")
        try:
            next_bench.wait_ready(server, port, version.project_id, token)
            pid = worker_pid(server)
            download(port, token, f"/api/v1/versions/{version.pk}/")  # warm the worker up
            for file in ("jsonl", "parquet"):
                with PeakRss(pid) as rss, CpuSeconds(pid) as cpu:
                    figures = download(
                        port, token, f"/api/v1/versions/{version.pk}/export/?format={args.format}&file={file}"
                    )
                figures["cpu"] = cpu.seconds
                figures["rss_before_mb"] = rss.before / 2**20
                figures["rss_growth_mb"] = (rss.peak - rss.before) / 2**20
                results[file] = figures
        finally:
            next_bench.stop_gunicorn(server)
    load = os.getloadavg()[0]
    print(
        f"\nexport of version {version.pk}, format={args.format}, one gunicorn sync worker; "
        f"load {load:.2f} (1 min, 2 CPUs)"
    )
    ok = True
    for file, r in results.items():
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0.0
        print(
            f"{file:8} {r['rows']:>10,} rows  {r['bytes'] / 2**20:8.1f} MB  {r['seconds']:6.2f} s "
            f"(first byte {r['first_byte']:.2f} s)  {rate:>9,.0f} rows/s  RSS {r['rss_before_mb']:.0f} MB "
            f"+ {r['rss_growth_mb']:.0f} MB"
        )
        print("  CPU seconds: " + ", ".join(f"{key} {value:.2f}" for key, value in r["cpu"].items()))
        if file == "jsonl" and r["lines"] != r["rows"]:
            print(f"  ! {r['lines']:,} lines received for {r['rows']:,} rows")
            ok = False
        grows = r["rss_growth_mb"] <= GOAL_RSS_MB
        print(f"  RSS growth ≤ {GOAL_RSS_MB} MB: {'PASS' if grows else 'FAIL'}")
        ok &= grows
        if file == "jsonl":
            fast = rate >= GOAL_ROWS_PER_SECOND
            print(f"  ≥ {GOAL_ROWS_PER_SECOND:,} rows/s: {'PASS' if fast else 'FAIL'}")
            ok &= fast
    if not args.keep and not args.reuse:
        delete(version)
        print("deleted the bench project, and vacuumed")
    elif args.keep:
        print(f"kept: --reuse {version.pk}")
    return 0 if ok else 1


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, interrupted)
    sys.exit(main())
