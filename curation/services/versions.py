"""Starting a run of the curation pipeline: checking the request, then queueing the job that makes the version
(curation.pipeline.runner)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction

from annotate.models import Project
from curation.models import DatasetVersion, Job, VersionMember
from curation.pipeline.plan import StepError, compile_plan, validate_steps
from curation.services.jobs import job_enqueue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_SAMPLE = 1_000_000


class VersionRequestError(ValueError):
    """The request cannot make a version as asked; ``field`` names the input to fix, ``details`` the specifics."""

    def __init__(self, message: str, *, field: str, details: Any = None, code: str = "invalid"):
        super().__init__(message)
        self.message, self.field, self.details, self.code = message, field, details, code


def _readable_version(version_id: Any, *, project: Project, user: User, field: str) -> DatasetVersion:
    """A ready version this request may use: of this project, or (for an eval set) of another project the user
    manages. Anything else is "no such version", whether it exists or not."""
    from annotate import access

    if isinstance(version_id, bool) or not isinstance(version_id, int):
        raise VersionRequestError(f"'{field}' must be a version id (an integer)", field=field)
    version = DatasetVersion.objects.ready().filter(pk=version_id).first()
    if version is None or (
        version.project_id != project.pk and not access.may_manage(access.role_in(user, version.project_id))
    ):
        raise VersionRequestError(f"No such version: {version_id}.", field=field, code="not_found")
    return version


@dataclass(frozen=True)
class CheckedRequest:
    """A request to make a version that passed every check: the steps normalised (defaults filled in), and what
    the plan warns about (steps in a costly order)."""

    steps: list[dict[str, Any]]
    warnings: list[str]


def version_check(
    *,
    project: Project,
    created_by: User,
    steps: Any,
    parent: Any = None,
    name: str = "",
    sample: Any = None,
    seed: Any = 0,
) -> CheckedRequest:
    """Check a request to make a version as ``version_start`` does, without starting anything."""
    try:
        normalised = validate_steps(steps)
    except StepError as exc:
        details = {"step": exc.index, "op": exc.op, "option": exc.option}
        if exc.details:
            details.update(exc.details if isinstance(exc.details, dict) else {"details": exc.details})
        raise VersionRequestError(str(exc), field="steps", details=details) from None
    if parent is not None:
        parent_version = _readable_version(parent, project=project, user=created_by, field="parent")
        if parent_version.project_id != project.pk:
            raise VersionRequestError(f"No such version: {parent}.", field="parent", code="not_found")
    for index, step in enumerate(normalised):
        if step["op"] == "decontaminate":
            try:
                _readable_version(step["against"], project=project, user=created_by, field="against")
            except VersionRequestError as exc:
                raise VersionRequestError(
                    f"steps[{index}] (decontaminate): against: {exc.message}",
                    field="steps",
                    details={"step": index, "op": "decontaminate", "option": "against"},
                    code=exc.code,
                ) from None
    if sample is not None and (
        isinstance(sample, bool) or not isinstance(sample, int) or not 1 <= sample <= MAX_SAMPLE
    ):
        raise VersionRequestError(f"'sample' must be a whole number from 1 to {MAX_SAMPLE:,}", field="sample")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise VersionRequestError("'seed' must be a whole number from 0 to 2^63 - 1", field="seed")
    if not isinstance(name, str) or len(name) > 200:
        raise VersionRequestError("'name' must be text of at most 200 characters", field="name")
    return CheckedRequest(steps=normalised, warnings=compile_plan(normalised).warnings)


def version_start(
    *,
    project: Project,
    created_by: User,
    steps: Any,
    parent: Any = None,
    name: str = "",
    sample: Any = None,
    seed: Any = 0,
) -> Job:
    """Check the steps and options, and queue the job that runs them; nothing is made if the request is bad."""
    checked = version_check(
        project=project, created_by=created_by, steps=steps, parent=parent, name=name, sample=sample, seed=seed
    )
    with transaction.atomic():
        job = Job.objects.create(
            kind=Job.Kind.PIPELINE,
            project=project,
            created_by=created_by,
            params={
                "steps": checked.steps,
                "submitted": steps,
                "parent": parent,
                "name": name,
                "sample": sample,
                "seed": seed,
                "warnings": checked.warnings,
            },
        )
        job_enqueue(job)
    return job


DRY_RUN_SHOWN = 100


def filter_dry_run(
    *, project: Project, user: User, rules: Any, sample: int = 1000, parent: Any = None, seed: int = 0
) -> dict[str, Any]:
    """What a filter step would remove from a seeded random sample of the input, without making a version."""
    import numpy as np

    from annotate import gold
    from curation.pipeline import store
    from curation.steps import filters

    try:
        normalised = validate_steps([{"op": "filter", "rules": rules}])[0]
    except StepError as exc:
        details = {"option": exc.option, **(exc.details if isinstance(exc.details, dict) else {})}
        raise VersionRequestError(exc.message if exc.option is None else f"{exc.option}: {exc.message}",
                                  field="rules", details=details) from None  # fmt: skip
    parent_id = None
    if parent is not None:
        parent_id = _readable_version(parent, project=project, user=user, field="parent").pk
    options = {key: value for key, value in normalised.items() if key != "op"}
    ids = store.sample_ids(store.input_ids(project_id=project.pk, parent=parent_id), sample, seed)
    records, _ = store.read_records(ids, parent=parent_id)
    context: dict[str, Any] = {}
    if questions := filters.labels_questions(options):
        context["labels"] = gold.label_context(project.pk, sorted(questions), np.asarray(ids))
    dropped = filters.preview(records, options, context)
    removed_by: dict[str, int] = {}
    for item in dropped:
        removed_by[item.rule] = removed_by.get(item.rule, 0) + 1
    return {
        "sample": len(records),
        "removed": len(dropped),
        "kept": len(records) - len(dropped),
        "removed_by": dict(sorted(removed_by.items())),
        "removals": [{"example": d.id, "rule": d.rule, "detail": d.detail} for d in dropped[:DRY_RUN_SHOWN]],
    }


def queue_limit_to_version(*, project: Project, version: Any) -> dict[str, Any]:
    """Limit the project's annotation queue to a ready version's examples (``version`` an id), or lift the limit
    (None). Returns the queue's scope as the API shows it."""
    from annotate.services.queue import queue_limit

    if version is None:
        queue_limit(project=project, example_ids=None, version=None)
        return {"version": None, "label": "", "examples": None}
    if isinstance(version, bool) or not isinstance(version, int):
        raise VersionRequestError(
            "'version' must be a version id (an integer), or null to lift the limit", field="version"
        )
    chosen = DatasetVersion.objects.ready().filter(pk=version, project=project).first()
    if chosen is None:
        raise VersionRequestError(f"No such version: {version}.", field="version", code="not_found")
    ids = VersionMember.objects.filter(version=chosen).values_list("example_id", flat=True)
    offered = queue_limit(
        project=project, example_ids=ids.iterator(chunk_size=50_000), version=chosen.pk, label=chosen.label
    )
    return {"version": chosen.pk, "label": chosen.label, "examples": offered}


def queue_scope(project: Project) -> dict[str, Any]:
    return {"version": project.queue_version, "label": project.queue_version_label, "examples": None}
