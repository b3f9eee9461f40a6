"""Examples' normalised fingerprints: equal for content that differs only in case and spacing, computed once."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate.fingerprints import normalized_hashes
from annotate.models import ExampleFingerprint
from tests.factories import ExampleFactory


@pytest.mark.django_db
def test_fingerprints_ignore_case_and_spacing_and_are_computed_once(project):
    same = ExampleFactory(project=project, content={"prompt": "Ünïcode  TEXT", "response": "Ok."})
    spaced = ExampleFactory(project=project, content={"prompt": "ünïcode text", "response": "ok."})
    other = ExampleFactory(project=project, content={"prompt": "Other text", "response": "Ok."})
    ids = np.array([same.pk, spaced.pk, other.pk, same.pk])

    first = normalized_hashes(project, ids)
    with CaptureQueriesContext(connection) as queries:
        again = normalized_hashes(project, ids)

    assert first[same.pk] == first[spaced.pk] != first[other.pk]
    assert again == first
    assert ExampleFingerprint.objects.count() == 3
    assert not [query for query in queries if 'annotate_example"' in query["sql"] and "content" in query["sql"]]
