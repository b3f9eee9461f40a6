"""Review benchmark: the disagreement queue at a million examples with three annotations each.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow CELERY_BROKER_URL=redis://127.0.0.1:6379/12 \\
        SECRET_KEY=bench \\
        .venv/bin/python bench/review_bench.py --examples 1000000

It builds a bench project (overlap 3; questions ``quality``, a 1–5 rating, and ``topic``, a label of three) with
``--examples`` examples inserted in SQL as next_bench.py does (metadata ``{"lang": "en"|"de"|"fr"}``), then three
annotations per example by 30 annotators, answers drawn from a fixed hash of the example (so most examples have
some disagreement, the queue's worst case), all in SQL. The label summaries are then built by the service that the
migration uses (``summaries_rebuild``), timed, and the tables vacuumed.

Then it starts ``gunicorn config.wsgi`` (2 sync workers, DEBUG off) and, as one reviewer with a session cookie
and an API token, requests one at a time (after a warm-up):
- the queue page (HTML), the top page and pages at random depths (``after=`` a random case), unfiltered and
  filtered by annotator and by metadata;
- the review page of random cases (which also finds the previous and next case and the case's position);
- the API's ``disagreements`` page (100 cases), the first page and pages at random depths (cursor of a random case).
It prints p50/p95 of each as the client saw it and as gunicorn measured it (its access log), and checks the goal
(p95 ≤ 100 ms for the queue page, the review page and the API page). ``--keep``/``--reuse PROJECT`` keep and reuse
the project; otherwise it is deleted (and the tables vacuumed) at the end.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bench_setup  # noqa: E402 - the bench folder is not a package
import next_bench  # noqa: E402

NAME_PREFIX = "review bench"
ANNOTATORS = 30
GOAL_MS = 100.0
# Three annotations per example by annotators (7e + 11k) mod 30, distinct for k = 0, 1, 2; answers from a hash.
ANNOTATIONS_SQL = """
INSERT INTO annotate_annotation
    (example_id, project_id, annotator_id, answers, guideline_version, round, submitted_at, duration_ms)
SELECT e.id, e.project_id, (%(users)s::bigint[])[1 + ((e.id * 7 + k * 11) %% 30)],
       jsonb_build_object(
           'quality', 1 + abs(hashint8(e.id * 3 + k)) %% 5,
           'topic', (ARRAY['code', 'math', 'general'])[1 + abs(hashint8(e.id * 5 + k)) %% 3]),
       1, 1, now() - make_interval(secs => (e.id %% 86400)::double precision), 1000 + abs(hashint8(e.id + k)) %% 60000
FROM annotate_example e CROSS JOIN generate_series(0, 2) AS k
WHERE e.project_id = %(project)s AND e.id BETWEEN %(low)s AND %(high)s
"""
CHUNK = 200_000
# next_bench.py's examples, with a language in the metadata to filter by.
EXAMPLES_SQL = next_bench.INSERT_SQL.replace(
    "'{}'::jsonb", "jsonb_build_object('lang', (ARRAY['en', 'de', 'fr'])[1 + g %% 3])"
).replace("'nb-'", "'rb-'")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1_000_000, help="examples in the project (default 1,000,000)")
    parser.add_argument("--samples", type=int, default=200, help="requests measured per kind of page (default 200)")
    parser.add_argument("--reuse", type=int, metavar="PROJECT", help="reuse a project kept by --keep")
    parser.add_argument("--keep", action="store_true", help="keep the bench project for another run")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.workers, args.threads, args.worker_class, args.timeout = 2, 1, "sync", 60
    return args


# --- Set-up -----------------------------------------------------------------------------------------------------


def build(examples: int) -> Any:
    from django.db import connection

    from annotate.services.queue import SHUFFLE_SQL

    project, annotators = bench_setup.labelled_project("reviewbench", NAME_PREFIX, ANNOTATORS)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(1, examples + 1, CHUNK):
            end = min(start + CHUNK - 1, examples)
            cursor.execute(EXAMPLES_SQL, [project.pk, start, end])
    print(f"  … {examples:,} examples ({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    with connection.cursor() as cursor:
        # The project is new, so every example goes in the queue: no anti-join against the work items (which, read
        # while the same statement fills the table, would cost time quadratic in the examples).
        cursor.execute(
            "INSERT INTO annotate_workitem (example_id, project_id, round, target, extra, live, done, open, shuffle) "
            f"SELECT e.id, e.project_id, 1, 3, 0, 0, 0, true, {SHUFFLE_SQL} FROM annotate_example e "
            "WHERE e.project_id = %s",
            [project.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM annotate_example WHERE project_id = %s", [project.pk])
        low, high = cursor.fetchone()
        ids = [u.pk for u in annotators]
        for start in range(low, high + 1, CHUNK):
            cursor.execute(
                ANNOTATIONS_SQL, {"users": ids, "project": project.pk, "low": start, "high": start + CHUNK - 1}
            )
        cursor.execute("ANALYZE annotate_annotation, annotate_workitem")
    print(f"  … {3 * examples:,} annotations ({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    return project


def summarise(project: Any) -> float:
    from django.db import connection

    from annotate.services.summaries import summaries_rebuild

    began = time.perf_counter()
    written = summaries_rebuild(project=project)
    seconds = time.perf_counter() - began
    print(f"  … {written:,} label summaries built in {seconds:.1f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_example")
        cursor.execute("VACUUM (ANALYZE) annotate_workitem, annotate_annotation, annotate_labelsummary")
    return seconds


def reviewer(project: Any) -> tuple[str, str, str]:
    """A reviewer of the project as (username, API token, session cookie value)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from annotate.models import Membership, Role

    user, _ = get_user_model().objects.get_or_create(username=f"reviewbench-p{project.pk}-reviewer")
    Membership.objects.get_or_create(user=user, project=project, defaults={"role": Role.REVIEWER})
    token, _ = Token.objects.get_or_create(user=user)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return user.username, token.key, session.session_key or ""


def delete(project: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotate.models import Project

    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("annotate_labelsummary", "annotate_resolution", "annotate_annotation"):
            cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM annotate_workitem WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM annotate_example WHERE project_id = %s", [project.pk])
        get_user_model().objects.filter(username__startswith=f"reviewbench-p{project.pk}-").delete()
        owner = project.created_by_id
        Project.objects.filter(pk=project.pk).delete()
        get_user_model().objects.filter(pk=owner, username__startswith="reviewbench-owner-").delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) annotate_example, annotate_workitem, annotate_annotation, annotate_labelsummary"
        )


# --- Measuring --------------------------------------------------------------------------------------------------


def sample_positions(project: Any, count: int, rng: random.Random) -> list[tuple[float, int]]:
    """Random cases of the unresolved ``quality`` queue, as (disagreement, example id)."""
    from annotate.models import LabelSummary

    ids = LabelSummary.objects.filter(project=project, question__name="quality", disagreement__gt=0)
    total = ids.count()
    picks = sorted(rng.randrange(total) for _ in range(count))
    ordered = ids.order_by("-disagreement", "example_id").values_list("disagreement", "example_id")
    return [ordered[index] for index in picks]


class Client:
    def __init__(self, port: int, token: str, session: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token, self.session = token, session

    def get(self, path: str, api: bool) -> tuple[int, float, bytes]:
        headers = {"Authorization": f"Token {self.token}"} if api else {"Cookie": f"sessionid={self.session}"}
        began = time.perf_counter()
        self.connection.request("GET", path, headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        return response.status, (time.perf_counter() - began) * 1000, body


def cursor_for(position: tuple[float, int]) -> str:
    import base64

    import orjson

    return base64.urlsafe_b64encode(orjson.dumps({"a": [position[0], position[1]]})).decode()


def requests_to_measure(project: Any, annotator: str, positions: list[tuple[float, int]]) -> dict[str, list[str]]:
    base = f"/projects/{project.pk}/review/"
    api = f"/api/v1/projects/{project.pk}/disagreements/"
    deep = [f"{d!r}_{e}" for d, e in positions]
    return {
        "queue page, top": [f"{base}?question=quality"] * 20,
        "queue page, random depth": [f"{base}?{urlencode({'question': 'quality', 'after': p})}" for p in deep],
        "queue page, by annotator": [
            f"{base}?{urlencode({'question': 'quality', 'annotator': annotator, 'after': p})}" for p in deep
        ],
        "queue page, by metadata": [
            f"{base}?{urlencode({'question': 'quality', 'key': 'lang', 'value': 'de', 'after': p})}" for p in deep
        ],
        "review page": [f"{base}{e}/?question=quality" for _, e in positions],
        "API page, first": [f"{api}?question=quality"] * 20,
        "API page, random depth": [f"{api}?question=quality&cursor={cursor_for(p)}" for p in positions],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def server_times(access_log: Path) -> dict[str, float]:
    """Milliseconds inside a gunicorn worker per request path (with query), from the access log, in order."""
    times: list[float] = []
    for line in access_log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3].isdigit():
            times.append(int(parts[3]) / 1000)
    return {"all": times}  # type: ignore[dict-item]


def main() -> int:
    args = parse_args()
    if not bench_setup.django_on_postgres("review_bench", "--examples 20000"):
        return 2
    from django.db import connections

    from annotate.models import Project

    rng = random.Random(args.seed)
    began = time.perf_counter()
    rebuild_seconds = math.nan
    if args.reuse:
        project = Project.objects.get(pk=args.reuse, name__startswith=NAME_PREFIX)
    else:
        print(f"Building a project of {args.examples:,} examples with 3 annotations each …", file=sys.stderr)
        project = build(args.examples)
    failed = False
    try:
        if not args.reuse:
            rebuild_seconds = summarise(project)
        name, token, session = reviewer(project)
        annotator = f"reviewbench-p{project.pk}-07"
        positions = sample_positions(project, args.samples, rng)
        plan = requests_to_measure(project, annotator, positions)
        setup_seconds = time.perf_counter() - began
        connections.close_all()

        port = next_bench.free_port()
        tmp = tempfile.TemporaryDirectory(prefix="winnow-review-bench-")
        access_log = Path(tmp.name) / "access.log"
        server = next_bench.start_gunicorn(args, port, access_log)
        measured: dict[str, tuple[list[float], list[float]]] = {}
        slowest: list[tuple[float, str]] = []
        try:
            next_bench.wait_ready(server, port, project.pk, token)
            client = Client(port, token, session)
            for paths in plan.values():  # warm-up: each worker's first requests load code and plans
                for path in paths[:5]:
                    client.get(path, api=path.startswith("/api/"))
            for kind, paths in plan.items():
                access_log.write_text("")
                client_ms = []
                for path in paths:
                    status, ms, body = client.get(path, api=path.startswith("/api/"))
                    if status != 200:
                        raise RuntimeError(f"{path} answered {status}: {body[:300]!r}")
                    client_ms.append(ms)
                    slowest.append((ms, path))
                time.sleep(0.2)  # let gunicorn flush its access log
                measured[kind] = (client_ms, server_times(access_log)["all"])
        finally:
            next_bench.stop_gunicorn(server)
            tmp.cleanup()

        print()
        print(f"Review bench: project {project.pk}, {args.examples:,} examples × 3 annotations, 2 questions")
        if not math.isnan(rebuild_seconds):
            print(f"  label summaries rebuilt from scratch in {rebuild_seconds:.1f} s")
        print(f"  set-up {setup_seconds:.0f} s; load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        print(f"  {'request':28} {'client p50':>11} {'p95':>8} {'server p50':>11} {'p95':>8}   n")
        for kind, (client_ms, server_ms) in measured.items():
            print(
                f"  {kind:28} {percentile(client_ms, 0.5):9.1f}ms {percentile(client_ms, 0.95):6.1f}ms"
                f" {percentile(server_ms, 0.5):9.1f}ms {percentile(server_ms, 0.95):6.1f}ms   {len(client_ms)}"
            )
        print("  slowest requests:")
        for ms, path in sorted(slowest, reverse=True)[:3]:
            print(f"    {ms:8.1f} ms  {path}")
        goal_kinds = ("queue page, top", "queue page, random depth", "review page", "API page, first")
        goal_kinds += ("API page, random depth",)
        for kind in goal_kinds:
            p95 = percentile(measured[kind][0], 0.95)
            ok = p95 <= GOAL_MS
            failed |= not ok
            print(f"  {'PASS' if ok else 'FAIL'}: {kind} p95 {p95:.1f} ms ≤ {GOAL_MS:.0f} ms")
    finally:
        if args.keep:
            print(f"kept project {project.pk}: rerun with --reuse {project.pk}")
        else:
            delete(project)
    return 1 if failed else 0


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, interrupted)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
