"""The members page: who works on the project in which role. Reviewers and managers read it (as in the API);
managers add members by username, change roles and remove members; staff may also create users here. The rules
(a project keeps a manager; a member who leaves gives back the example they hold) are the services'."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from annotate.access import STAFF_ONLY, ProjectAccess, may_create_users, may_manage, may_see_members, project_access
from annotate.models import Role
from annotate.services import FieldErrors, ServiceError, member_remove, member_set, user_create

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)


class NewUserForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="Letters, digits and @ . + - _")
    password = forms.CharField(strip=False, widget=forms.PasswordInput(render_value=False))
    email = forms.CharField(label="E-mail (optional)", required=False)
    role = forms.ChoiceField(
        label="Add to this project as",
        choices=[*Role.choices, ("", "Do not add them")],
        initial=Role.ANNOTATOR,
        required=False,
    )


def _page(
    request: HttpRequest,
    access: ProjectAccess,
    *,
    member_form: MemberForm | None = None,
    user_form: NewUserForm | None = None,
    status: int = 200,
) -> HttpResponse:
    project = access.project
    context: dict[str, Any] = {
        "project": project,
        "access": access,
        "memberships": project.memberships.select_related("user").order_by("user__username"),
        "roles": Role.choices,
        "member_form": member_form or MemberForm(),
        "user_form": (user_form or NewUserForm()) if may_create_users(access.user) else None,
    }
    return render(request, "annotate/members.html", context, status=status)


def _refused(form: forms.Form, exc: ServiceError) -> bool:
    """Put a service's refusal beside the field it names, if the form has that field."""
    errors = exc.errors if isinstance(exc, FieldErrors) else {exc.field: exc.message} if exc.field else {}
    placed = {field: message for field, message in errors.items() if field in form.fields}
    for field, message in placed.items():
        form.add_error(field, f"{message[:1].upper()}{message[1:]}.")
    return bool(placed)


@login_required
def member_list(request: HttpRequest, project_id: int) -> HttpResponse:
    """The list; a POST adds a member or changes a member's role (``member_set`` does both)."""
    if request.method != "POST":
        return _page(request, project_access(request.user, project_id, may=may_see_members))
    access = project_access(request.user, project_id, may=may_manage)
    form = MemberForm(request.POST)
    if not form.is_valid():
        return _page(request, access, member_form=form, status=400)
    username, role = form.cleaned_data["username"], form.cleaned_data["role"]
    try:
        membership, created = member_set(project=access.project, username=username, role=role)
    except ServiceError as exc:
        if _refused(form, exc):
            return _page(request, access, member_form=form, status=400)
        messages.error(request, f"{exc.message[:1].upper()}{exc.message[1:]}.")  # e.g. the last manager
        return redirect("annotate:members", project_id=access.project.pk)
    name = membership.user.get_username()
    messages.success(request, f"Added {name} as {role}." if created else f"{name} is now {role}.")
    return redirect("annotate:members", project_id=access.project.pk)


@login_required
@require_POST
def member_leave(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_access(request.user, project_id, may=may_manage)
    username = request.POST.get("username", "")
    try:
        member_remove(project=access.project, username=username)
    except ServiceError as exc:
        messages.error(request, f"{exc.message[:1].upper()}{exc.message[1:]}.")
    else:
        messages.success(request, f"Removed {username} from the project; any example they held is back in the queue.")
    return redirect("annotate:members", project_id=access.project.pk)


@login_required
@require_POST
def user_new(request: HttpRequest, project_id: int) -> HttpResponse:
    """Staff create a user (the rules of ``POST /api/v1/users/``) and, if a role is chosen, add them here."""
    access = project_access(request.user, project_id, may=may_manage)
    if not may_create_users(access.user):
        raise PermissionDenied(STAFF_ONLY)
    form = NewUserForm(request.POST)
    if not form.is_valid():
        return _page(request, access, user_form=form, status=400)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            user = user_create(username=data["username"], password=data["password"], email=data["email"])
            if data["role"]:
                member_set(project=access.project, username=user.get_username(), role=data["role"])
    except ServiceError as exc:
        if not _refused(form, exc):
            form.add_error(None, exc.message)
        return _page(request, access, user_form=form, status=400)
    added = f" and added them as {data['role']}" if data["role"] else ""
    messages.success(request, f"Created the user {user.get_username()}{added}.")
    return redirect("annotate:members", project_id=access.project.pk)


urlpatterns: list[URLPattern] = [
    path("projects/<int:project_id>/members/", member_list, name="members"),
    path("projects/<int:project_id>/members/remove/", member_leave, name="member_remove"),
    path("projects/<int:project_id>/members/users/", user_new, name="user_new"),
]
