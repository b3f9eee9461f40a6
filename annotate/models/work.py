"""The annotation workflow: which example is handed to whom, what they answered, and the reviewers' verdicts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

from annotate.models.example import Example
from annotate.models.project import Project, Question
from annotate.roles import Role, may_annotate, may_review

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class WorkItem(models.Model):
    """An example's place in the annotation queue (Examples themselves never change).

    ``live`` counts the current round's assignments that are held or submitted; the example is ``open`` while
    that is below ``target`` (the project's overlap plus ``extra``, the tie-breakers a reviewer asked for). A reopened
    example starts a new ``round``: earlier annotations stay, marked with the round they were made in.

    No foreign-key constraints in the database, as for VersionMember and for the same reason: an import writes a
    work item for each example it wrote, in the same transaction, and checking the constraint locks each example's
    row (writing all of them a second time) and probes the project once per row, about a fifth of a million-row
    import's time. The trade: the database no longer refuses a work item without its example, or an example
    deleted under its work item. Work items are written only by the queue's services (``work_items_create``, from
    examples just written or read in the same statement), and deleting an example or a project deletes its work
    items through Django's on_delete (tested); a raw SQL delete of examples must delete their work items first, as
    the import's skipping of duplicates does.
    """

    example = models.OneToOneField(
        Example, primary_key=True, on_delete=models.CASCADE, related_name="work", db_constraint=False
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    round = models.PositiveIntegerField(default=1)
    target = models.PositiveIntegerField()
    extra = models.PositiveIntegerField(default=0, help_text="Tie-breakers asked for beyond the project's overlap")
    live = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    open = models.BooleanField(default=True)
    # False while the project's queue is limited to a dataset version that does not hold this example.
    in_scope = models.BooleanField(default=True, db_default=True)
    # A fixed pseudo-random number per example: the queue's stable random order.
    shuffle = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(live__lte=models.F("target")), name="workitem_live_within_target"
            ),
            models.CheckConstraint(condition=models.Q(done__lte=models.F("live")), name="workitem_done_within_live"),
        ]
        indexes = [
            # The claim query walks this index: open items of a project, closest to completion first.
            models.Index(
                "project",
                models.F("live").desc(),
                "shuffle",
                name="workitem_claim_idx",
                condition=models.Q(open=True, in_scope=True),
            ),
            # Counting a project's completed examples reads only these.
            models.Index(
                fields=["project"], name="workitem_completed_idx", condition=models.Q(done__gte=models.F("target"))
            ),
        ]

    def __str__(self) -> str:
        return f"work on example {self.example_id} (round {self.round}: {self.live}/{self.target})"


class Assignment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"  # handed out, being worked on
        SUBMITTED = "submitted"
        SKIPPED = "skipped"
        RELEASED = "released"  # idle too long, or the example was reopened

    LIVE = (Status.ACTIVE, Status.SUBMITTED)

    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="assignments", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    round = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    assigned_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Never the same example twice to one annotator in a round...
            models.UniqueConstraint(fields=["example", "annotator", "round"], name="assignment_once_per_round"),
            # ...and one example in hand at a time per project, whatever races between their requests.
            models.UniqueConstraint(
                fields=["project", "annotator"],
                condition=models.Q(status="active"),
                name="assignment_one_active_per_annotator",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "submitted", "skipped", "released"]),
                name="assignment_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["project", "assigned_at"], name="assignment_active_idx", condition=models.Q(status="active")
            ),
            models.Index(fields=["project", "annotator", "status"], name="assignment_annotator_idx"),
        ]

    def __str__(self) -> str:
        return f"example {self.example_id} → {self.annotator_id} ({self.status})"


class AnnotationQuerySet(models.QuerySet["Annotation"]):
    def visible_to(self, user: User | AnonymousUser, role: Role | None) -> AnnotationQuerySet:
        """Annotators see only their own annotations; reviewers and managers see all of the project's (the same rule
        as ``access.may_see_annotation``)."""
        if may_review(role):
            return self.all()
        if may_annotate(role):
            return self.filter(annotator_id=user.pk)
        return self.none()

    def for_project(self, project: Project) -> AnnotationQuerySet:
        return self.filter(project=project)

    def current(self) -> AnnotationQuerySet:
        """Annotations made in their example's current round (a reopened example starts afresh)."""
        return self.filter(round=models.F("example__work__round"))


class Annotation(models.Model):
    """One annotator's answers to one example. A resubmission replaces the answers; the old ones go to history."""

    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="annotations", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations", db_index=False)
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations")
    answers = models.JSONField(default=dict)
    guideline_version = models.PositiveIntegerField()
    round = models.PositiveIntegerField(default=1)
    # The order the page showed candidate responses in (indices into content["responses"]), to measure position bias.
    display_order = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["example", "annotator"], name="annotation_unique_example_annotator"),
        ]
        indexes = [
            models.Index(fields=["project", "annotator", "-submitted_at"], name="annotation_annotator_idx"),
            models.Index(fields=["project", "example"], name="annotation_example_idx"),
        ]

    def __str__(self) -> str:
        return f"annotation of example {self.example_id} by {self.annotator_id}"


class AnnotationRevision(models.Model):
    """Answers an annotation had before it was edited."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    answers = models.JSONField()
    guideline_version = models.PositiveIntegerField()
    round = models.PositiveIntegerField()
    display_order = models.JSONField(null=True, blank=True)
    submitted_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["annotation_id", "-submitted_at"]

    def __str__(self) -> str:
        return f"earlier answers of annotation {self.annotation_id}"


class Resolution(models.Model):
    """The gold value of one question for one example, decided by agreement or by a reviewer."""

    class Method(models.TextChoices):
        UNANIMOUS = "unanimous"
        MAJORITY = "majority"
        REVIEWER = "reviewer"

    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="resolutions", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="resolutions", db_index=False)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="resolutions")
    value = models.JSONField()
    method = models.CharField(max_length=12, choices=Method.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="resolutions"
    )
    note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["example", "question"], name="resolution_unique_example_question"),
            models.CheckConstraint(
                condition=models.Q(method__in=["unanimous", "majority", "reviewer"]), name="resolution_method_valid"
            ),
        ]
        indexes = [models.Index(fields=["project", "question"], name="resolution_question_idx")]

    def __str__(self) -> str:
        return f"{self.question_id} of example {self.example_id} = {self.value!r} ({self.method})"
