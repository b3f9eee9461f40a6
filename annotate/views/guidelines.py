"""Guideline pages: managers edit the guideline (each save is a new version); reviewers and managers read the
versions and their differences, and send back the examples resolved as, e.g., "guideline unclear"."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from annotate.access import may_manage, may_reopen, may_see_guideline_history, project_access
from annotate.markdown import render_markdown
from annotate.models import Guideline, Project, Resolution
from annotate.services import guideline_add, reviews

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


class GuidelineForm(forms.Form):
    text = forms.CharField(required=False, strip=False, max_length=200_000, widget=forms.Textarea)
    note = forms.CharField(
        label="What changed",
        required=False,
        max_length=Guideline._meta.get_field("note").max_length,
        help_text="A short note for this version, shown beside its changes, e.g. “code vs math made clearer”.",
    )

    def clean_text(self) -> str:
        # Browsers post textareas with CRLF; stored versions use LF so that diffs show real changes only.
        text: str = self.cleaned_data["text"]
        return text.replace("\r\n", "\n").replace("\r", "\n")


@login_required
def guideline_edit(request: HttpRequest, project_id: int) -> HttpResponse:
    """The editor. "Preview" (the button, for a page without JavaScript) shows the text as annotators will see it
    without saving; the page's live preview asks ``guideline_preview`` as you type."""
    access = project_access(request.user, project_id, may=may_manage)
    project = access.project
    current = project.current_guideline()
    form = GuidelineForm(request.POST if request.method == "POST" else None, initial={"text": current and current.text})
    preview = None
    if form.is_bound and form.is_valid():
        text = form.cleaned_data["text"]
        if "preview" in request.POST:
            preview = render_markdown(text)
        elif current is not None and text == current.text:
            messages.info(request, f"No changes: the guideline stays at version {current.version}.")
            return redirect("annotate:guideline_versions", project_id=project.pk)
        else:
            guideline = guideline_add(
                project=project, text=text, note=form.cleaned_data["note"], created_by=access.user
            )
            messages.success(request, f"Saved the guideline as version {guideline.version}.")
            return redirect(f"{reverse('annotate:guideline_versions', args=[project.pk])}?version={guideline.version}")
    if preview is None:
        preview = render_markdown(form["text"].value() or "")
    context = {"project": project, "access": access, "form": form, "current": current, "preview": preview}
    return render(request, "annotate/guideline_edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def guideline_preview(request: HttpRequest, project_id: int) -> HttpResponse:
    """The posted text as annotators will see it: the sanitised renderer the pages use, as an HTML fragment."""
    project_access(request.user, project_id, may=may_manage)
    form = GuidelineForm(request.POST)
    text = form.cleaned_data["text"] if form.is_valid() else ""
    return render(request, "annotate/_guideline_preview.html", {"preview": render_markdown(text)})


def diff_lines(before: str, after: str) -> list[tuple[str, str]]:
    """A unified diff of two guideline texts as (kind, line): kind is add, remove, same or hunk."""
    kinds = {"+": "add", "-": "remove", " ": "same", "@": "hunk"}
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3)
    shown_lines: list[tuple[str, str]] = []
    for line in lines:
        if line.startswith(("---", "+++")) and not shown_lines:
            continue  # the file header; there are no file names here
        kind = kinds.get(line[:1], "same")
        shown_lines.append((kind, line if kind == "hunk" else line[1:]))
    return shown_lines


def resolved_with_note(project: Project, text: str) -> list[Resolution]:
    return list(
        Resolution.objects.filter(project=project, note__icontains=text)
        .select_related("example", "question", "reviewer")
        .order_by("example_id", "question__position")
    )


@login_required
def guideline_versions(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_see_guideline_history)
    project = access.project
    versions = list(project.guidelines.select_related("created_by").order_by("-version"))
    chosen = versions[0] if versions else None
    if "version" in request.GET:
        chosen = next((g for g in versions if str(g.version) == request.GET["version"]), None)
        if chosen is None:
            raise Http404("No such guideline version.")
    before = next((g for g in versions if chosen and g.version == chosen.version - 1), None)
    note = request.GET.get("note", "").strip()[:200] if access.may_reopen else ""
    matches = resolved_with_note(project, note) if note else []
    context = {
        "project": project,
        "versions": versions,
        "chosen": chosen,
        "before": before,
        "chosen_html": render_markdown(chosen.text) if chosen else "",
        "diff": diff_lines(before.text if before else "", chosen.text) if chosen else [],
        "access": access,
        "note": note,
        "matches": matches[:50],
        "match_examples": len({r.example_id for r in matches}),
    }
    return render(request, "annotate/guideline_versions.html", context)


@login_required
@require_POST
def guideline_reopen(request: HttpRequest, project_id: int) -> HttpResponse:
    """Send back every example resolved with a note containing the given text."""
    project = project_access(request.user, project_id, may=may_reopen).project
    note = request.POST.get("note", "").strip()[:200]
    back = reverse("annotate:guideline_versions", args=[project.pk])
    if not note:
        # An empty text would match every resolution: refuse rather than reopen the whole project.
        messages.error(request, "Enter the text the resolutions' notes contain, e.g. “guideline unclear”.")
        return redirect(back)
    ids = sorted({r.example_id for r in resolved_with_note(project, note)})
    if not ids:
        messages.info(request, f"No resolution has a note containing “{note}”; nothing was sent back.")
        return redirect(f"{back}?{urlencode({'note': note})}")
    count = reviews.reopen(project=project, example_ids=ids)
    guideline = project.current_guideline()
    under = f" under guideline version {guideline.version}" if guideline else ""
    messages.success(request, f"Sent {count} example{'s' * (count != 1)} back for re-annotation{under}.")
    return redirect(back)


urlpatterns: list[URLPattern] = [
    path("projects/<int:project_id>/guidelines/", guideline_versions, name="guideline_versions"),
    path("projects/<int:project_id>/guidelines/edit/", guideline_edit, name="guideline_edit"),
    path("projects/<int:project_id>/guidelines/preview/", guideline_preview, name="guideline_preview"),
    path("projects/<int:project_id>/guidelines/reopen/", guideline_reopen, name="guideline_reopen"),
]
