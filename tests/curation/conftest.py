from __future__ import annotations

import pytest


@pytest.fixture
def manager(cast):
    return cast["manager"]
