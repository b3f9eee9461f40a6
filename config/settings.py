"""Winnow's one settings module, read from the environment.

With no configuration at all Winnow runs embedded: SQLite (WAL mode) and a file-system Celery broker under
``data/``, with a secret key generated once and kept there. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to
PostgreSQL and Redis; outside the embedded mode a missing ``SECRET_KEY`` stops the process at start-up.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


DATA_DIR = Path(env_str("WINNOW_DATA_DIR") or BASE_DIR / "data")
DATABASE_URL = env_str("DATABASE_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# Embedded: nothing configured, everything kept under DATA_DIR. Same code path as production otherwise.
EMBEDDED = not DATABASE_URL

DEBUG = env_bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if EMBEDDED:
        # The quickstart needs no configuration: generate a key once and keep it beside the database.
        key_file = DATA_DIR / "secret_key"
        if not key_file.exists():
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        return key_file.read_text().strip()
    if DEBUG:
        return "insecure-debug-only-" + "x" * 40
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random string "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=true for local work."
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if (DEBUG or EMBEDDED) else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SECURE_COOKIES = env_bool("WINNOW_SECURE_COOKIES", default=False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "annotate",
    "curation",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.content_security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the body guards: they look at the signed-in user. They in turn come before CsrfViewMiddleware, which
    # reads form bodies (config/middleware/).
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.body_limit.BodyLimitMiddleware",
    "config.middleware.unstorable_text.UnstorableTextMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _databases() -> dict[str, Mapping[str, object]]:
    if EMBEDDED:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        embedded = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "winnow.sqlite3",
            "OPTIONS": {
                # WAL lets the web server read while the worker writes; IMMEDIATE takes the write lock at BEGIN,
                # so concurrent writers queue up (busy timeout) instead of failing on lock upgrade.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
        return {"default": embedded}
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgres:// URL, not {DATABASE_URL.split(':')[0]}://…")
    default = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
    # A second connection to the same database, used only to report job progress while the job's own
    # connection is inside a long transaction (an import writes all or nothing).
    progress = {**default, "TEST": {"MIRROR": "default"}}
    return {"default": default, "progress": progress}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "annotate:project_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Our own files, and the browser libraries installed from npm (package-lock.json; scripts/run and scripts/test run
# npm ci), served under vendor/ so that the pages load nothing from elsewhere.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist")]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("WINNOW_MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "media/"
# Export jobs write their files (train/eval, fractions, manifest.json) under this directory, one folder per job.
WINNOW_EXPORT_DIR = Path(env_str("WINNOW_EXPORT_DIR") or MEDIA_ROOT / "exports")
# Request body limits (README.md, Configuration; enforced by config/middleware/body_limit.py). Import uploads of
# any size stream to a temporary file; only JSON request bodies are held in memory.
WINNOW_MAX_ANONYMOUS_BODY_BYTES = env_int("WINNOW_MAX_ANONYMOUS_BODY_BYTES", 64 * 1024)
WINNOW_MAX_JSON_BODY_BYTES = env_int("WINNOW_MAX_JSON_BODY_BYTES", 64 * 1024 * 1024)
WINNOW_MAX_UPLOAD_BYTES = env_int("WINNOW_MAX_UPLOAD_BYTES", 100 * 1024**3)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = WINNOW_MAX_JSON_BODY_BYTES

# Failed sign-ins (config/sign_in.py), counted in the cache below so that every web process sees them.
WINNOW_SIGN_IN_FAILURES_PER_USERNAME = env_int("WINNOW_SIGN_IN_FAILURES_PER_USERNAME", 10)
WINNOW_SIGN_IN_FAILURES_PER_ADDRESS = env_int("WINNOW_SIGN_IN_FAILURES_PER_ADDRESS", 50)
WINNOW_SIGN_IN_WINDOW_SECONDS = env_int("WINNOW_SIGN_IN_WINDOW_SECONDS", 15 * 60)
# How many reverse proxies in front of the web server append to X-Forwarded-For (0: use the peer's address).
WINNOW_NUM_PROXIES = env_int("WINNOW_NUM_PROXIES", 0)


def _caches() -> dict[str, dict]:
    """Redis when there is one (WINNOW_CACHE_URL, else a redis:// broker); files under DATA_DIR in the embedded
    mode. Either way the cache is shared by every process on the machine, as the sign-in counts need."""
    url = env_str("WINNOW_CACHE_URL") or (
        CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
    )
    if url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "winnow",
            }
        }
    return {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": DATA_DIR / "cache"}
    }


CACHES = _caches()

# Import limits (documented in README.md).
WINNOW_IMPORT_MAX_RECORD_BYTES = env_int("WINNOW_IMPORT_MAX_RECORD_BYTES", 10_000_000)
WINNOW_IMPORT_MAX_ERRORS_SHOWN = 100
WINNOW_IMPORT_MAX_COLUMNS = env_int("WINNOW_IMPORT_MAX_COLUMNS", 1_000)
WINNOW_IMPORT_MAX_DEPTH = env_int("WINNOW_IMPORT_MAX_DEPTH", 64)
# A compressed upload may expand to at most this many bytes, and at most this many times its compressed size
# (checked once it has expanded past a few megabytes): beyond that it is a decompression bomb, not a dataset.
WINNOW_IMPORT_MAX_DECOMPRESSED_BYTES = env_int("WINNOW_IMPORT_MAX_DECOMPRESSED_BYTES", 20_000_000_000)
WINNOW_IMPORT_MAX_COMPRESSION_RATIO = env_int("WINNOW_IMPORT_MAX_COMPRESSION_RATIO", 100)

# Celery: the database's Job rows are the public handle, so no result backend is kept.
if CELERY_BROKER_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("WINNOW_JOB_TIME_LIMIT", 6 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A message is acknowledged when its task ends, and goes back to the queue if the worker process dies under it;
# tasks claim their Job row, so a second delivery does no harm (curation/tasks.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis hands an unacknowledged message to another worker after this long: longer than any job may run, so a
# long job is not delivered twice while it runs. A job whose worker died is retried by the reaper instead.
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = CELERY_TASK_TIME_LIMIT + 600
# The queue the web server sends jobs to and workers take them from. Two deployments (or two test runs) that
# share a Redis database must use different queues, or each takes the other's jobs.
WINNOW_TASK_QUEUE = env_str("WINNOW_TASK_QUEUE", "celery")
CELERY_TASK_DEFAULT_QUEUE = WINNOW_TASK_QUEUE
CELERY_TASK_ROUTES = ("config.celery.route_task",)
# A running job writes a heartbeat this often; one silent for WINNOW_JOB_STALE_SECONDS is taken for dead and
# retried once, else failed. Every worker looks for such jobs when it starts and every WINNOW_JOB_REAP_SECONDS.
WINNOW_JOB_HEARTBEAT_SECONDS = env_int("WINNOW_JOB_HEARTBEAT_SECONDS", 10)
WINNOW_JOB_STALE_SECONDS = env_int("WINNOW_JOB_STALE_SECONDS", 120)
WINNOW_JOB_REAP_SECONDS = env_int("WINNOW_JOB_REAP_SECONDS", 60)
if WINNOW_JOB_STALE_SECONDS <= 2 * WINNOW_JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("WINNOW_JOB_STALE_SECONDS must be more than twice WINNOW_JOB_HEARTBEAT_SECONDS")
# The curation pipeline splits its input into chunks of this many examples; its job asks up to
# WINNOW_PIPELINE_HELPERS other workers to take chunks beside it (more workers on more machines, more speed). A
# chunk claimed longer ago than WINNOW_PIPELINE_CHUNK_STALE_SECONDS is handed out again (its worker died).
WINNOW_PIPELINE_CHUNK_SIZE = env_int("WINNOW_PIPELINE_CHUNK_SIZE", 20_000)
WINNOW_PIPELINE_HELPERS = env_int("WINNOW_PIPELINE_HELPERS", 8)
WINNOW_PIPELINE_CHUNK_STALE_SECONDS = env_int("WINNOW_PIPELINE_CHUNK_STALE_SECONDS", WINNOW_JOB_STALE_SECONDS)
# The inspection statistics of a version or project of at most this many examples are computed in the request
# (and stored); larger ones by a job (curation/services/stats.py). About 2,500 examples a second: 10,000 keep a
# request to a few seconds, well inside a web worker's timeout.
WINNOW_STATS_INLINE_MAX = env_int("WINNOW_STATS_INLINE_MAX", 10_000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser", "api.parsers.MultiPartParser"],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Winnow API",
    "DESCRIPTION": "Dataset engineering for LLM finetuning data. See API.md for the contract.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema describes the API; it holds no data, so reading it needs no account.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.add_error_responses"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
