from annotate.models.example import Example, ExampleFingerprint, ExampleQuerySet, ExampleSearch
from annotate.models.project import Guideline, Membership, Project, ProjectQuerySet, Question
from annotate.models.summary import LabelSummary
from annotate.models.work import Annotation, AnnotationQuerySet, AnnotationRevision, Assignment, Resolution, WorkItem
from annotate.roles import Role

__all__ = [
    "Annotation",
    "AnnotationQuerySet",
    "AnnotationRevision",
    "Assignment",
    "Resolution",
    "WorkItem",
    "Example",
    "ExampleFingerprint",
    "ExampleQuerySet",
    "ExampleSearch",
    "Guideline",
    "LabelSummary",
    "Membership",
    "Project",
    "ProjectQuerySet",
    "Question",
    "Role",
]
