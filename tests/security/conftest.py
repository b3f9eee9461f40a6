from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def client_as(cast):
    """client_as("reviewer") → a test Client signed in (by session) as that member of the cast."""

    def make(role: str) -> Client:
        client = Client()
        if cast[role] is not None:
            client.force_login(cast[role])
        return client

    return make
