"""What every bench does first: make sure it measures PostgreSQL, then set Django up."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_on_postgres(script: str, example_args: str) -> bool:
    """Set Django up for ``script``; False (having said how to run it) unless DATABASE_URL names PostgreSQL."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print(
            f"{script} measures the PostgreSQL path: set DATABASE_URL to a postgres:// URL of a migrated "
            "database (and SECRET_KEY), e.g.\n  DATABASE_URL=postgres://postgres@127.0.0.1:5432/winnow "
            f"SECRET_KEY=bench .venv/bin/python bench/{script}.py {example_args}",
            file=sys.stderr,
        )
        return False
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return True
