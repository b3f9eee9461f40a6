"""What every bench does first: make sure it measures PostgreSQL and Redis, then set Django up."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def django_on_postgres(script: str, example_args: str) -> bool:
    """Set Django up for ``script``; False (having said how to run it) unless DATABASE_URL names PostgreSQL and
    CELERY_BROKER_URL Redis: production's parts (without Redis the cache would be files on disk, and the figures
    would measure that instead)."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) or not os.environ.get(
        "CELERY_BROKER_URL", ""
    ).startswith(("redis://", "rediss://")):
        print(
            f"{script} measures the production path: set DATABASE_URL to a postgres:// URL of a migrated "
            "database, CELERY_BROKER_URL to a redis:// URL (and SECRET_KEY), e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow CELERY_BROKER_URL=redis://127.0.0.1:6379/12 "
            f"SECRET_KEY=bench .venv/bin/python bench/{script}.py {example_args}",
            file=sys.stderr,
        )
        return False
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return True


def labelled_project(tag: str, name_prefix: str, annotators: int) -> tuple[Any, list[Any]]:
    """A bench project (overlap 3; ``quality``, a 1–5 rating, and ``topic``, a label of three) owned by a new
    ``<tag>-owner-…`` user, with ``annotators`` annotators named ``<tag>-p<project>-NN``."""
    import time
    import uuid

    from django.contrib.auth import get_user_model

    from annotate.models import Membership, Role
    from annotate.questions import parse_question
    from annotate.services import project_create

    users = get_user_model()
    owner = users.objects.create_user(username=f"{tag}-owner-{uuid.uuid4().hex[:8]}")
    project = project_create(
        name=f"{name_prefix} {time.strftime('%Y-%m-%d %H:%M:%S')}",
        created_by=owner,
        overlap=3,
        questions=[
            parse_question({"name": "quality", "kind": "rating", "min": 1, "max": 5}),
            parse_question({"name": "topic", "kind": "label", "labels": ["code", "math", "general"]}),
        ],
    )
    made = users.objects.bulk_create(users(username=f"{tag}-p{project.pk}-{n:02d}") for n in range(annotators))
    Membership.objects.bulk_create(Membership(user=u, project=project, role=Role.ANNOTATOR) for u in made)
    return project, made


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving the bench database other than this process's own, sampled
    while a job or a request runs: on a shared machine, CPU seconds compare between runs where wall-clock seconds
    do not. A backend that exits counts with its last sample, so sample every fraction of a second."""

    def __init__(self) -> None:
        import psutil
        from django.db import connection

        self.psutil, self.database = psutil, connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.own = cursor.fetchone()[0]
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.sample(first=True)

    def sample(self, *, first: bool = False) -> None:
        for process in self.psutil.process_iter(["name", "cmdline", "cpu_times"]):
            command = " ".join(process.info["cmdline"] or ())
            if process.info["name"] != "postgres" or process.pid == self.own or f" {self.database} " not in command:
                continue
            cpu = process.info["cpu_times"].user + process.info["cpu_times"].system
            self.first.setdefault(process.pid, cpu if first else 0.0)
            self.last[process.pid] = cpu

    @property
    def seconds(self) -> float:
        return sum(cpu - self.first[pid] for pid, cpu in self.last.items())


class ServerWrites:
    """What the whole PostgreSQL server wrote between two points: WAL bytes and checkpoints started. Both are
    server-wide, so another database's work on the same server counts too; the benches say so."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, checkpoints_timed + checkpoints_req "
                "FROM pg_stat_bgwriter"
            )
            wal, checkpoints = cursor.fetchone()
        return int(wal), int(checkpoints)

    def since(self) -> tuple[int, int]:
        """(WAL bytes, checkpoints) since this meter was made."""
        wal, checkpoints = self._read()
        return wal - self.start[0], checkpoints - self.start[1]
