from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def import_dirs(settings, tmp_path):
    """Uploads and spool files go under the test's own directory, so a test can see what is left behind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    return tmp_path


@pytest.fixture
def manager(cast):
    return cast["manager"]
