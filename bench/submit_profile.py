"""Where one ``next`` and one submit spend their time: queries, in-process CPU, and a cProfile of each.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow CELERY_BROKER_URL=redis://127.0.0.1:6379/12 \\
        SECRET_KEY=bench .venv/bin/python bench/submit_profile.py --examples 3000

Builds a small project (bench_setup.labelled_project: overlap 3, a 1–5 rating and a three-way label) of
``--examples`` examples as next_bench.py builds its own, gives every annotator an API token, and drives
``GET …/next/`` and ``POST …/annotations/`` through Django's whole request path (middleware, DRF, token
authentication) in this process with the test client, annotators taking turns, so that most submits are an
example's second or third label (the ones that refresh its summaries). After a warm-up it prints, for each of the
two requests: the queries of one (count and SQL), the in-process CPU per request (median and p90 of
``--samples``), and the top of a cProfile of ``--samples`` more. ``--rating-only`` asks only the rating, as
next_bench.py does. The project is deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from typing import Any

import bench_setup
import orjson


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--annotators", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=300, help="next+submit pairs before measuring")
    parser.add_argument("--samples", type=int, default=400, help="pairs timed, and as many more profiled")
    parser.add_argument("--top", type=int, default=35, help="profile lines to print (0, without --dump: no profile)")
    parser.add_argument("--rating-only", action="store_true", help="answer (and ask) only the rating question")
    parser.add_argument("--dump", metavar="PREFIX", help="also write the profiles to PREFIX.next.prof, …submit.prof")
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args()


def build(args: argparse.Namespace) -> tuple[Any, list[str]]:
    from django.db import connection, transaction
    from next_bench import INSERT_SQL
    from rest_framework.authtoken.models import Token

    from annotate.models import Question
    from annotate.services.queue import work_items_create

    project, users = bench_setup.labelled_project("subprof", "submit profile", args.annotators)
    if args.rating_only:
        Question.objects.filter(project=project, name="topic").delete()
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, [project.pk, 1, args.examples])
        cursor.execute("ANALYZE annotate_example")
    with transaction.atomic():
        work_items_create(project=project)
    tokens = [Token.objects.create(user=user).key for user in users]
    return project, tokens


class Driver:
    """Annotators taking turns: each gets their example, then answers it."""

    def __init__(self, project: Any, tokens: list[str], rating_only: bool):
        from django.test import Client

        self.base = f"/api/v1/projects/{project.pk}"
        self.clients = [Client(HTTP_AUTHORIZATION=f"Token {token}") for token in tokens]
        self.rating_only = rating_only
        self.turn = 0
        self.rng = random.Random(1)
        self.held: dict[int, int] = {}

    def next(self) -> None:
        index = self.turn % len(self.clients)
        response = self.clients[index].get(f"{self.base}/next/")
        assert response.status_code == 200, (response.status_code, response.content[:200])
        self.held[index] = orjson.loads(response.content)["example"]["id"]

    def submit(self) -> None:
        index = self.turn % len(self.clients)
        answers: dict[str, Any] = {"quality": self.rng.randint(1, 5)}
        if not self.rating_only:
            answers["topic"] = self.rng.choice(["code", "math", "general"])
        body = orjson.dumps({"example": self.held.pop(index), "answers": answers, "duration_ms": 4000})
        response = self.clients[index].post(f"{self.base}/annotations/", body, content_type="application/json")
        assert response.status_code == 201, (response.status_code, response.content[:200])
        self.turn += 1


class Recorder:
    """An execute wrapper noting each query's SQL and wall time (the request_started signal empties
    ``connection.queries``, so CaptureQueriesContext cannot see a test client's queries after the first)."""

    def __init__(self, into: list[tuple[float, str]]):
        self.into = into

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.into.append(((time.perf_counter() - began) * 1000, sql))


def main() -> int:
    args = parse_args()
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")  # the test client's host; DEBUG stays off
    if not bench_setup.django_on_postgres("submit_profile", "--examples 3000"):
        return 2
    from django.db import connection

    project, tokens = build(args)
    try:
        driver = Driver(project, tokens, args.rating_only)
        for _ in range(args.warmup):
            driver.next()
            driver.submit()

        for name in ("next", "submit"):
            if name == "submit":
                driver.next()
            queries: list[tuple[float, str]] = []
            with connection.execute_wrapper(Recorder(queries)):
                driver.next() if name == "next" else driver.submit()
            if name == "next":
                driver.submit()
            print(f"\n== {name}: {len(queries)} queries, {sum(ms for ms, _ in queries):.2f} ms waiting for them")
            for ms, sql in queries:
                print(f"  {ms:6.2f} ms  {sql[:400]}")

        cpu: dict[str, list[float]] = {"next": [], "submit": []}
        for _ in range(args.samples):
            for name, call in (("next", driver.next), ("submit", driver.submit)):
                began = time.process_time()
                call()
                cpu[name].append((time.process_time() - began) * 1000)
        print()
        for name, values in cpu.items():
            ordered = sorted(values)
            print(
                f"CPU {name:7s} median {statistics.median(ordered):5.2f} ms, "
                f"p90 {ordered[int(0.9 * len(ordered))]:5.2f} ms (n={len(ordered)}, in this process)"
            )

        if args.top or args.dump:
            profile(driver, args)
    finally:
        if args.keep:
            print(f"kept project {project.pk}")
        else:
            delete(project)
    return 0


def profile(driver: Driver, args: argparse.Namespace) -> None:
    profiles = {"next": cProfile.Profile(), "submit": cProfile.Profile()}
    for _ in range(args.samples):
        for name, call in (("next", driver.next), ("submit", driver.submit)):
            profiles[name].enable()
            call()
            profiles[name].disable()
    for name, profiled in profiles.items():
        if args.dump:
            profiled.dump_stats(f"{args.dump}.{name}.prof")
        print(f"\n== profile of {args.samples} × {name} (cumulative)")
        pstats.Stats(profiled, stream=sys.stdout).sort_stats("cumulative").print_stats(args.top)
        print(f"\n== profile of {args.samples} × {name} (own time)")
        pstats.Stats(profiled, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)


def delete(project: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("annotate_labelsummary", "annotate_annotation", "annotate_assignment", "annotate_workitem"):
            cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.pk])
        cursor.execute("DELETE FROM annotate_example WHERE project_id = %s", [project.pk])
        get_user_model().objects.filter(username__startswith=f"subprof-p{project.pk}-").delete()
        owner = project.created_by_id
        project.delete()
        get_user_model().objects.filter(pk=owner).delete()
    with connection.cursor() as cursor:  # no dead rows left for the next run's planner to wade through
        cursor.execute(
            "VACUUM (ANALYZE) annotate_example, annotate_workitem, annotate_assignment, annotate_annotation, "
            "annotate_labelsummary"
        )


if __name__ == "__main__":
    sys.exit(main())
