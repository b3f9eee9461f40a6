"""Settings come from the environment; these start a fresh interpreter so each case reads its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG, len(s.SECRET_KEY))"
)


def run_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG"}
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "WINNOW_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=clean, capture_output=True, text=True)


def test_it_runs_embedded_with_no_configuration(tmp_path):
    result = run_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    engine, broker, debug, key_length = result.stdout.split()
    assert (engine, broker, debug) == ("django.db.backends.sqlite3", "filesystem://", "False")
    assert int(key_length) >= 50
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_it_keeps_the_generated_secret_key_across_starts(tmp_path):
    run_settings(tmp_path)
    first = (tmp_path / "data" / "secret_key").read_text()
    run_settings(tmp_path)
    assert (tmp_path / "data" / "secret_key").read_text() == first


def test_it_switches_to_postgres_and_redis_from_urls(tmp_path):
    result = run_settings(
        tmp_path, DATABASE_URL="postgres://u:p@db:5432/w", CELERY_BROKER_URL="redis://r:6379/0", SECRET_KEY="k" * 50
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["django.db.backends.postgresql", "redis://r:6379/0"]


def test_it_stops_with_a_clear_error_when_production_has_no_secret_key(tmp_path):
    result = run_settings(tmp_path, DATABASE_URL="postgres://u:p@db:5432/w")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_a_database_url_that_is_not_postgres(tmp_path):
    result = run_settings(tmp_path, DATABASE_URL="mysql://u:p@db/w", SECRET_KEY="k" * 50)
    assert result.returncode != 0
    assert "DATABASE_URL must be a postgres:// URL" in result.stderr


def test_it_names_a_debug_value_it_cannot_read(tmp_path):
    result = run_settings(tmp_path, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr
