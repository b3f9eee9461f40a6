"""The pipeline builder: a manager puts steps together, checks them, tries a filter on a sample, and runs them on a
sample (a trial) or on everything; the run is a job, and its version appears when the job succeeds."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotate.access import ProjectAccess, may_manage, project_access
from annotate.models import Example, Membership, Role
from curation.explain.removals import detail_sentence, rule_label
from curation.explain.steps import CLEAN_RULES, DEDUP_METHODS, KEEP, PII_ENTITIES, step_summary
from curation.forms import DryRunForm, VersionForm
from curation.models import DatasetVersion
from curation.pipeline.compared import contents_in
from curation.services.versions import CheckedRequest, VersionRequestError, filter_dry_run, version_check, version_start
from curation.steps import dedup, filters, semantic
from curation.steps.records import FIELDS, text_of

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

EVAL_VERSIONS_LISTED = 200
DRY_RUN_EXAMPLES = 5
_STEP_PREFIX = re.compile(r"^steps\[\d+\](?: \([^)]*\))?: ")


def _version_choice(version: DatasetVersion, project_id: int) -> str:
    kept = version.counts.get("kept")
    size = f" · {kept:,} examples" if isinstance(kept, int) else ""
    trial = " · trial" if version.trial else ""
    where = "" if version.project_id == project_id else f"{version.project.name} · "
    return f"{where}{version.label}{size}{trial}"


def _eval_versions(access: ProjectAccess) -> list[tuple[int, str]]:
    """The versions a decontaminate step may compare against: those of the projects the user manages."""
    versions = DatasetVersion.objects.ready().select_related("project")
    if not access.user.is_staff:
        managed = Membership.objects.filter(user=access.user, role=Role.MANAGER).values("project_id")
        versions = versions.filter(project_id__in=managed)
    rows = versions.order_by("-created_at", "-id")[:EVAL_VERSIONS_LISTED]
    return [(version.pk, _version_choice(version, access.project.pk)) for version in rows]


def _initial(request: HttpRequest, access: ProjectAccess) -> dict[str, Any]:
    """The builder's starting point: empty, from a version's steps (``?from=``), or on top of one (``?parent=``)."""
    ready = DatasetVersion.objects.ready().for_project(access.project)
    initial: dict[str, Any] = {"steps": "[]", "sample": 1000, "seed": 0}
    if (source := request.GET.get("from", "")).isdigit() and (version := ready.filter(pk=source).first()):
        initial.update(steps=json.dumps(version.steps, indent=2), parent=version.parent_id, name=version.name)
        if version.trial and version.sample:
            initial.update(sample=version.sample, seed=version.seed)
    elif (parent := request.GET.get("parent", "")).isdigit() and ready.filter(pk=parent).exists():
        initial["parent"] = int(parent)
    return initial


def _step_error(exc: VersionRequestError) -> dict[str, Any] | None:
    """A pipeline error about one step, for the page to show beside it: which step, which option, what to fix."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if exc.field != "steps" or not isinstance(details.get("step"), int):
        return None
    index = details["step"]
    op = details.get("op")
    where = f"Step {index + 1}" + (f" ({op})" if op else "")
    message = _STEP_PREFIX.sub("", exc.message)
    return {"step": index, "op": op, "option": details.get("option"), "message": message, "where": where}


@login_required
def version_new(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_manage)
    project = access.project
    versions = list(DatasetVersion.objects.ready().for_project(project).order_by("-created_at", "-id"))
    parents = [(version.pk, _version_choice(version, project.pk)) for version in versions]
    if request.method == "POST":
        form = VersionForm(request.POST, parents=parents)
    else:
        form = VersionForm(initial=_initial(request, access), parents=parents)
    checked: CheckedRequest | None = None
    error: VersionRequestError | None = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        request_args: dict[str, Any] = {
            "project": project,
            "created_by": access.user,
            "steps": data["steps"],
            "parent": data["parent"],
            "name": data["name"],
            "sample": data["sample"] if data["action"] == "trial" else None,
            "seed": data["seed"],
        }
        try:
            if data["action"] == "check":
                checked = version_check(**request_args)
            else:
                job = version_start(**request_args)
                return redirect("curation:job_detail", job_id=job.pk)
        except VersionRequestError as exc:
            error = exc
            if exc.field in ("parent", "sample", "seed", "name"):
                form.add_error(exc.field, exc.message)
    step_error = _step_error(error) if error else None
    context = {
        "project": project,
        "access": access,
        "form": form,
        "checked": checked,
        "checked_summaries": [step_summary(step) for step in checked.steps] if checked else [],
        "error": error if error and error.field == "steps" else None,
        "step_error": step_error,
        "submitted": _submitted_steps(form),
        "builder": _builder_data(access, parents, step_error, form),
    }
    status = 400 if form.errors or error else 200
    return render(request, "curation/version_new.html", context, status=status)


def _submitted_steps(form: VersionForm) -> list[str]:
    """Each step as the form holds it, in words: the steps list of the page without its script."""
    try:
        raw = json.loads(form["steps"].value() or "[]")
    except (TypeError, ValueError):
        return []
    if not isinstance(raw, list):
        return []
    return [step_summary(step) if isinstance(step, dict) else f"{step!r} is not a step" for step in raw]


def _builder_data(
    access: ProjectAccess, parents: list[tuple[int, str]], step_error: dict[str, Any] | None, form: VersionForm
) -> dict[str, Any]:
    """What static/pipeline.js needs to build the steps' forms: every op's options, the filter catalog, the
    versions to compare against, and the error to show beside its step."""
    methods = [name for name in dedup.METHODS if name != "semantic" or semantic.available()]
    return {
        "catalog": filters.catalog(),
        "clean": [{"name": name, "label": label, "help": help} for name, (label, help) in CLEAN_RULES.items()],
        "pii": [{"name": name, "label": label} for name, label in PII_ENTITIES.items()],
        "dedup": {
            "methods": [{"name": name, "label": DEDUP_METHODS.get(name, name)} for name in methods],
            "presets": dedup.PRESETS,
            "defaults": dedup.DEFAULTS,
            "keep": [{"name": name, "label": label} for name, label in KEEP.items()],
        },
        "fields": list(FIELDS),
        "questions": list(access.project.questions.order_by("name").values_list("name", flat=True)),
        "versions": [{"id": pk, "label": label} for pk, label in _eval_versions(access)],
        "error": step_error,
        "dryRunUrl": reverse("curation:filter_dry_run", args=[access.project.pk]),
    }


@login_required
@require_POST
def filter_dry_run_view(request: HttpRequest, project_id: int) -> HttpResponse:
    """What a filter step would remove from a sample, as a fragment the builder shows under the step."""
    access = project_access(request.user, project_id, may=may_manage)
    parents = list(DatasetVersion.objects.ready().for_project(access.project).values_list("pk", flat=True))
    form = DryRunForm(request.POST, parents=parents)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "curation/_dry_run.html", context, status=400)
    data = form.cleaned_data
    try:
        result = filter_dry_run(
            project=access.project,
            user=access.user,
            rules=data["rules"],
            sample=data["sample"] or 1000,
            parent=data["parent"],
        )
    except VersionRequestError as exc:
        context["error"] = exc.message
        return render(request, "curation/_dry_run.html", context, status=400)
    shown = result["removals"][:DRY_RUN_EXAMPLES]
    ids = [removal["example"] for removal in shown]
    examples = Example.objects.in_bulk(ids)
    contents = contents_in(data["parent"], ids)  # as the dry run read them
    context.update(
        result=result,
        by_rule=[(rule_label(rule), count) for rule, count in result["removed_by"].items()],
        examples=[
            {
                "example": examples.get(removal["example"]),
                "rule": rule_label(removal["rule"]),
                "why": detail_sentence(removal["rule"], removal["detail"]),
                "text": text_of(contents.get(removal["example"], {})),
            }
            for removal in shown
        ],
    )
    return render(request, "curation/_dry_run.html", context)
