"""Writes that touch several rows, called the same way from pages, API, admin and tasks."""

from annotate.services.errors import NotAssigned, ServiceError
from annotate.services.projects import (
    guideline_add,
    member_remove,
    member_set,
    project_create,
    project_update,
    questions_add,
)

__all__ = [
    "NotAssigned",
    "ServiceError",
    "guideline_add",
    "member_remove",
    "member_set",
    "project_create",
    "project_update",
    "questions_add",
]
