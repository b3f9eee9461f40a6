"""annotators_ensure: the people who made imported labels become the project's annotators."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model

from annotate.models import Membership
from annotate.services import ServiceError
from annotate.services.projects import annotators_ensure, username_problem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def role_of(project, username: str) -> str | None:
    return Membership.objects.filter(project=project, user__username=username).values_list("role", flat=True).first()


def test_it_creates_an_unknown_annotator_who_cannot_sign_in(project):
    added = annotators_ensure(project=project, usernames=["crowd-7", "crowd-7"])

    user = get_user_model().objects.get(username="crowd-7")
    assert (added.created, added.added, added.ids) == (["crowd-7"], ["crowd-7"], {"crowd-7": user.pk})
    assert not user.has_usable_password()
    assert authenticate(username="crowd-7", password="") is None
    assert role_of(project, "crowd-7") == "annotator"


def test_it_makes_a_user_who_is_not_a_member_an_annotator(project, cast):
    added = annotators_ensure(project=project, usernames=["outsider-user"])

    assert (added.created, added.added) == ([], ["outsider-user"])
    assert role_of(project, "outsider-user") == "annotator"
    assert get_user_model().objects.get(username="outsider-user").has_usable_password()


def test_it_keeps_the_role_of_a_member(project, cast):
    added = annotators_ensure(project=project, usernames=["reviewer-user", "manager-user", "annotator-user"])

    assert (added.created, added.added) == ([], [])
    assert [role_of(project, f"{role}-user") for role in ("reviewer", "manager", "annotator")] == [
        "reviewer",
        "manager",
        "annotator",
    ]


def test_it_refuses_a_name_that_cannot_be_a_username_and_creates_nobody(project):
    UserFactory(username="kept")
    before = get_user_model().objects.count()

    with pytest.raises(ServiceError, match="'has space' cannot be a username"):
        annotators_ensure(project=project, usernames=["kept", "has space"])

    assert get_user_model().objects.count() == before
    assert role_of(project, "kept") is None


@pytest.mark.parametrize(("name", "ok"), [("ana.b+c@x-y_z", True), ("has space", False), ("x" * 151, False)])
def test_it_judges_usernames_by_the_user_models_rules(name, ok):
    assert (username_problem(name) is None) == ok
