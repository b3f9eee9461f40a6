"""Pages of a project's examples (annotate/browse.py): windows of ids, budgets, and the keyset both ways."""

from __future__ import annotations

from annotate import browse, search
from annotate.models import Example
from tests.factories import ExampleFactory


def ids_of(page):
    return [example.external_id for example in page.examples]


def test_a_rare_filter_stops_on_its_budget_and_the_next_page_goes_on(project, monkeypatch):
    monkeypatch.setattr(browse, "SPAN_BUDGET", 5)
    monkeypatch.setattr(browse, "FIRST_WINDOW", 5)
    for n in range(30):
        ExampleFactory(project=project, external_id=f"e{n:02}", metadata={"rare": "yes" if n == 27 else "no"})
    rows = Example.objects.for_project(project)
    filters = search.ExampleFilters(metadata={"rare": "yes"})

    page = browse.page(rows, filters, size=10)
    seen = []
    while page.partial and not page.examples:
        page = browse.page(rows, filters, after=page.after, size=10)
        seen.append(page)

    assert ids_of(page) == ["e27"]
    assert len(seen) >= 1  # it took more than one page to get there
    assert page.after is None


def test_the_previous_page_of_a_filtered_list_is_the_page_before(project):
    made = [ExampleFactory(project=project, content={"text": "needle" if n % 3 else "hay"}) for n in range(40)]
    rows = Example.objects.for_project(project)
    filters = search.ExampleFilters(q="needle")

    first = browse.page(rows, filters, size=5)
    second = browse.page(rows, filters, after=first.after, size=5)
    back = browse.page(rows, filters, before=second.before, size=5)

    needles = [example.pk for example in made if example.content["text"] == "needle"]
    assert [e.pk for e in first.examples] == needles[:5]
    assert [e.pk for e in second.examples] == needles[5:10]
    assert [e.pk for e in back.examples] == needles[:5] and back.before is None


def test_a_phrase_page_checks_no_more_candidates_than_its_budget(project, monkeypatch):
    monkeypatch.setattr(browse, "PHRASE_BUDGET", 4)
    for n in range(20):
        ExampleFactory(
            project=project, external_id=f"p{n:02}", content={"text": "beta alpha" if n < 19 else "alpha beta"}
        )
    checked = []
    real = browse.phrase_matches
    monkeypatch.setattr(browse, "phrase_matches", lambda ids, q, using: checked.extend(ids) or real(ids, q, using))
    rows = Example.objects.for_project(project)

    page = browse.page(rows, search.ExampleFilters(q='"alpha beta"'), size=2)

    assert page.examples == [] and page.partial and page.after is not None
    assert len(checked) <= 4 + 2 * 3
    assert page.count is None


def test_a_search_without_a_word_finds_nothing(project):
    ExampleFactory(project=project)

    page = browse.page(Example.objects.for_project(project), search.ExampleFilters(q="-"), size=5)

    assert page.examples == [] and page.count == 0


def test_the_project_is_counted_up_to_the_limit(project, monkeypatch):
    monkeypatch.setattr(browse, "COUNT_UP_TO", 3)
    ExampleFactory.create_batch(5, project=project)

    page = browse.page(Example.objects.for_project(project), search.ExampleFilters(), size=2)

    assert page.count == 3 and len(page.examples) == 2 and page.after is not None
