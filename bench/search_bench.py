"""Search benchmark: the examples browser, its API and the review queue, searched and filtered at a million examples.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow CELERY_BROKER_URL=redis://127.0.0.1:6379/12 \\
        SECRET_KEY=bench \\
        .venv/bin/python bench/search_bench.py --examples 1000000

It builds a bench project (overlap 3; questions ``quality``, a 1–5 rating, and ``topic``, a label of three) of
``--examples`` examples with text of a realistic spread of words (search_data.py: Zipf-weighted words, known
phrases, every record shape, metadata ``lang`` and ``source``), written with COPY. 30% of the examples get three
annotations by 30 annotators and 5% get one, spread over the project by a hash of the id (annotators do not work
in id order); 1% of the fully labelled ones get a resolution. Then the label summaries are built by
``summaries_rebuild`` and the tables analysed and vacuumed.

Then it starts ``gunicorn config.wsgi`` (2 sync workers, DEBUG off) and, as one reviewer, requests one at a time
(after a warm-up) the examples page, the examples API (100 a page) and the review queue page, each searched for a
common word, a rare word and a phrase, and combined with filters (shape, metadata, status, answer, disagreement),
at the first page and at a page deep in the results (``after=`` a random example). It prints p50/p95 as the
client saw them and as gunicorn measured them, the slowest requests, and PASS/FAIL against the goal (p95 ≤ 300 ms
for every kind). ``--keep``/``--reuse PROJECT`` keep and reuse the project; otherwise it is deleted (and the
tables vacuumed) at the end.
"""

from __future__ import annotations

import argparse
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
import review_bench  # noqa: E402
import search_data  # noqa: E402

NAME_PREFIX = "search bench"
ANNOTATORS = 30
GOAL_MS = 300.0
CHUNK = 200_000
# Three annotations for 30% of the examples and one for 5%, chosen by a hash of the id; answers as review_bench.
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
  AND (abs(hashint8(e.id)) %% 100 < 30 OR (abs(hashint8(e.id)) %% 100 < 35 AND k = 0))
"""
WORK_SQL = """
INSERT INTO annotate_workitem (example_id, project_id, round, target, extra, live, done, open, shuffle)
SELECT e.id, e.project_id, 1, 3, 0, n, n, n < 3, (e.id * 2654435761) %% 2147483647
FROM annotate_example e
CROSS JOIN LATERAL (SELECT CASE WHEN abs(hashint8(e.id)) %% 100 < 30 THEN 3
                                WHEN abs(hashint8(e.id)) %% 100 < 35 THEN 1 ELSE 0 END AS n) AS counts
WHERE e.project_id = %(project)s
"""
ASSIGNMENTS_SQL = """
INSERT INTO annotate_assignment (example_id, project_id, annotator_id, round, status, assigned_at, finished_at)
SELECT example_id, project_id, annotator_id, 1, 'submitted', submitted_at, submitted_at
FROM annotate_annotation WHERE project_id = %(project)s
"""
RESOLUTIONS_SQL = """
INSERT INTO annotate_resolution (example_id, project_id, question_id, value, method, note, resolved_at)
SELECT e.id, e.project_id, %(question)s, '"code"'::jsonb, 'reviewer', '', now()
FROM annotate_example e
WHERE e.project_id = %(project)s AND abs(hashint8(e.id)) %% 100 < 30 AND abs(hashint8(e.id * 13)) %% 100 = 0
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1_000_000, help="examples in the project (default 1,000,000)")
    parser.add_argument("--samples", type=int, default=60, help="requests measured per kind (default 60)")
    parser.add_argument("--reuse", type=int, metavar="PROJECT", help="reuse a project kept by --keep")
    parser.add_argument("--keep", action="store_true", help="keep the bench project for another run")
    parser.add_argument("--build-only", action="store_true", help="build the project, keep it and stop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.workers, args.threads, args.worker_class, args.timeout = 2, 1, "sync", 60
    return args


# --- Set-up -----------------------------------------------------------------------------------------------------


def build(examples: int, seed: int) -> Any:
    from django.db import connection

    project, annotators = bench_setup.labelled_project("searchbench", NAME_PREFIX, ANNOTATORS)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        search_data.copy_examples(cursor.cursor, project.pk, examples, seed)
    print(f"  … {examples:,} examples ({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_example")
    indexed = time.perf_counter()
    index(project, examples)
    print(f"  … search index job ({time.perf_counter() - indexed:.1f} s)", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute(WORK_SQL, {"project": project.pk})
        cursor.execute("SELECT min(id), max(id) FROM annotate_example WHERE project_id = %s", [project.pk])
        low, high = cursor.fetchone()
        ids = [u.pk for u in annotators]
        for start in range(low, high + 1, CHUNK):
            cursor.execute(
                ANNOTATIONS_SQL, {"users": ids, "project": project.pk, "low": start, "high": start + CHUNK - 1}
            )
        cursor.execute(ASSIGNMENTS_SQL, {"project": project.pk})
        topic = project.questions.get(name="topic").pk
        cursor.execute(RESOLUTIONS_SQL, {"project": project.pk, "question": topic})
        cursor.execute("ANALYZE annotate_annotation, annotate_workitem, annotate_assignment, annotate_resolution")
    print(f"  … annotations ({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    return project


def index(project: Any, examples: int) -> None:
    """Index the examples for search as an import's index job does (curation/services/search_index.py), here."""
    from curation.models import Job
    from curation.services.search_index import search_index_run

    bounds = project.examples.order_by("pk").values_list("pk", flat=True)
    ranges = [[bounds.first(), bounds.last()]]
    job = Job.objects.create(
        kind=Job.Kind.SEARCH_INDEX, project=project, params={"ranges": ranges, "examples": examples}
    )
    job.start()
    search_index_run(job=job)


def delete(project: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotate.models import Project

    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("annotate_labelsummary", "annotate_resolution", "annotate_assignment", "annotate_annotation"):
            cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM annotate_workitem WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM annotate_examplesearch WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM annotate_example WHERE project_id = %s", [project.pk])
        get_user_model().objects.filter(username__startswith=f"searchbench-p{project.pk}-").delete()
        owner = project.created_by_id
        Project.objects.filter(pk=project.pk).delete()
        get_user_model().objects.filter(pk=owner, username__startswith="searchbench-owner-").delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) annotate_example, annotate_workitem, annotate_assignment, annotate_annotation, "
            "annotate_resolution, annotate_labelsummary, annotate_examplesearch"
        )


def reviewer(project: Any) -> tuple[str, str]:
    """A reviewer of the project as (API token, session cookie value)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from annotate.models import Membership, Role

    user, _ = get_user_model().objects.get_or_create(username=f"searchbench-p{project.pk}-reviewer")
    Membership.objects.get_or_create(user=user, project=project, defaults={"role": Role.REVIEWER})
    token, _ = Token.objects.get_or_create(user=user)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return token.key, session.session_key or ""


# --- Measuring --------------------------------------------------------------------------------------------------

WORDS = search_data.vocabulary()
COMMON = "from"  # a function word: in about half the examples
MIDDLE = WORDS[3000]  # in a few percent
RARE = WORDS[-1]  # in about a hundred examples of a million
PHRASE = '"as an AI language model"'  # in 2%, its words nowhere else


def cursor_for(example_id: int) -> str:
    import base64

    import orjson

    return base64.urlsafe_b64encode(orjson.dumps({"a": example_id})).decode()


def requests_to_measure(project: Any, samples: int, rng: random.Random) -> dict[str, list[str]]:
    from annotate.models import Example

    ids = Example.objects.for_project(project).order_by("pk").values_list("pk", flat=True)
    low, high = ids.first(), ids.last()
    depths = [rng.randint(low, high) for _ in range(samples)]
    page = f"/projects/{project.pk}/examples/"
    api = f"/api/v1/projects/{project.pk}/examples/"
    queue = f"/projects/{project.pk}/review/"
    searches = {
        "no filter": {},
        "common word": {"q": COMMON},
        "middling word": {"q": MIDDLE},
        "rare word": {"q": RARE},
        "phrase": {"q": PHRASE},
        "word + filters": {"q": COMMON, "key": "lang", "value": "de", "status": "complete"},
        "phrase + filter": {"q": PHRASE, "shape": "instruction"},
        "filters only": {"status": "resolved", "key": "lang", "value": "fr"},
        "answer + disagreement": {"question": "topic", "answer": "general", "disagreement": "0.5"},
    }
    plan: dict[str, list[str]] = {}
    for name, params in searches.items():
        plan[f"page: {name}"] = [f"{page}?{urlencode(params)}"] * 5 + [
            f"{page}?{urlencode({**params, 'after': d})}" for d in depths[: samples - 5]
        ]
    api_searches = {
        "common word": {"q": COMMON},
        "rare word": {"q": RARE},
        "phrase": {"q": PHRASE},
        "word + filters": {"q": COMMON, "metadata.lang": "de", "status": "complete", "answer.topic": "math"},
    }
    for name, params in api_searches.items():
        plan[f"API: {name}"] = [f"{api}?{urlencode(params)}"] * 5 + [
            f"{api}?{urlencode({**params, 'cursor': cursor_for(d)})}" for d in depths[: samples - 5]
        ]
    queue_searches = {
        "common word": {"question": "topic", "q": COMMON},
        "phrase": {"question": "topic", "q": PHRASE},
        "word + min 0.5": {"question": "quality", "q": MIDDLE, "min": "0.5", "show": "all"},
    }
    for name, params in queue_searches.items():
        plan[f"queue: {name}"] = [f"{queue}?{urlencode(params)}"] * samples
    return plan


def main() -> int:
    args = parse_args()
    if not bench_setup.django_on_postgres("search_bench", "--examples 200000"):
        return 2
    from django.db import connection, connections

    from annotate.models import Project

    rng = random.Random(args.seed)
    began = time.perf_counter()
    if args.reuse:
        project = Project.objects.get(pk=args.reuse, name__startswith=NAME_PREFIX)
    else:
        print(f"Building a project of {args.examples:,} examples …", file=sys.stderr)
        project = build(args.examples, args.seed)
        review_bench.summarise(project)
        with connection.cursor() as cursor:
            cursor.execute(
                "VACUUM (ANALYZE) annotate_example, annotate_resolution, annotate_assignment, annotate_examplesearch"
            )
    if args.build_only:
        print(f"kept project {project.pk}: measure it with --reuse {project.pk}")
        return 0
    failed = False
    try:
        token, session = reviewer(project)
        plan = requests_to_measure(project, args.samples, rng)
        examples = project.examples.count()
        setup_seconds = time.perf_counter() - began
        connections.close_all()

        port = next_bench.free_port()
        tmp = tempfile.TemporaryDirectory(prefix="winnow-search-bench-")
        access_log = Path(tmp.name) / "access.log"
        load_before = os.getloadavg()[0]
        server = next_bench.start_gunicorn(args, port, access_log)
        measured: dict[str, tuple[list[float], list[float]]] = {}
        slowest: list[tuple[float, str]] = []
        try:
            next_bench.wait_ready(server, port, project.pk, token)
            client = review_bench.Client(port, token, session)
            for paths in plan.values():  # warm-up: each worker's first requests load code and plans
                for path in paths[:3]:
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
                measured[kind] = (client_ms, review_bench.server_times(access_log)["all"])
        finally:
            next_bench.stop_gunicorn(server)
            tmp.cleanup()

        percentile = review_bench.percentile
        print()
        print(f"Search bench: project {project.pk}, {examples:,} examples; words: common {COMMON!r}, middling")
        print(f"  {MIDDLE!r}, rare {RARE!r}, phrase {PHRASE}")
        print(f"  set-up {setup_seconds:.0f} s; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
        print(f"  {'request':34} {'client p50':>11} {'p95':>8} {'server p50':>11} {'p95':>8}   n")
        for kind, (client_ms, server_ms) in measured.items():
            print(
                f"  {kind:34} {percentile(client_ms, 0.5):9.1f}ms {percentile(client_ms, 0.95):6.1f}ms"
                f" {percentile(server_ms, 0.5):9.1f}ms {percentile(server_ms, 0.95):6.1f}ms   {len(client_ms)}"
            )
        print("  slowest requests:")
        for ms, path in sorted(slowest, reverse=True)[:5]:
            print(f"    {ms:8.1f} ms  {path}")
        for kind, (client_ms, _) in measured.items():
            p95 = percentile(client_ms, 0.95)
            ok = p95 <= GOAL_MS
            failed |= not ok
            print(f"  {'PASS' if ok else 'FAIL'}: {kind} p95 {p95:.1f} ms ≤ {GOAL_MS:.0f} ms")
    finally:
        if args.keep or args.reuse:
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
