"""Make sure the PostgreSQL and Redis that DATABASE_URL and CELERY_BROKER_URL name can be reached.

With --start, a local server that is installed but stopped is started. Otherwise, or when that fails, it says
exactly what is missing and how to point Winnow at a server, and exits non-zero.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

import psycopg2
import redis

LOCAL = {"localhost", "127.0.0.1", "::1", ""}


def postgres_ok(url: str) -> str | None:
    parts = urlparse(url)
    try:
        # Connect to the maintenance database: the test run creates its own database.
        psycopg2.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg2.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


def redis_ok(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


def start_postgres() -> None:
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if versions and shutil.which("pg_ctlcluster"):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False)


def start_redis() -> None:
    if shutil.which("redis-server"):
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", ""],
            check=False,
            stdout=subprocess.DEVNULL,
        )


def ensure(name: str, url: str, check, start, hint: str, may_start: bool) -> bool:
    problem = check(url)
    if problem and may_start and (urlparse(url).hostname or "") in LOCAL:
        print(f"==> {name} is not reachable at {url}; trying to start the local server")
        start()
        for _ in range(20):
            time.sleep(0.5)
            problem = check(url)
            if not problem:
                break
    if problem:
        print(f"\n{name} is not reachable at {url}:\n  {problem}\n{hint}\n", file=sys.stderr)
        return False
    print(f"==> {name} OK ({url.split('@')[-1]})")
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", action="store_true", help="start local servers that are installed but stopped")
    args = parser.parse_args()
    database_url = os.environ["DATABASE_URL"]
    broker_url = os.environ["CELERY_BROKER_URL"]
    ok = ensure(
        "PostgreSQL",
        database_url,
        postgres_ok,
        start_postgres,
        "Install and start PostgreSQL (Debian: apt-get install postgresql), or point the tests at a server:\n"
        "  DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/winnow scripts/test\n"
        "The user needs the right to create databases (the tests make their own).",
        args.start,
    )
    ok &= ensure(
        "Redis",
        broker_url,
        redis_ok,
        start_redis,
        "Install and start Redis (Debian: apt-get install redis-server), or point the tests at a server:\n"
        "  CELERY_BROKER_URL=redis://HOST:6379/15 scripts/test",
        args.start,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
