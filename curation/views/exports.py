"""The export page of a version (managers): choose a format and its options, check what would be written (rows,
and every example left out with the reason), download the file now, or run an export job that writes train/eval
files with their manifest; past exports with their files and manifests. And the project's chat templates: the
built-in ones, the project's own, and a preview of any on real rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotate.access import may_manage, project_access
from annotate.models import Question
from curation import chat_templates, formats
from curation.access import template_for, version_access
from curation.export.labels import MODES
from curation.export.options import ALL_FORMATS, DOWNLOAD_OPTIONS, FILES, JOB_OPTIONS, OptionError
from curation.export.service import check, export_start, plan_export
from curation.models import ChatTemplate, DatasetVersion, Export
from curation.services.templates import TemplateRequestError, preview, template_save

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

FLAGS = ("zscore", "conversational", "with_id")
FORMAT_HELP = {
    "messages": "Chat messages (SFT): instruction and chat examples.",
    "prompt_completion": "Prompt and completion (SFT), split at the last assistant turn.",
    "text": "One text per row: text examples, or chats rendered with a template.",
    "preference": "Prompt, chosen and rejected (DPO): preference records, or candidates with a preference question.",
    "reward": "Prompt, completion and score: rows scored by a rating question.",
    "annotations": "Every label, with its annotator, guideline version, time and the resolution.",
}


def _options_from(post: Any) -> dict[str, Any]:
    """The form's fields as export options: empty fields are left out (their defaults apply), boxes are flags."""
    options: dict[str, Any] = {}
    for name in JOB_OPTIONS:
        if name in FLAGS:
            if post.get(name):
                options[name] = True
            continue
        value = post.get(name, "")
        if value.strip():
            options[name] = value
    return options


def _context(version: DatasetVersion, access: Any, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    project = access.project
    templates = [*chat_templates.BUILTIN, *ChatTemplate.objects.filter(project=project).values_list("name", flat=True)]
    questions = Question.objects.filter(project=project, kind__in=("preference", "rating")).order_by("position", "pk")
    exports = Export.objects.filter(version=version).select_related("created_by")[:20]
    return {
        "project": project,
        "access": access,
        "version": version,
        "crumb": "Export",
        "values": values,
        "formats": [(name, FORMAT_HELP[name]) for name in ALL_FORMATS],
        "files": FILES,
        "label_modes": MODES,
        "templates": templates,
        "questions": questions,
        "exports": exports,
        **extra,
    }


@login_required
def export_page(request: HttpRequest, version_id: int) -> HttpResponse:
    version, access = version_access(request.user, version_id, may=may_manage)
    if request.method != "POST":
        return render(
            request, "curation/export.html", _context(version, access, {"format": "messages", "file": "jsonl"})
        )
    values = _options_from(request.POST)
    action = request.POST.get("action", "check")
    download_only = {k: v for k, v in values.items() if k in DOWNLOAD_OPTIONS}
    try:
        if action == "job":
            job = export_start(version=version, user=access.user, raw=values)
            return redirect("curation:job_detail", job.pk)
        if any(k not in DOWNLOAD_OPTIONS for k in values) and action == "download":
            raise OptionError("eval_fraction", "a download is one file: run an export job for a train/eval split")
        plan = plan_export(version, download_only, job=False)
        if action == "download":
            return redirect(
                reverse("api:version-export", kwargs={"version_id": version.pk}) + "?" + urlencode(download_only)
            )
        context = _context(version, access, values, checked=check(plan).as_dict())
        return render(request, "curation/export.html", context)
    except OptionError as exc:
        error = {"option": exc.option, "message": exc.message, "unplaced": exc.option not in JOB_OPTIONS}
        context = _context(version, access, values, error=error)
        return render(request, "curation/export.html", context, status=400)


@login_required
def template_list(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_manage)
    project = access.project
    values: dict[str, Any] = {"system": True}
    context: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", ""),
            "source": request.POST.get("source", ""),
            "special_tokens": [t.strip() for t in request.POST.get("special_tokens", "").split(",") if t.strip()],
            "alternation": bool(request.POST.get("alternation")),
            "system": bool(request.POST.get("system")),
            "bos_token": request.POST.get("bos_token", ""),
            "eos_token": request.POST.get("eos_token", ""),
        }
        try:
            if request.POST.get("action") == "save":
                template_save(project=project, user=access.user, raw=values)
                return redirect("curation:template_list", project.pk)
            raw_template: Any = request.POST.get("builtin") or values
            context["preview"] = preview(project=project, raw=raw_template, limit=5, fmt="messages")
        except TemplateRequestError as exc:
            context["error"] = {"field": exc.field, "message": exc.message, "line": exc.line}
            status = 400
    context.update(
        project=project,
        access=access,
        crumb="Chat templates",
        values=values,
        builtins=list(chat_templates.BUILTIN.values()),
        stored=ChatTemplate.objects.filter(project=project),
        formats=formats.FORMATS,
    )
    return render(request, "curation/templates.html", context, status=status)


@login_required
@require_POST
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = template_for(request.user, template_id)
    project_id = template.project_id
    template.delete()
    return redirect("curation:template_list", project_id)
