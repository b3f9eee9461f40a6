"""work_items_copy: the rows an import makes from ids alone (binary COPY) are the rows the general path makes."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from annotate.models import Example, WorkItem
from annotate.services.queue import work_items_copy, work_items_create
from tests.factories import ExampleFactory, ProjectFactory


def queue_rows(project) -> list[dict]:
    return [model_to_dict(item) for item in WorkItem.objects.filter(project=project).order_by("example_id")]


def id_ranges(ids: list[int]) -> list[tuple[int, int]]:
    """The ids as inclusive runs, as an import's id blocks give them."""
    ranges: list[tuple[int, int]] = []
    for example_id in sorted(ids):
        if ranges and ranges[-1][1] == example_id - 1:
            ranges[-1] = (ranges[-1][0], example_id)
        else:
            ranges.append((example_id, example_id))
    return ranges


@pytest.mark.django_db
@pytest.mark.parametrize("in_scope", [True, False])
def test_copied_work_items_equal_the_ones_the_general_path_writes(in_scope):
    project = ProjectFactory(overlap=3)
    examples = ExampleFactory.create_batch(40, project=project)
    # Two runs with a gap, as when another import took ids in between.
    ids = [e.pk for e in examples[:15]] + [e.pk for e in examples[20:]]
    Example.objects.filter(pk__in=[e.pk for e in examples[15:20]]).delete()
    work_items_create(project=project)
    WorkItem.objects.filter(project=project).update(in_scope=in_scope)
    expected = queue_rows(project)
    WorkItem.objects.filter(project=project).delete()

    assert len(id_ranges(ids)) == 2
    assert work_items_copy(project=project, id_ranges=id_ranges(ids), in_scope=in_scope) == 35
    assert queue_rows(project) == expected
    assert {row["shuffle"] for row in expected} != {0}


@pytest.mark.django_db
def test_nothing_to_copy_writes_nothing():
    project = ProjectFactory()
    assert work_items_copy(project=project, id_ranges=[], in_scope=True) == 0
    assert not WorkItem.objects.filter(project=project).exists()
