"""User accounts, as staff create them (the members page, ``POST /api/v1/users/``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from annotate.services.errors import FieldErrors, ServiceError
from annotate.services.projects import username_problem

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def user_problems(*, username: str, password: str, email: str = "") -> dict[str, str]:
    """What is wrong with these details for a new user, by field (empty: nothing)."""
    problems: dict[str, str] = {}
    if not username:
        problems["username"] = "a username is needed"
    elif problem := username_problem(username):
        problems["username"] = problem
    elif get_user_model().objects.filter(username=username).exists():
        problems["username"] = f"a user named {username!r} already exists"
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            problems["email"] = " ".join(exc.messages)
    try:
        password_validation.validate_password(password, get_user_model()(username=username, email=email))
    except ValidationError as exc:
        problems["password"] = " ".join(exc.messages)
    return problems


def user_create(*, username: str, password: str, email: str = "") -> User:
    """A new user who can sign in with this password; refused (naming the field) if a detail is not acceptable."""
    problems = user_problems(username=username, password=password, email=email)
    if problems:
        raise FieldErrors(problems)
    try:
        with transaction.atomic():
            return get_user_model().objects.create_user(username=username, password=password, email=email)
    except IntegrityError:  # the same name, taken by another request since the check
        raise ServiceError(f"a user named {username!r} already exists", field="username") from None
