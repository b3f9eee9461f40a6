"""The review queue's keyset walk: every case once, in order, whatever the page size, the direction or a filter
that keeps few cases (read in bounded windows of the queue)."""

from __future__ import annotations

import random

import pytest

from annotate import review_queue
from annotate.models import LabelSummary
from tests.factories import ExampleFactory, ProjectFactory, QuestionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    """60 cases with few distinct scores (so many ties), every seventh example in German."""
    project = ProjectFactory()
    question = QuestionFactory(project=project, name="quality")
    rng = random.Random(3)
    for index in range(60):
        example = ExampleFactory(project=project, metadata={"lang": "de" if index % 7 == 0 else "en"})
        LabelSummary.objects.create(
            example=example,
            project=project,
            question=question,
            labels=3,
            disagreement=rng.choice([0.25, 0.5, 0.75, 1.0]),
            consensus=3,
            consensus_share=0.5,
        )
    return question


def in_order(filters, lang=None):
    """The queue's order, written out: every case, filtered here in Python."""
    rows = (
        LabelSummary.objects.filter(question=filters.question).order_by(*review_queue.ORDER).select_related("example")
    )
    return [(row.disagreement, row.example_id) for row in rows if lang is None or row.example.metadata["lang"] == lang]


def walk_forward(filters, size, pages=None):
    seen, after = [], None
    while True:
        page = review_queue.page(filters, after=after, size=size)
        seen += [(row.disagreement, row.example_id) for row in page.cases]
        if pages is not None:
            pages.append(len(page.cases))
        if page.following is None:
            return seen
        after = page.following


def walk_backward(filters, size, start):
    seen, before = [], start
    while before is not None:
        page = review_queue.page(filters, before=before, size=size)
        seen = [(row.disagreement, row.example_id) for row in page.cases] + seen
        before = page.previous
    return seen


@pytest.mark.parametrize("size", [1, 7, 60, 100])
def test_it_pages_through_every_case_once_in_order(queue, size):
    filters = review_queue.Filters(question=queue, resolved=None)
    expected = in_order(filters)
    assert expected == [
        (r.disagreement, r.example_id) for r in review_queue.cases(filters).order_by(*review_queue.ORDER)
    ]
    assert len(expected) == 60 and expected == sorted(expected, key=lambda c: (-c[0], c[1]))
    assert walk_forward(filters, size) == expected
    beyond_last = review_queue.Position(0.0, 10**12)
    assert walk_backward(filters, size, beyond_last) == expected


@pytest.mark.parametrize(("budget", "size"), [(20_000, 3), (10, 3), (5, 1)])
def test_it_walks_a_narrowed_queue_in_bounded_windows(queue, monkeypatch, budget, size):
    monkeypatch.setattr(review_queue, "SCAN_BUDGET", budget)
    monkeypatch.setattr(review_queue, "MAX_WINDOW", 8)
    german = review_queue.Filters(question=queue, resolved=None, metadata={"lang": "de"})
    expected = in_order(german, lang="de")
    assert len(expected) == 9
    pages: list[int] = []
    assert walk_forward(german, size, pages) == expected
    if budget < 60:
        assert any(n < size for n in pages[:-1]), "a page that spent its budget early still leads on"
    assert review_queue.count(german) is None, "a narrowed queue is not counted"


def test_it_finds_nothing_for_an_annotator_nobody_knows(queue):
    filters = review_queue.Filters(question=queue, resolved=None, no_such_annotator=True)
    assert review_queue.page(filters, size=10).cases == []
    assert review_queue.count(filters) is None
