"""Reading dataset versions: the project's list, one version (its lineage, counts, steps and a sample of what it
kept), its kept examples, its removals explained, and the content its steps changed. Reviewers and managers read
them; a version still being built is nobody's to see."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from annotate.access import may_browse_examples, project_access
from annotate.models import Project
from curation.access import version_access
from curation.explain.removals import rule_label
from curation.explain.steps import changes_content, pipeline_name, step_summary
from curation.models import DatasetVersion, Removal, VersionMember
from curation.views.explained import Shown, cleaned_rows, removal_rows
from curation.views.paging import keyset_page

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

VERSIONS_PER_PAGE = 30
SAMPLE_SHOWN = 20
EXAMPLES_PER_PAGE = 25
REMOVALS_PER_PAGE = 20
CLEANED_PER_PAGE = 10
RULE_MAX_LENGTH = 80


@login_required
def version_list(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_browse_examples)
    versions = DatasetVersion.objects.ready().for_project(access.project).select_related("created_by", "parent")
    page = Paginator(versions, VERSIONS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(version, pipeline_name(version.steps)) for version in page]
    context = {"project": access.project, "access": access, "page": page, "rows": rows}
    return render(request, "curation/version_list.html", context)


def _version_labels(project: Project, versions: Iterable[DatasetVersion]) -> Callable[[int], str]:
    """How step summaries name the versions decontaminate steps compare against (another project's only by id)."""
    ids = {
        step["against"]
        for version in versions
        for step in version.steps
        if isinstance(step, dict) and step.get("op") == "decontaminate" and isinstance(step.get("against"), int)
    }
    labels = {
        pk: f"“{name}”" if name else f"version {pk}"
        for pk, name in DatasetVersion.objects.filter(pk__in=ids, project=project).values_list("pk", "name")
    }
    return lambda pk: labels.get(pk, f"version {pk} of another project")


def _summaries(version: DatasetVersion, label: Callable[[int], str]) -> list[str]:
    return [step_summary(step, version_label=label) for step in version.steps if isinstance(step, dict)]


@login_required
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    version, access = version_access(request.user, version_id)
    lineage = version.lineage()
    label = _version_labels(access.project, lineage)
    counts = version.counts or {}
    total = counts.get("input") or 0
    removed_by = [
        {"rule": rule, "label": rule_label(rule), "count": count, "share": _share(count, total)}
        for rule, count in sorted((counts.get("removed_by") or {}).items(), key=lambda item: (-item[1], item[0]))
    ]
    members = VersionMember.objects.filter(version=version).select_related("example").order_by("example_id")
    sample = [Shown.of_member(member) for member in members[:SAMPLE_SHOWN]]
    context = {
        "project": access.project,
        "access": access,
        "version": version,
        "lineage": [(ancestor, _summaries(ancestor, label)) for ancestor in lineage],
        "removed_by": removed_by,
        "kept_share": _share(counts.get("kept") or 0, total),
        "chart": {
            "labels": ["kept", *(row["label"] for row in removed_by)],
            "counts": [counts.get("kept", 0), *(row["count"] for row in removed_by)],
        },
        "changing_steps": [
            result for result in version.step_results if changes_content(_step_at(version, result.get("step", 0) - 1))
        ],
        "changed_in_lineage": any(changes_content(step) for ancestor in lineage for step in ancestor.steps),
        "sample": sample,
        # Managers see every job of their project (curation.access); the job page has the run's timings.
        "job_visible": version.job_id is not None and access.may_manage,
    }
    return render(request, "curation/version_detail.html", context)


def _share(count: int, total: int) -> str:
    return f"{count / total:.1%}" if total else "—"


def _step_at(version: DatasetVersion, index: int) -> dict[str, Any]:
    step = version.steps[index] if 0 <= index < len(version.steps) else {}
    return step if isinstance(step, dict) else {}


@login_required
def version_examples(request: HttpRequest, version_id: int) -> HttpResponse:
    version, access = version_access(request.user, version_id)
    members = VersionMember.objects.filter(version=version).select_related("example")
    page = keyset_page(members, "example_id", request.GET, size=EXAMPLES_PER_PAGE)
    context = {
        "project": access.project,
        "access": access,
        "version": version,
        "page": page,
        "examples": [Shown.of_member(member) for member in page.items],
    }
    return render(request, "curation/version_examples.html", context)


@login_required
def version_removals(request: HttpRequest, version_id: int) -> HttpResponse:
    version, access = version_access(request.user, version_id)
    removed_by = (version.counts or {}).get("removed_by") or {}
    rule = request.GET.get("rule", "")
    removals = Removal.objects.filter(version=version)
    if rule and len(rule) <= RULE_MAX_LENGTH and "\x00" not in rule:
        removals = removals.filter(rule=rule)
    else:
        rule = ""
    page = keyset_page(removals, "example_id", request.GET, size=REMOVALS_PER_PAGE)
    rows = removal_rows(version, page.items, access.user)
    context = {
        "project": access.project,
        "access": access,
        "version": version,
        "rule": rule,
        "rule_label": rule_label(rule) if rule else "",
        "rules": [(name, rule_label(name), count) for name, count in sorted(removed_by.items())],
        "page": page,
        "rows": rows,
        "kinds": {row.kind for row in rows},
    }
    return render(request, "curation/version_removals.html", context)


@login_required
def version_cleaned(request: HttpRequest, version_id: int) -> HttpResponse:
    version, access = version_access(request.user, version_id)
    members = VersionMember.objects.filter(version=version, content__isnull=False).select_related("example")
    page = keyset_page(members, "example_id", request.GET, size=CLEANED_PER_PAGE)
    lineage = version.lineage()
    label = _version_labels(access.project, lineage)
    context = {
        "project": access.project,
        "access": access,
        "version": version,
        "page": page,
        "rows": cleaned_rows(page.items),
        "changing": [
            (ancestor, step_summary(step, version_label=label))
            for ancestor in reversed(lineage)
            for step in ancestor.steps
            if isinstance(step, dict) and changes_content(step)
        ],
    }
    return render(request, "curation/version_cleaned.html", context)
