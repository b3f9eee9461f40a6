from annotate.models.example import Example, ExampleQuerySet
from annotate.models.project import (
    ROLE_RANK,
    Guideline,
    Membership,
    Project,
    ProjectQuerySet,
    Question,
    Role,
)
from annotate.models.work import Annotation, AnnotationQuerySet, AnnotationRevision, Assignment, Resolution, WorkItem

__all__ = [
    "ROLE_RANK",
    "Annotation",
    "AnnotationQuerySet",
    "AnnotationRevision",
    "Assignment",
    "Resolution",
    "WorkItem",
    "Example",
    "ExampleQuerySet",
    "Guideline",
    "Membership",
    "Project",
    "ProjectQuerySet",
    "Question",
    "Role",
]
