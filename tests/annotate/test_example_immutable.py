"""Imported examples never change: the model, the QuerySet and the database itself refuse updates."""

from __future__ import annotations

import pytest
from django.db import InternalError, connection, transaction

from annotate.models import Example
from tests.factories import ExampleFactory

ORIGINAL = {"prompt": "Question?", "response": "Answer."}


@pytest.fixture
def example(project):
    return ExampleFactory(project=project, content=ORIGINAL)


@pytest.mark.django_db
def test_it_saves_a_new_example(project):
    example = ExampleFactory(project=project, content=ORIGINAL)

    assert Example.objects.get(pk=example.pk).content == ORIGINAL


@pytest.mark.django_db
def test_it_refuses_to_save_a_change_to_an_existing_example(example):
    example.content = {"prompt": "Question?", "response": "Changed."}

    with pytest.raises(TypeError, match="immutable"):
        example.save()

    assert Example.objects.get(pk=example.pk).content == ORIGINAL


@pytest.mark.django_db
def test_it_refuses_a_queryset_update(example):
    with pytest.raises(TypeError, match="immutable"):
        Example.objects.filter(pk=example.pk).update(metadata={"source": "changed"})

    assert Example.objects.get(pk=example.pk).metadata == {}


@pytest.mark.django_db
def test_it_refuses_an_update_in_raw_sql(example):
    with (
        pytest.raises(InternalError, match="examples are immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE annotate_example SET content = %s WHERE id = %s", ['{"text": "changed"}', example.pk])

    assert Example.objects.get(pk=example.pk).content == ORIGINAL
