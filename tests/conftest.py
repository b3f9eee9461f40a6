"""The fixed cast every test uses: in one project, a manager, a reviewer and an annotator; an outsider who is a
member of nothing; and the anonymous visitor. Tests of access run every endpoint against all five."""

from __future__ import annotations

from unittest import mock
from uuid import uuid4

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate.models import Membership, Role
from tests.export_data import labelled  # noqa: F401 - a fixture the export tests share
from tests.factories import GuidelineFactory, ProjectFactory, QuestionFactory, UserFactory
from tests.search_data import searchable  # noqa: F401 - a fixture the search tests share

ROLES = ("manager", "reviewer", "annotator", "outsider", "anonymous")


def pytest_addoption(parser):
    parser.addoption(
        "--queue-seconds",
        type=float,
        default=20.0,
        help="how long the randomised queue interleaving test runs (tests/annotate/test_queue_interleaving.py)",
    )
    parser.addoption("--queue-seed", type=int, default=6, help="the seed of the randomised queue interleaving test")


def pytest_sessionstart(session):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit(
            "The tests run against PostgreSQL and Redis: use scripts/test, or set DATABASE_URL=postgres://… and "
            "CELERY_BROKER_URL=redis://…",
            returncode=2,
        )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashers are slow on purpose; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def import_dirs(settings, tmp_path):
    """Uploads and temporary files go under the test's own directory, never the real data directory, so a test
    can also see what is left behind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    settings.WINNOW_EXPORT_DIR = tmp_path / "media" / "exports"
    return tmp_path


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """Each test keeps its cache entries (e.g. failed sign-ins) under its own prefix in the real Redis cache, so it
    sees neither another test's counts nor an earlier run's. Clearing the cache instead would flush the Celery
    broker's Redis database too."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid4().hex}"}}


@pytest.fixture(autouse=True)
def search_index_sent(request):
    """Every import queues a search index job once it commits. Outside the integration tests no worker is there to
    run it, so the message is caught here rather than left in Redis; tests run the job by calling its task."""
    if "integration" in request.path.parts:
        yield None
        return
    with mock.patch("curation.tasks.run_search_index.delay") as delay:
        yield delay


@pytest.fixture
def project(db):
    project = ProjectFactory(name="helpfulness")
    GuidelineFactory(project=project, version=1, text="# Guideline\nBe helpful.")
    QuestionFactory(project=project, name="quality", kind="rating", options={"min": 1, "max": 5})
    QuestionFactory(
        project=project, name="topic", kind="label", options={"labels": ["code", "math", "general"]}, level="nominal"
    )
    return project


@pytest.fixture
def cast(project):
    """Users by role name; the outsider and anonymous have no membership (anonymous is None)."""
    users = {}
    for role in (Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR):
        user = UserFactory(username=f"{role}-user")
        Membership.objects.create(user=user, project=project, role=role)
        users[str(role)] = user
    users["outsider"] = UserFactory(username="outsider-user")
    users["anonymous"] = None
    return users


@pytest.fixture
def staff(db):
    return UserFactory(username="staff-user", is_staff=True)


def api_client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def client_as(cast):
    """client_as("reviewer") → a test Client signed in (by session) as that member of the cast (anonymous: signed
    out)."""

    def make(role: str) -> Client:
        client = Client()
        if cast[role] is not None:
            client.force_login(cast[role])
        return client

    return make


@pytest.fixture
def api_as(cast):
    """api_as("manager") → an APIClient authenticated by token as that member of the cast."""
    return lambda role: api_client_for(cast[role])
