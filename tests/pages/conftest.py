from __future__ import annotations

import pytest
from django.test import Client

from curation.models import Job


@pytest.fixture
def client_as(cast):
    """client_as("reviewer") → a test Client signed in as that member of the cast (anonymous: signed out)."""

    def make(role: str) -> Client:
        client = Client()
        if cast[role] is not None:
            client.force_login(cast[role])
        return client

    return make


@pytest.fixture
def job(project, cast):
    return Job.objects.create(kind=Job.Kind.IMPORT, project=project, created_by=cast["manager"], params={})
