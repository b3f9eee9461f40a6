"""The statistics pages: a version's (or the whole project's) inspection statistics as charts and tables, sliced
by a metadata key, compared with another version, checked against coverage targets; and a random sample of a
slice to read. Reviewers and managers read them, as they read versions. While a job measures a large version,
the page shows its progress and reloads itself when it is done."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRefresh

from annotate.access import ProjectAccess, may_browse_examples, project_access
from annotate.models import Example
from curation.access import version_access
from curation.models import DatasetVersion, VersionMember
from curation.services.stats import TARGET_PREFIX, StatsRequestError, StatsResult, stats_for, stats_query
from curation.stats.figures import OTHER
from curation.views.explained import Shown
from curation.views.jobs import HtmxRequest
from curation.views.stats_tables import (
    comparison_tables,
    coverage_table,
    figures_charts,
    figures_tables,
    slice_rows,
)

if TYPE_CHECKING:
    from django.http import HttpResponse

COMPARABLE_VERSIONS = 50
TARGET_INPUTS = 20


def _params(request: HtmxRequest) -> dict[str, str]:
    """The query string as a dict (a parameter's last value; empty ones left out, as an empty form field)."""
    return {key: values[-1] for key, values in request.GET.lists() if values and values[-1] != ""}


def _stats_page(request: HtmxRequest, access: ProjectAccess, version: DatasetVersion | None) -> HttpResponse:
    project = access.project
    params = _params(request)
    # The coverage form's first step names a key without targets yet: the page then asks for them.
    coverage_key = params.get("coverage", "")
    if coverage_key and not any(name.startswith(TARGET_PREFIX) for name in params):
        del params["coverage"]
    error = ""
    try:
        query = stats_query(params, project=project)
    except StatsRequestError as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from None
        error = exc.message
        query = stats_query({}, project=project)
    result = stats_for(project=project, version=version, query=query, user=access.user)
    if request.htmx:
        # The progress bar polls this page: once the job is done, the whole page is drawn again.
        if not result.pending:
            return HttpResponseClientRefresh()
        return render(request, "curation/_stats_progress.html", _progress(result))
    context = {
        "project": project,
        "access": access,
        "version": version,
        "current": "version" if version else "",
        "crumb": "Statistics",
        "error": error,
        "query": query,
        "result": result,
        "coverage_key": coverage_key,
        "base_url": request.path,
        **_figures_context(result, params, version, coverage_key),
        "versions": [
            other
            for other in DatasetVersion.objects.ready().for_project(project).only("pk", "name")[:COMPARABLE_VERSIONS]
            if version is None or other.pk != version.pk
        ],
    }
    return render(request, "curation/stats.html", context, status=400 if error else 200)


def _progress(result: StatsResult) -> dict[str, Any]:
    return {"pending": result.pending, "polling": any(not job.is_finished for job in result.pending)}


def _figures_context(
    result: StatsResult, params: dict[str, str], version: DatasetVersion | None, coverage_key: str
) -> dict[str, Any]:
    if result.stats is None:
        return _progress(result)
    stats = result.stats.payload
    figures, chosen = stats, None
    slices = slice_rows(stats) if result.query.slice_key else []
    wanted = params.get("value")
    if wanted is not None and stats.get("slice"):
        chosen = next((entry for entry in stats["slice"]["values"] if entry["value"] == wanted), None)
        if chosen is not None:
            figures = chosen["figures"]
    coverage = result.coverage
    coverage_values = [value for value, _ in (stats["metadata"].get(coverage_key) or {}).get("values", [])]
    comparison = result.comparison
    return {
        "stats": stats,
        "stored": result.stats,
        "chosen": chosen,
        "tables": figures_tables(figures),
        "charts": figures_charts(figures),
        "slices": slices,
        "slice_chart": {"labels": [row["value"] for row in slices], "counts": [row["examples"] for row in slices]},
        "metadata_keys": sorted(stats["metadata"]),
        "comparison": comparison_tables(comparison) if comparison else None,
        "compared": result.compared,
        "coverage": coverage_table(coverage) if coverage else None,
        "target_inputs": [
            (value, params.get(TARGET_PREFIX + value, ""))
            for value in [
                *coverage_values[:TARGET_INPUTS],
                *(value for value in result.query.targets if value not in coverage_values[:TARGET_INPUTS]),
            ]
        ],
        "sample_url": reverse("curation:version_stats_sample", args=[version.pk])
        if version
        else reverse("curation:project_stats_sample", args=[result.stats.project_id]),
    }


@login_required
def version_stats(request: HtmxRequest, version_id: int) -> HttpResponse:
    version, access = version_access(request.user, version_id)
    return _stats_page(request, access, version)


@login_required
def project_stats(request: HtmxRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_browse_examples)
    return _stats_page(request, access, None)


def _sample_page(request: HtmxRequest, access: ProjectAccess, version: DatasetVersion | None) -> HttpResponse:
    """The random sample the statistics drew of a slice (or of everything), shown in full."""
    project = access.project
    params = _params(request)
    stats_url = (
        reverse("curation:version_stats", args=[version.pk])
        if version
        else reverse("curation:project_stats", args=[project.pk])
    )
    try:
        query = stats_query({"slice": params.get("slice", "")}, project=project)
    except StatsRequestError:
        return redirect(stats_url)
    result = stats_for(project=project, version=version, query=query, user=access.user)
    if result.stats is None:
        return redirect(f"{stats_url}?{request.GET.urlencode()}")
    stats = result.stats.payload
    value = params.get("value")
    ids = stats["sample"]
    if query.slice_key and value is not None:
        entry = next((e for e in (stats.get("slice") or {}).get("values", []) if e["value"] == value), None)
        if entry is None:
            raise Http404("No such slice.")
        ids = entry["figures"]["sample"]
    if version is not None:
        members = VersionMember.objects.filter(version=version, example_id__in=ids).select_related("example")
        shown = [Shown.of_member(member) for member in members.order_by("example_id")]
    else:
        examples = Example.objects.filter(project=project, pk__in=ids).order_by("pk")
        shown = [Shown(e.pk, e.external_id, e.content) for e in examples]
    context = {
        "project": project,
        "access": access,
        "version": version,
        "current": "version" if version else "",
        "crumb": "Sample",
        "stats_url": stats_url,
        "slice_key": query.slice_key,
        "value": value,
        "other": value == OTHER,
        "examples": shown,
        "computed_at": result.stats.computed_at,
    }
    return render(request, "curation/stats_sample.html", context)


@login_required
def version_stats_sample(request: HtmxRequest, version_id: int) -> HttpResponse:
    version, access = version_access(request.user, version_id)
    return _sample_page(request, access, version)


@login_required
def project_stats_sample(request: HtmxRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_browse_examples)
    return _sample_page(request, access, None)
