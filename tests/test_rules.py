"""Each rule of who may do what is asked in one place (annotate.roles), and every surface obeys it: the API, the
pages and the page links agree with the predicate for every role of the cast."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate import access
from annotate.models import Guideline, WorkItem
from annotate.services import guideline_add
from tests.conftest import ROLES, api_client_for
from tests.factories import ExampleFactory
from tests.pages.test_reviewing import answers, label_all

MEMBERS = ("manager", "reviewer", "annotator")


def role_of(name: str) -> access.Role | None:
    return access.Role(name) if name in MEMBERS else None


@pytest.fixture
def disputed(project):
    first, second = ExampleFactory(project=project), ExampleFactory(project=project)
    label_all(project, {first: answers("code", "math", "math"), second: answers("code", "math", "general")})
    return first, second


def sent_back(example) -> bool:
    return WorkItem.objects.get(pk=example.pk).round > 1


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_the_same_roles_reopen_through_the_api_and_every_page(role, cast, client_as, project, disputed):
    first, second = disputed
    allowed = access.may_reopen(role_of(role))
    user = cast[role]

    api = api_client_for(user).post(f"/api/v1/projects/{project.pk}/reopen/", {"examples": [first.pk]}, format="json")
    assert (api.status_code == 200) == allowed
    assert sent_back(first) == allowed

    client = client_as(role)
    bulk = client.post(reverse("annotate:review_reopen", args=[project.pk]) + "?question=topic", {"example": second.pk})
    assert sent_back(second) == allowed, bulk.status_code
    if allowed:
        second_round = WorkItem.objects.get(pk=second.pk).round
        label_again = {example: answers("code", "math", "general") for example in (first, second)}
        label_all(project, label_again, usernames=("ann-d", "ann-e", "ann-f"))
        review = reverse("annotate:review_example", args=[project.pk, second.pk]) + "?question=topic"
        client.post(review, {"action": "reopen"})
        assert WorkItem.objects.get(pk=second.pk).round == second_round + 1
        queue = client.get(reverse("annotate:review_queue", args=[project.pk]), {"question": "topic", "show": "all"})
        assert 'name="example"' in queue.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_it_shows_guideline_history_to_the_same_roles_in_the_api_and_the_pages(role, cast, client_as, project):
    guideline_add(project=project, text="version two", created_by=cast["manager"])
    allowed = access.may_see_guideline_history(role_of(role))

    listed = api_client_for(cast[role]).get(f"/api/v1/projects/{project.pk}/guidelines/")
    page = client_as(role).get(reverse("annotate:guideline_versions", args=[project.pk]))

    if role in MEMBERS:
        versions = [g["version"] for g in listed.json()["results"]]
        assert versions == ([2, 1] if allowed else [2]), "annotators see only the current version"
        assert (page.status_code == 200) == allowed
        detail = client_as(role).get(project.get_absolute_url()).content.decode()
        assert (reverse("annotate:guideline_versions", args=[project.pk]) in detail) == allowed
    else:
        assert listed.status_code in (401, 404)
        assert page.status_code in (302, 404)
    assert Guideline.objects.filter(project=project).count() == 2


@pytest.mark.parametrize("role", ROLES)
def test_it_shows_counts_of_others_work_to_the_same_roles_in_the_api_and_the_page(
    role, cast, client_as, project, disputed
):
    allowed = access.may_see_others_work(role_of(role))
    api = api_client_for(cast[role]).get(f"/api/v1/projects/{project.pk}/")
    page = client_as(role).get(project.get_absolute_url())
    if role not in MEMBERS:
        assert api.status_code in (401, 404)
        return
    counts = api.json()["counts"]
    assert (counts["scope"] == "project") == allowed
    assert (counts["annotations"] == 6) == allowed
    assert ("Completed examples" in page.content.decode()) == allowed
