"""The quality dashboard for reviewers and managers: agreement per question with its interval, agreement by guideline
version, the pairwise kappas, and each chart's numbers as a table and as CSV. Filterable by a metadata slice.

The figures come from annotate.measures (cached until the labels change); the page draws them with Chart.js, served
from our own static files (vendor/chart.js, installed from npm), from data in a ``json_script`` block.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from annotate import annotator_report, measures, metadata
from annotate.access import may_review, project_access
from annotate.models import Project
from annotate.views import quality_tables
from annotate.views.review_common import metadata_keys

if TYPE_CHECKING:
    from django.http import HttpRequest


class SliceForm(forms.Form):
    key = forms.CharField(required=False, max_length=metadata.MAX_KEY)
    value = forms.CharField(required=False, max_length=1000)
    question = forms.CharField(required=False, max_length=100)

    def clean_key(self) -> str:
        key: str = self.cleaned_data["key"]
        if key and not metadata.filterable_key(key):
            raise forms.ValidationError("That metadata key cannot be used.")
        return key


@dataclass(frozen=True)
class Slice:
    key: str
    value: str | None  # None: the examples without the key

    @property
    def label(self) -> str:
        return f"{self.key} = {self.value}" if self.value is not None else f"{self.key} missing"


def _chosen_slice(request: HttpRequest) -> tuple[SliceForm, Slice | None]:
    form = SliceForm(request.GET)
    if not form.is_valid() or not form.cleaned_data["key"]:
        return form, None
    value = form.cleaned_data["value"]
    return form, Slice(form.cleaned_data["key"], value if "value" in request.GET and value != "" else None)


def _figures(project: Project, chosen: Slice | None) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """The agreement per question, the whole result (per guideline version; when it was computed, whether it is
    stale), and the slices there are (for the filter)."""
    if chosen is None:
        result = measures.project_agreement(project, by_guideline_version=True)
        return result["questions"], result, []
    result = measures.project_agreement(project, by=chosen.key)
    slices = result["slices"]
    picked = next((entry for entry in slices if entry["value"] == chosen.value), None)
    if picked is None:
        raise Http404("No labelled example has that metadata value.")
    return picked["questions"], result, slices


def _annotators(project: Project, request: HttpRequest, chosen: Slice | None) -> dict[str, Any] | None:
    """The annotators report of the question picked (by default the first), for the slice picked."""
    questions = list(project.questions.all())
    if not questions:
        return None
    wanted = request.GET.get("question")
    question = next((q for q in questions if q.name == wanted), questions[0])
    report = annotator_report.project_annotators(project, question, by=chosen.key if chosen else None)
    if chosen is not None:
        report = report | {
            "annotators": [row for row in report["annotators"] if row["slice"] == chosen.value],
            "flags": [flag for flag in report["flags"] if flag["slice"] == chosen.value],
        }
    # Pairs, not dicts, for the template: it cannot loop over a dict that has a key named "items".
    rows = [row | {"shares": list((row.get("label_distribution") or {}).items())} for row in report["annotators"]]
    report = report | {"annotators": rows}
    flags = [
        flag | {"figures": [(k, v) for k, v in flag["detail"].items() if k not in ("test", "p", "p_uncorrected")]}
        for flag in report["flags"]
    ]
    return {"question": question, "questions": questions, "report": report | {"flags": flags}}


@login_required
def dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_review)
    project = access.project
    form, chosen = _chosen_slice(request)
    questions, overall, slices = _figures(project, chosen)
    scale_questions = {name: figures for name, figures in questions.items() if "krippendorff_alpha" in figures}
    versions = overall.get("guideline_versions", [])
    computed_at = overall.get("computed_at")
    annotators = _annotators(project, request, chosen)
    freshness = {
        "computed_at": datetime.fromisoformat(computed_at) if computed_at else None,
        "stale": overall.get("stale", False) or bool(annotators and annotators["report"].get("stale")),
    }
    chart_data = {
        "agreement": [
            {"question": name, "alpha": figures["krippendorff_alpha"], "interval": figures["alpha_interval"]}
            for name, figures in scale_questions.items()
        ],
        "versions": [
            {
                "question": name,
                "points": [
                    {
                        "version": entry["version"],
                        "alpha": entry["questions"][name].get("krippendorff_alpha"),
                        "interval": entry["questions"][name].get("alpha_interval"),
                    }
                    for entry in versions
                ],
            }
            for name in scale_questions
        ],
    }
    chart_data |= quality_tables.annotator_charts(annotators)
    context = {
        "project": project,
        "access": access,
        "annotators": annotators,
        "form": form,
        "chosen": chosen,
        "keys": metadata_keys(project),
        "slices": slices,
        "questions": questions,
        "versions": versions,
        "freshness": freshness,
        "kappa_grids": {name: quality_tables.kappa_grid(figures) for name, figures in scale_questions.items()},
        "chart_data": chart_data,
        "query": request.GET.urlencode(),
    }
    return render(request, "annotate/quality.html", context)


@login_required
def dashboard_csv(request: HttpRequest, project_id: int, table: str) -> HttpResponse:
    """One of the dashboard's tables as CSV, for the same slice as the page."""
    if table not in quality_tables.CSV_COLUMNS:
        raise Http404("No such table.")
    project = project_access(request.user, project_id, may=may_review).project
    _, chosen = _chosen_slice(request)
    questions, overall, _ = _figures(project, chosen)
    rows: list[dict[str, Any]] = []
    if table == "agreement":
        rows = [quality_tables.agreement_row(name, figures) for name, figures in questions.items()]
    elif table == "versions":
        for entry in overall.get("guideline_versions", []):
            for name, figures in entry["questions"].items():
                if "krippendorff_alpha" in figures:
                    row = quality_tables.agreement_row(name, figures)
                    rows.append(row | {"guideline_version": entry["version"]})
    elif table in ("annotators", "flags", "fatigue"):
        rows = quality_tables.annotator_rows(table, _annotators(project, request, chosen))
    else:
        for name, figures in questions.items():
            for pair in figures.get("cohen_kappa") or []:
                first, second = pair["annotators"]
                rows.append(
                    {"question": name, "annotator": first, "other_annotator": second} | pair | {"annotators": None}
                )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=quality_tables.CSV_COLUMNS[table], extrasaction="ignore")
    writer.writeheader()
    writer.writerows({key: quality_tables.cell(value) for key, value in row.items()} for row in rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="project-{project.pk}-{table}.csv"'
    return response


urlpatterns: list[URLPattern] = [
    path("projects/<int:project_id>/quality/", dashboard, name="quality"),
    path("projects/<int:project_id>/quality/<str:table>.csv", dashboard_csv, name="quality_csv"),
]
