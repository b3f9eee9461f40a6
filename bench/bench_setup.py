"""What every bench does first: make sure it measures PostgreSQL and Redis, then set Django up."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
