"""Reading a version's members for export: plain instruction records come from PostgreSQL as three strings and are
rebuilt in Python; everything else comes as JSON text (on SQLite, every record is read as the ORM reads it). Both
ways must give exactly the content that parsing the stored JSON gives, key order included, for the version's own
(cleaned) content as well as the example's."""

from __future__ import annotations

import pytest
from django.db import connection

from annotate.models import Example
from curation.export.rows import members
from curation.models import DatasetVersion, VersionMember
from tests.factories import ExampleFactory, ProjectFactory, UserFactory

TRICKY = 'tab\there, newline\nthere, backslash \\ and \\n, quote " , unicode é ✓ 𝄞, \r\f\b\x01 controls'

CONTENTS = [
    # plain: rebuilt from three strings
    {"prompt": "p", "response": "r"},
    {"system": "s", "prompt": "p", "response": "r"},
    {"prompt": TRICKY, "response": TRICKY, "system": TRICKY},
    {"prompt": "", "response": ""},
    {"prompt": "   ", "response": "\n"},
    # not plain: parsed from JSON text
    {"prompt": "p", "response": "r", "system": None},
    {"prompt": "p", "response": "r", "tools": [{"type": "function"}]},
    {"prompt": [{"role": "user", "content": "p"}], "response": "r"},
    {"prompt": "p", "response": 7},
    {"prompt": "p", "response": ["a", "b"]},
    {"prompt": "p"},
    {"response": "r"},
    {"messages": [{"role": "user", "content": TRICKY}, {"role": "assistant", "content": "ok"}]},
    {"text": TRICKY},
    {"prompt": "p", "chosen": "c", "rejected": "r"},
    {"prompt": "p", "responses": ["a", "b"]},
    {"prompt": "p", "response": "r", "zzz": "an extra key"},
    {"a": "short keys first", "prompt": "p", "response": "r"},
]


def _version(contents: list[dict], derived: dict[int, dict] | None = None) -> tuple[DatasetVersion, list[Example]]:
    project = ProjectFactory()
    examples = [ExampleFactory(project=project, content=content) for content in contents]
    version = DatasetVersion.objects.create(
        project=project, name="all", status="ready", steps=[], created_by=UserFactory()
    )
    VersionMember.objects.bulk_create(
        VersionMember(version=version, example=example, content=(derived or {}).get(index))
        for index, example in enumerate(examples)
    )
    return version, examples


def _parsed(example_ids: list[int]) -> dict[int, dict]:
    """Each example's content as json parsing of the stored text gives it (psycopg2's own jsonb reading)."""
    return dict(Example.objects.filter(pk__in=example_ids).values_list("pk", "content"))


def _read(version: DatasetVersion) -> list:
    return [member for batch in members(version) for member in batch]


@pytest.mark.django_db
def test_members_inside_a_transaction_equal_the_parsed_content_key_order_included():
    version, examples = _version(CONTENTS)
    read = _read(version)
    assert [member.id for member in read] == sorted(example.pk for example in examples)
    parsed = _parsed([example.pk for example in examples])
    for member in read:
        assert member.content == parsed[member.id]
        assert list(member.content) == list(parsed[member.id]), member.content
        assert member.external_id == Example.objects.get(pk=member.id).external_id


@pytest.mark.django_db
def test_a_versions_own_content_wins_over_the_examples():
    cleaned = {"prompt": "cleaned \\ prompt", "response": "cleaned\nresponse"}
    version, examples = _version(
        [{"prompt": "raw", "response": "raw"}, {"messages": [{"role": "user", "content": "x"}]}],
        derived={0: cleaned, 1: {"prompt": "now plain", "response": "yes"}},
    )
    by_id = {member.id: member.content for member in _read(version)}
    assert by_id[examples[0].pk] == cleaned
    assert by_id[examples[1].pk] == {"prompt": "now plain", "response": "yes"}


@pytest.mark.django_db(transaction=True)
def test_members_read_ahead_outside_a_transaction_give_the_same_content():
    version, examples = _version(CONTENTS * 3)
    assert not connection.in_atomic_block
    read = _read(version)
    parsed = _parsed([example.pk for example in examples])
    assert [member.id for member in read] == sorted(parsed)
    for member in read:
        assert member.content == parsed[member.id] and list(member.content) == list(parsed[member.id])
