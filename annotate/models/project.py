"""Projects, who works on them (roles), what they ask (questions) and by which rules (guidelines)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, models
from django.urls import reverse

from annotate import questions
from annotate.roles import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# A project's current guideline version (the latest; NULL before the first), given the project's id. Plain SQL: every
# `next` asks it, and a submit reads it in its lock statement (annotate/services/queue.py, lock_for_answer), where
# a query the ORM built would cost more than the database's answer.
CURRENT_GUIDELINE_VERSION_SQL = "SELECT max(version) FROM annotate_guideline WHERE project_id = %s"

# The settings a project may be given, from the API and the pages alike.
MAX_OVERLAP = 50
MIN_ASSIGNMENT_TIMEOUT = 60  # seconds
MAX_ASSIGNMENT_TIMEOUT = 7 * 24 * 3600


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """Choices whose labels are the values in title case ("multi_label" is shown as "Multi Label")."""
    return [(value, value.replace("_", " ").title()) for value in values]


class ProjectQuerySet(models.QuerySet["Project"]):
    def visible_to(self, user: User | AnonymousUser) -> ProjectQuerySet:
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        return self.filter(memberships__user=user)


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    overlap = models.PositiveIntegerField(default=1, help_text="How many different annotators label each example.")
    assignment_timeout = models.PositiveIntegerField(
        default=3600, help_text="Seconds an annotator may hold an example before it is released to others."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The queue may be limited to the examples of one dataset version (curation): its id and how to name it. A
    # plain number, not a foreign key: annotate knows nothing of curation (ARCHITECTURE.md, the apps table).
    queue_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The dataset version the annotation queue is limited to, if any"
    )
    queue_version_label = models.CharField(max_length=220, blank=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(overlap__gte=1), name="project_overlap_at_least_1")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("annotate:project_detail", args=[self.pk])

    def current_guideline(self) -> Guideline | None:
        return self.guidelines.order_by("-version").first()

    def current_guideline_version(self) -> int | None:
        """The current version's number alone (cheaper than the guideline, whose text may be long)."""
        with connection.cursor() as cursor:
            cursor.execute(CURRENT_GUIDELINE_VERSION_SQL, [self.pk])
            row = cursor.fetchone()
        return None if row is None else row[0]


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_unique_user_project"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.project}"


class Guideline(models.Model):
    """One version of a project's annotation guideline. Versions are never edited: a change is a new row."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guidelines")
    version = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    note = models.CharField(max_length=500, blank=True, help_text="What changed in this version, and why")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="guideline_unique_project_version"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="guideline_version_at_least_1"),
        ]

    def __str__(self) -> str:
        return f"{self.project} guideline v{self.version}"


class Question(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="questions")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=_choices(questions.KINDS))
    options = models.JSONField(default=dict, blank=True, help_text="labels for label kinds; min and max for ratings")
    required = models.BooleanField(default=True)
    level = models.CharField(max_length=10, choices=_choices(questions.LEVELS), null=True, blank=True)
    help = models.TextField(
        blank=True, max_length=questions.MAX_HELP, help_text="Shown to annotators under the question"
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["project_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="question_unique_project_name"),
            models.CheckConstraint(condition=models.Q(kind__in=questions.KINDS), name="question_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(level__isnull=True) | models.Q(level__in=questions.LEVELS),
                name="question_level_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def as_spec(self) -> questions.QuestionSpec:
        return questions.QuestionSpec(
            name=self.name,
            kind=self.kind,
            required=self.required,
            level=self.level,
            options=self.options,
            help=self.help,
        )
