"""The signed-in user for views that act as them without a project access (annotate.access.signed_in)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from annotate.access import SIGN_IN_FIRST, signed_in
from tests.factories import UserFactory


@pytest.mark.django_db
def test_it_gives_back_the_signed_in_user():
    user = UserFactory()
    assert signed_in(user) is user


def test_it_refuses_an_anonymous_user():
    with pytest.raises(PermissionDenied, match=SIGN_IN_FIRST):
        signed_in(AnonymousUser())
