"""The machine side's rows. For now: Job, the public handle of every background task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections, models
from django.utils import timezone

from annotate.models import Project

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> JobQuerySet:
        """Jobs a user may read: every job of the projects they manage, and the jobs they started."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        return self.filter(
            models.Q(created_by=user) | models.Q(project__memberships__user=user, project__memberships__role="manager")
        ).distinct()

    def for_project(self, project: Project) -> JobQuerySet:
        return self.filter(project=project)


class Job(models.Model):
    """A unit of background work. The UI and the API poll this row, never a Celery result."""

    class Kind(models.TextChoices):
        IMPORT = "import"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=30, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=40, blank=True, help_text="What the job is doing now, e.g. validating")
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(null=True, blank=True)
    progress_unit = models.CharField(max_length=20, blank=True, help_text="What done/total count: records, bytes")
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress_done__gte=0), name="job_progress_done_not_negative"),
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "succeeded", "failed", "cancelled"]),
                name="job_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["project", "-created_at"], name="job_project_created_idx")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int | None:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.progress_total:
            return None
        return min(100, int(100 * self.progress_done / self.progress_total))

    def start(self) -> bool:
        """Claim a queued job for this worker; False when another delivery of the task already took it."""
        claimed = Job.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING, started_at=timezone.now()
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    def succeed(self, result: dict[str, Any]) -> None:
        self.status = self.Status.SUCCEEDED
        self.result = result
        self.stage = ""
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "result", "stage", "finished_at"])

    def fail(self, message: str, details: Any = None) -> None:
        """Record why the job failed in words the user can act on; details carry the specifics (bad records)."""
        self.status = self.Status.FAILED
        self.error = {"message": message, "details": details}
        self.stage = ""
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "error", "stage", "finished_at"])

    def report_progress(self, *, done: int, total: int | None, stage: str, unit: str) -> None:
        """Publish progress so pollers see it even while this job's own connection is inside a transaction.

        Inside a transaction an update on the default connection stays invisible until commit, so it goes through
        the separate ``progress`` connection where there is one (PostgreSQL). SQLite allows one writer at a time,
        so there progress made inside a transaction is only kept on this instance.
        """
        self.progress_done, self.progress_total, self.stage, self.progress_unit = done, total, stage, unit
        fields = {"progress_done": done, "progress_total": total, "stage": stage, "progress_unit": unit}
        if not connections["default"].in_atomic_block:
            Job.objects.filter(pk=self.pk).update(**fields)
        elif "progress" in settings.DATABASES:
            Job.objects.using("progress").filter(pk=self.pk).update(**fields)
