"""The machine side's rows. For now: Job, the public handle of every background task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections, models
from django.utils import timezone

from annotate.models import Membership, Project, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user: User | AnonymousUser) -> JobQuerySet:
        """Jobs a user may read, by the role they hold now: every job of the projects they manage, and the jobs
        they started while they are still a member of the job's project. Staff see every job."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        membership = Membership.objects.filter(project=models.OuterRef("project"), user=user)
        return self.filter(
            models.Exists(membership.filter(role=Role.MANAGER))
            | models.Q(created_by=user, project__isnull=True)
            | (models.Q(created_by=user) & models.Exists(membership))
        )

    def for_project(self, project: Project) -> JobQuerySet:
        return self.filter(project=project)

    def stale(self, *, before: Any) -> JobQuerySet:
        """Running jobs whose worker has not shown a sign of life since ``before``: it has most likely died."""
        return self.filter(status=Job.Status.RUNNING).filter(
            models.Q(heartbeat_at__lt=before) | models.Q(heartbeat_at__isnull=True, started_at__lt=before)
        )


class Job(models.Model):
    """A unit of background work. The UI and the API poll this row, never a Celery result.

    Whoever runs a job claims it first (``start``), which counts an attempt; every later write of the worker is
    conditional on the job still being running under that attempt, so a worker whose job was cancelled, or
    reaped and handed to another worker, can no longer change it.
    """

    class Kind(models.TextChoices):
        IMPORT = "import"
        ANNOTATION_IMPORT = "annotation_import"
        AGREEMENT = "agreement"  # measuring a large project's agreement figures again after its labels changed

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
    UNFINISHED = (Status.QUEUED, Status.RUNNING)
    # A job whose worker died is run once more; if that worker dies too, the job fails.
    MAX_ATTEMPTS = 2
    # What the job page says for each stage a job reports (the API gives the stage's name).
    STAGE_LABELS = {
        "reading": "Reading and checking records",
        "writing": "Writing examples",
        "checking_ids": "Checking ids",
        "checking_duplicates": "Looking for records already in the project",
        "queueing": "Queueing for annotation",
        "adding_annotators": "Adding annotators",
        "writing_labels": "Writing labels",
        "summarising": "Updating the review queue",
        "committing": "Committing",
    }
    # Jobs that read an uploaded file, and write nothing unless every record of it is good.
    IMPORTS = (Kind.IMPORT, Kind.ANNOTATION_IMPORT)

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
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running the job"
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker has started the job")
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
        indexes = [
            models.Index(fields=["project", "-created_at"], name="job_project_created_idx"),
            # The reaper looks for running jobs with an old heartbeat every minute.
            models.Index(
                fields=["heartbeat_at"], name="job_running_heartbeat_idx", condition=models.Q(status="running")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def stage_label(self) -> str:
        return self.STAGE_LABELS.get(self.stage, self.stage.replace("_", " ").capitalize())

    @property
    def percent(self) -> int | None:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.progress_total:
            return None
        return min(100, int(100 * self.progress_done / self.progress_total))

    def _mine(self, using: str = "default") -> JobQuerySet:
        """This job's row, if it is still unfinished under the attempt this instance knows of."""
        return Job.objects.using(using).filter(pk=self.pk, status__in=self.UNFINISHED, attempts=self.attempts)

    def start(self) -> bool:
        """Claim a queued job for this worker; False when another delivery of the task already took it."""
        now = timezone.now()
        claimed = Job.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING, started_at=now, heartbeat_at=now, attempts=models.F("attempts") + 1
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    def succeed(self, result: dict[str, Any], *, progress: tuple[int, str] | None = None) -> bool:
        """Record the result (and the final count of ``progress``: done = total, and the unit); False, and nothing
        written, when the job was cancelled or taken from this worker."""
        fields: dict[str, Any] = {"status": self.Status.SUCCEEDED, "result": result}
        if progress is not None:
            fields.update(progress_done=progress[0], progress_total=progress[0], progress_unit=progress[1])
        return self._finish(**fields)

    def fail(self, message: str, details: Any = None) -> bool:
        """Record why the job failed in words the user can act on; details carry the specifics (bad records).

        False (and nothing written) when the job was cancelled or taken from this worker meanwhile.
        """
        return self._finish(status=self.Status.FAILED, error={"message": message, "details": details})

    def _finish(self, **fields: Any) -> bool:
        fields.update(stage="", finished_at=timezone.now())
        done = self._mine().update(**fields)
        if done:
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(done)

    def report_progress(self, *, done: int, total: int | None, stage: str, unit: str) -> bool:
        """Publish progress (and a heartbeat); False when the job is no longer this worker's to run: it was
        cancelled, or reaped and queued again.

        Inside a transaction an update on the default connection stays invisible until commit, so it goes through
        the separate ``progress`` connection where there is one (PostgreSQL). SQLite allows one writer at a time,
        so there progress made inside a transaction is only kept on this instance.
        """
        self.progress_done, self.progress_total, self.stage, self.progress_unit = done, total, stage, unit
        fields: dict[str, object] = {
            "progress_done": done,
            "progress_total": total,
            "stage": stage,
            "progress_unit": unit,
            "heartbeat_at": timezone.now(),
        }
        if not connections["default"].in_atomic_block:
            return bool(self._mine().filter(status=self.Status.RUNNING).update(**fields))
        if "progress" in settings.DATABASES:
            return bool(self._mine("progress").filter(status=self.Status.RUNNING).update(**fields))
        return True

    def requeue(self) -> bool:
        """Put a job whose worker died back in the queue for another attempt (the caller enqueues it)."""
        fields = {"status": self.Status.QUEUED, "stage": "", "progress_done": 0, "progress_total": None}
        done = self._mine().filter(status=self.Status.RUNNING).update(heartbeat_at=None, **fields)
        if done:
            self.refresh_from_db()
        return bool(done)

    def beat(self, using: str = "default") -> bool:
        """Say the worker is alive; False when the job is no longer this worker's to run."""
        return bool(self._mine(using).filter(status=self.Status.RUNNING).update(heartbeat_at=timezone.now()))
