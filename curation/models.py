"""The machine side's rows: Job, the public handle of every background task; DatasetVersion with its kept
members and its Removals, what a run of the curation pipeline made; PipelineChunk, a slice of a pipeline's input
that any worker may claim; ChatTemplate, a project's own chat template; Export, training files made from a
version with the manifest that says how; VersionStats, the stored inspection statistics of a version or a
project."""

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
        PIPELINE = "pipeline"  # a run of the curation pipeline, making a DatasetVersion
        EXPORT = "export"  # training files (train/eval, fractions) and their manifest from a version
        STATS = "stats"  # the inspection statistics of a large version or project (VersionStats)
        SEARCH_INDEX = "search_index"  # the search table's rows of an import's examples (annotate.ExampleSearch)

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
        "sampling": "Drawing the sample",
        "reading_input": "Reading the input",
        "freezing": "Freezing the version",
        "writing_version": "Writing the version",
        "reading_labels": "Reading the labels",
        "formatting": "Formatting rows",
        "splitting": "Splitting train and eval",
        "writing_files": "Writing the files",
        "listing_examples": "Listing the examples",
        "reading_duplicates": "Reading the duplicates the dedup steps removed",
        "measuring": "Measuring the examples",
        "storing": "Storing the statistics",
        "indexing": "Indexing for search",
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


class DatasetVersionQuerySet(models.QuerySet["DatasetVersion"]):
    def ready(self) -> DatasetVersionQuerySet:
        """Versions whose run finished: a version being built is nobody's to see."""
        return self.filter(status=DatasetVersion.Status.READY)

    def for_project(self, project: Project) -> DatasetVersionQuerySet:
        return self.filter(project=project)


class DatasetVersion(models.Model):
    """A frozen set of a project's examples, made by running the curation pipeline on a parent version (or on all
    the project's examples). It never changes once ready, and never changes its parent or an Example: cleaned
    content lives in its members, and every example a step dropped has a Removal saying why.

    The row exists while the run builds it (status ``building``, seen by no one); the run makes it ``ready`` in
    the transaction that finishes its job, and a run that fails, is cancelled or dies deletes it.
    """

    class Status(models.TextChoices):
        BUILDING = "building"
        READY = "ready"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.RESTRICT, related_name="children")
    name = models.CharField(max_length=200, blank=True)
    steps = models.JSONField(default=list, blank=True, help_text="The steps as submitted")
    trial = models.BooleanField(default=False, help_text="Ran on a random sample of the input")
    sample = models.PositiveIntegerField(null=True, blank=True, help_text="Size of the sample of a trial run")
    seed = models.BigIntegerField(default=0, help_text="Seed of the trial's sample")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BUILDING)
    counts = models.JSONField(default=dict, blank=True, help_text="input, kept, removed, removed_by")
    step_results = models.JSONField(default=list, blank=True, help_text="Per step: time, input and output counts")
    warnings = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DatasetVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="version_project_created_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["building", "ready"]), name="version_status_valid")
        ]

    def __str__(self) -> str:
        return f"version {self.pk} of project {self.project_id}" + (f" ({self.name})" if self.name else "")

    @property
    def label(self) -> str:
        return self.name or f"Version {self.pk}"

    def lineage(self) -> list[DatasetVersion]:
        """This version and its ancestors, newest first."""
        chain: list[DatasetVersion] = []
        seen: set[int] = set()
        version: DatasetVersion | None = self
        while version is not None and version.pk not in seen:
            chain.append(version)
            seen.add(version.pk)
            version = version.parent
        return chain


class VersionMember(models.Model):
    """An example a version kept. ``content`` is the example's content as the version's steps left it, stored only
    where a step (of this version or of an ancestor) changed it; null means the example's own content."""

    # No foreign-key constraints in the database: checking one locks the referenced row, so freezing a million
    # examples would write a lock into a million example rows (and check the same version a million times).
    # Rows are only written by the pipeline, from examples and versions it has just read, and deleting an example
    # or a version deletes its members through Django's on_delete.
    version = models.ForeignKey(
        DatasetVersion, on_delete=models.CASCADE, related_name="members", db_index=False, db_constraint=False
    )
    example = models.ForeignKey(
        "annotate.Example", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    content = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "example"], name="version_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id}:{self.example_id}"


class Removal(models.Model):
    """An example a version's step dropped: the rule (``dedup.minhash``, ``filter.min_words``…), the step's
    position in the version's steps, and why (``duplicate_of``, ``similarity``, the value that failed…)."""

    # No database constraints, as for VersionMember (and for the same reason).
    version = models.ForeignKey(
        DatasetVersion, on_delete=models.CASCADE, related_name="removals", db_index=False, db_constraint=False
    )
    example = models.ForeignKey(
        "annotate.Example", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    rule = models.CharField(max_length=80)
    step = models.PositiveSmallIntegerField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "example"], name="removal_unique_version_example"),
        ]
        indexes = [models.Index(fields=["version", "rule", "example"], name="removal_version_rule_idx")]

    def __str__(self) -> str:
        return f"{self.version_id}:{self.example_id} ({self.rule})"


class PipelineChunk(models.Model):
    """A slice of one phase of a pipeline run: the example ids it covers, claimed by one worker at a time.

    The run's job splits each phase's input into chunks; the runner and any number of helper tasks claim pending
    chunks (a conditional UPDATE, so two never take the same one) and write the chunk's outcome and its ``done``
    mark in one transaction. A chunk whose worker died stays ``running`` until the runner hands it out again;
    ``token`` changes with every claim, so a late worker's outcome is refused.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    phase = models.PositiveSmallIntegerField()
    index = models.PositiveIntegerField()
    ids = models.BinaryField(help_text="The example ids, as little-endian int64")
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    token = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    output = models.BinaryField(null=True, blank=True, help_text="A group step's keys (numpy .npz)")
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "phase", "index"], name="pipeline_chunk_unique"),
        ]
        indexes = [models.Index(fields=["job", "phase", "status"], name="pipeline_chunk_status_idx")]

    def __str__(self) -> str:
        return f"job {self.job_id} phase {self.phase} chunk {self.index} ({self.status})"


class ChatTemplate(models.Model):
    """A chat template a project's managers wrote (Jinja, in the Hugging Face convention), beside the built-in
    ones (curation.chat_templates.BUILTIN). It is rendered in a sandbox; an export copies its text into the
    manifest, so editing it later never changes what an earlier export says it used."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="chat_templates")
    name = models.CharField(max_length=100)
    source = models.TextField()
    special_tokens = models.JSONField(default=list, blank=True, help_text="Strings that must never occur in content")
    alternation = models.BooleanField(default=False, help_text="User and assistant turns must alternate")
    system = models.BooleanField(default=True, help_text="The template supports a system turn")
    bos_token = models.CharField(max_length=100, blank=True)
    eos_token = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="chat_template_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} (project {self.project_id})"


class Export(models.Model):
    """Training files made from a version by an export job: one row per finished export, written in the
    transaction that marks its job succeeded (a failed or cancelled export leaves no row and no files).

    ``params`` are the request's options as normalised; ``files`` list each file with its split, rows, bytes and
    sha256; ``manifest`` is what manifest.json holds: enough to make the same files again, byte for byte."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="exports")
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="export")
    params = models.JSONField(default=dict)
    files = models.JSONField(default=list)
    manifest = models.JSONField(default=dict)
    directory = models.CharField(max_length=200, help_text="Relative to WINNOW_EXPORT_DIR")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["version", "-created_at"], name="export_version_created_idx")]

    def __str__(self) -> str:
        return f"export {self.pk} of version {self.version_id}"


class VersionStats(models.Model):
    """The inspection statistics (curation/stats) of a version, or with no version of its whole project, as
    computed for one slice key ("" for none).

    A version never changes, so its statistics are computed once. A project's examples do change (imports), so
    its statistics record how many examples they are of (``examples``) and are computed again when that count
    differs.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(DatasetVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="stats")
    slice_key = models.CharField(max_length=100, blank=True, help_text="The metadata key sliced by; blank: none")
    payload = models.JSONField(help_text="The statistics, as curation.stats finishes them")
    examples = models.BigIntegerField(help_text="How many examples the statistics are of")
    seconds = models.FloatField(default=0, help_text="How long computing them took")
    computed_at = models.DateTimeField(default=timezone.now)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "slice_key"],
                condition=models.Q(version__isnull=False),
                name="version_stats_unique_version_slice",
            ),
            models.UniqueConstraint(
                fields=["project", "slice_key"],
                condition=models.Q(version__isnull=True),
                name="version_stats_unique_project_slice",
            ),
        ]

    def __str__(self) -> str:
        subject = f"version {self.version_id}" if self.version_id else f"project {self.project_id}"
        return f"stats of {subject}" + (f" by {self.slice_key}" if self.slice_key else "")
