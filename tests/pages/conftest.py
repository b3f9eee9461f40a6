from __future__ import annotations

import pytest

from curation.models import Job


@pytest.fixture
def job(project, cast):
    return Job.objects.create(kind=Job.Kind.IMPORT, project=project, created_by=cast["manager"], params={})
