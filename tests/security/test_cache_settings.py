"""The cache that holds the sign-in counts is shared by every web process: Redis when there is one, files under
the data directory in the embedded mode (config/settings.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps({k: str(v) for k, v in settings.CACHES['default'].items()}))"
)


def cache_settings(tmp_path: Path, **env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "WINNOW_CACHE_URL"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "WINNOW_DATA_DIR": str(tmp_path / "data"), **env})
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=clean, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_keeps_the_cache_in_files_under_the_data_directory_when_embedded(tmp_path):
    cache = cache_settings(tmp_path)

    assert cache["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert cache["LOCATION"] == str(tmp_path / "data" / "cache")


def test_it_uses_the_redis_broker_for_the_cache(tmp_path):
    cache = cache_settings(
        tmp_path, DATABASE_URL="postgres://u:p@db/w", CELERY_BROKER_URL="redis://r:6379/2", SECRET_KEY="k" * 50
    )

    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://r:6379/2"


def test_it_prefers_an_explicit_cache_url(tmp_path):
    cache = cache_settings(tmp_path, CELERY_BROKER_URL="redis://r:6379/2", WINNOW_CACHE_URL="redis://c:6379/5")

    assert cache["LOCATION"] == "redis://c:6379/5"
