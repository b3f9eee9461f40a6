"""A project's counts, defined once: the project page, the annotate page and the API all read them from here.

Each count is a queryset builder taking the project, or ``OuterRef("pk")`` so that a list of projects can carry
the counts as correlated subqueries in one query. Who may see which count is ``access.may_see_others_work``:
annotators get their own counts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery, Value

from annotate.access import may_see_others_work
from annotate.models import Annotation, Example, Project, Role, WorkItem
from annotate.services.queue import open_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A project, or OuterRef("pk") to correlate with a list of projects. django-stubs 5.2 checks a lookup's value
# against such a union member by member and rejects the OuterRef (typeddjango/django-stubs#837, fixed in 6.x):
# hence the ignores below.
ProjectRef = Project | OuterRef


def examples_of(project: ProjectRef) -> QuerySet[Example]:
    return Example.objects.filter(project=project)  # type: ignore[misc]  # django-stubs#837


def annotations_of(project: ProjectRef, annotator: User | OuterRef | None = None) -> QuerySet[Annotation]:
    annotations = Annotation.objects.filter(project=project)  # type: ignore[misc]  # django-stubs#837
    return annotations if annotator is None else annotations.filter(annotator=annotator)  # type: ignore[misc]


def completed_of(project: ProjectRef) -> QuerySet[WorkItem]:
    """Examples whose current round has every annotation it asks for."""
    return WorkItem.objects.filter(project=project, done__gte=F("target"))  # type: ignore[misc]  # django-stubs#837


LEFT_COUNTED_UP_TO = 1000


def left_for(project: Project, annotator: User) -> int:
    """How many examples the queue could still hand this annotator (``open_for``), counted up to
    ``LEFT_COUNTED_UP_TO`` + 1 so that the annotate page costs the same in a project of any size. Others may take
    some of them first: it is what is open to them now."""
    return open_for(project=project, annotator=annotator).order_by()[: LEFT_COUNTED_UP_TO + 1].count()


def _count(rows: QuerySet) -> Subquery:
    """``(SELECT COUNT(*) …)`` correlated with the project: joining each counted table would multiply the rows."""
    return Subquery(
        rows.order_by().annotate(n=Func(Value(1), function="COUNT")).values("n"), output_field=IntegerField()
    )


COUNT_FIELDS = ("example_count", "annotation_count", "completed_count", "own_annotation_count")


def with_counts(projects: QuerySet[Project], user: User) -> QuerySet[Project]:
    """Every count a project representation may show (``COUNT_FIELDS``), as columns of the same query."""
    project = OuterRef("pk")
    return projects.annotate(
        example_count=_count(examples_of(project)),
        annotation_count=_count(annotations_of(project)),
        completed_count=_count(completed_of(project)),
        own_annotation_count=_count(annotations_of(project, user)),
    )


@dataclass(frozen=True)
class Counts:
    """What a user may know of a project's size and progress. ``annotations`` and ``completed`` are the project's
    for reviewers and managers; for annotators ``annotations`` is their own and ``completed`` is None."""

    examples: int
    annotations: int
    completed: int | None
    own_annotations: int
    scope: str  # "project" or "own"

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "examples": self.examples,
            "annotations": self.annotations,
            "completed": self.completed,
            "scope": self.scope,
        }


def counts_shown(raw: Mapping[str, int], role: Role | None) -> Counts:
    """The counts loaded by ``with_counts`` (by field name), as the user's role may see them."""
    own = raw["own_annotation_count"]
    if may_see_others_work(role):
        return Counts(raw["example_count"], raw["annotation_count"], raw["completed_count"], own, scope="project")
    return Counts(raw["example_count"], own, None, own, scope="own")


def counts_of(project: Project) -> dict[str, int]:
    """The ``with_counts`` columns of a project loaded through it."""
    return {field: getattr(project, field) for field in COUNT_FIELDS}


def counts_for(project: Project, user: User, role: Role | None) -> Counts:
    """The counts of one project as the user's role may see them (one query)."""
    raw = with_counts(Project.objects.filter(pk=project.pk), user).values(*COUNT_FIELDS).get()
    return counts_shown(raw, role)
