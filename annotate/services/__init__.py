"""Writes that touch several rows, called the same way from pages, API, admin and tasks."""

from annotate.services.errors import FieldErrors, NotAssigned, ServiceError
from annotate.services.projects import guideline_add, member_remove, member_set, project_create, project_update
from annotate.services.questions import (
    QuestionEdit,
    QuestionsRefused,
    question_remove,
    question_update,
    questions_add,
    questions_set,
)
from annotate.services.users import user_create

__all__ = [
    "FieldErrors",
    "NotAssigned",
    "QuestionEdit",
    "QuestionsRefused",
    "ServiceError",
    "guideline_add",
    "member_remove",
    "member_set",
    "project_create",
    "project_update",
    "question_remove",
    "question_update",
    "questions_add",
    "questions_set",
    "user_create",
]
