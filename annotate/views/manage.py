"""Managing a project in the browser: creating one (any signed-in user, who becomes its manager), and its settings
and questions (managers), through the services the API uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse

from annotate import question_editor as editor
from annotate.access import may_manage, project_access, signed_in
from annotate.models.project import MAX_ASSIGNMENT_TIMEOUT, MAX_OVERLAP, MIN_ASSIGNMENT_TIMEOUT, Project
from annotate.questions import LEVELS
from annotate.services import QuestionsRefused, project_create, project_update, questions_set
from annotate.services.questions import answer_counts

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    overlap = forms.IntegerField(
        label="Annotators per example",
        min_value=1,
        max_value=MAX_OVERLAP,
        initial=1,
        help_text="How many different annotators label each example (the overlap).",
    )
    assignment_timeout = forms.IntegerField(
        label="Assignment timeout (seconds)",
        min_value=MIN_ASSIGNMENT_TIMEOUT,
        max_value=MAX_ASSIGNMENT_TIMEOUT,
        initial=Project._meta.get_field("assignment_timeout").default,
        help_text="How long an annotator may hold an example before it goes back to the queue (3600 is an hour).",
    )


class NewProjectForm(ProjectForm):
    guideline = forms.CharField(
        required=False,
        strip=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown; the first version of the guideline (you can edit it later, with a live preview).",
    )

    def clean_guideline(self) -> str:
        text: str = self.cleaned_data["guideline"]
        return text.replace("\r\n", "\n").replace("\r", "\n")


def _editor_context(rows: list[editor.Row], focus: str = "") -> dict[str, Any]:
    return {
        "rows": rows,
        "blank_row": editor.Row(),
        "kinds": editor.KIND_NAMES,
        "levels": LEVELS,
        "focus": focus,
        "editor_errors": any(row.errors for row in rows),
    }


def _focus_after(action: str, rows: list[editor.Row]) -> str:
    """Where the keyboard focus goes once the page comes back from an editor button (no JavaScript): the same
    button of the row that moved, or the new row's name."""
    if action == "add":
        return f"{editor.PREFIX}-{len(rows) - 1}-name"
    verb, _, number = action.partition("-")
    if not number.isdigit():
        return ""
    index = int(number) + {"up": -1, "down": 1}.get(verb, 0)
    index = max(0, min(index, len(rows) - 1))
    return f"{editor.PREFIX}-{index}-{verb}" if verb in ("up", "down") else f"{editor.PREFIX}-{index}-name"


@login_required
def project_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request.user)
    rows: list[editor.Row] = []
    focus = ""
    form = NewProjectForm()
    if request.method == "POST":
        rows = editor.rows_from(request.POST)
        action = request.POST.get("editor", "")
        if action:
            # An editor button: the page comes back rearranged, nothing is checked or saved.
            rows = editor.rearrange(rows, action)
            focus = _focus_after(action, rows)
            form = NewProjectForm(initial=request.POST.dict())
        else:
            form = NewProjectForm(request.POST)
            specs = editor.checked(rows)
            if form.is_valid() and specs is not None:
                data = form.cleaned_data
                project = project_create(
                    name=data["name"],
                    description=data["description"],
                    overlap=data["overlap"],
                    assignment_timeout=data["assignment_timeout"],
                    guideline_text=data["guideline"],
                    questions=specs,
                    created_by=user,
                )
                messages.success(request, f"Created the project “{project.name}”. You are its manager.")
                return redirect(project)
    context = {"form": form, **_editor_context(rows, focus)}
    invalid = form.is_bound and (bool(form.errors) or context["editor_errors"])
    return render(request, "annotate/project_new.html", context, status=400 if invalid else 200)


@login_required
def project_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    """The project's settings and its questions: two forms on one page (``form`` says which was posted)."""
    access = project_access(request.user, project_id, may=may_manage)
    project = access.project
    posted = request.POST.get("form") if request.method == "POST" else None
    initial = {field: getattr(project, field) for field in ProjectForm.base_fields}
    form = ProjectForm(request.POST if posted == "project" else None, initial=initial)
    if posted == "project" and form.is_valid():
        changed = {field: form.cleaned_data[field] for field in form.changed_data}
        if changed:
            project_update(project=project, **changed)
            messages.success(request, "Saved the project's settings.")
        return redirect("annotate:project_settings", project_id=project.pk)

    questions = list(project.questions.order_by("position", "id"))
    counts = answer_counts(project, questions)
    focus = ""
    if posted == "questions":
        rows = editor.rows_from(request.POST)
        for row in rows:
            row.answers = counts.get(row.original) if row.original is not None else None
        action = request.POST.get("editor", "")
        if action:
            rows = editor.rearrange(rows, action)
            focus = _focus_after(action, rows)
        elif (specs := editor.checked(rows)) is not None:
            try:
                questions_set(project=project, edits=editor.edits_from(rows, specs))
            except QuestionsRefused as exc:
                editor.place_errors(rows, exc.errors)
            else:
                messages.success(request, "Saved the questions.")
                return redirect(f"{reverse('annotate:project_settings', args=[project.pk])}#questions-heading")
    else:
        rows = [editor.row_of(question, counts.get(question.pk)) for question in questions]
    context = {"project": project, "access": access, "form": form, **_editor_context(rows, focus)}
    invalid = bool(form.is_bound and form.errors) or context["editor_errors"]
    return render(request, "annotate/project_settings.html", context, status=400 if invalid else 200)


urlpatterns: list[URLPattern] = [
    path("projects/new/", project_new, name="project_new"),
    path("projects/<int:project_id>/settings/", project_settings, name="project_settings"),
]
