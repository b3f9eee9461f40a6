from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from annotate.access import signed_in
from annotate.models import Example, Guideline, Membership, Project, Question
from annotate.services import guideline_add, project_update


class MembershipReadOnly:
    """Shown, never written here: members change on the project's members page or through the API, whose service
    keeps the queue (what a removed member held goes back) and the last-manager rule in step."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(MembershipReadOnly, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = fields


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "name", "kind", "options", "required", "level"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    """Projects are created in the app (which makes their first manager and guideline); here their settings change
    through ``project_update``, so that a new overlap reaches every example in the queue."""

    list_display = ["name", "overlap", "created_by", "created_at"]
    search_fields = ["name", "description"]
    date_hierarchy = "created_at"
    fields = ["name", "description", "overlap", "assignment_timeout", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [MembershipInline, QuestionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Project, form: Any, change: bool) -> None:
        settings = {field: getattr(obj, field) for field in ("name", "description", "assignment_timeout")}
        overlap = obj.overlap if "overlap" in form.changed_data else None
        project_update(project=obj, overlap=overlap, **settings)


@admin.register(Membership)
class MembershipAdmin(MembershipReadOnly, admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "project__name"]
    list_select_related = ["user", "project"]
    autocomplete_fields = ["user", "project"]


@admin.register(Guideline)
class GuidelineAdmin(admin.ModelAdmin):
    """Guideline versions are never edited; adding one goes through the service so it gets the next version."""

    list_display = ["project", "version", "created_by", "created_at"]
    search_fields = ["project__name", "text"]
    list_select_related = ["project", "created_by"]
    autocomplete_fields = ["project"]

    def get_readonly_fields(self, request: HttpRequest, obj: Guideline | None = None) -> list[str]:
        return ["project", "version", "text", "created_by", "created_at"] if obj else []

    def get_fields(self, request: HttpRequest, obj: Guideline | None = None) -> tuple[str, ...]:
        return ("project", "version", "text", "created_by", "created_at") if obj else ("project", "text")

    def has_change_permission(self, request: HttpRequest, obj: Guideline | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Guideline, form: Any, change: bool) -> None:
        saved = guideline_add(project=obj.project, text=obj.text, created_by=signed_in(request.user))
        obj.pk, obj.version = saved.pk, saved.version
        obj.created_by, obj.created_at = saved.created_by, saved.created_at
        obj._state.adding = False


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "required", "level", "position"]
    list_filter = ["kind", "level", "required"]
    search_fields = ["name", "project__name"]
    list_select_related = ["project"]
    autocomplete_fields = ["project"]


@admin.register(Example)
class ExampleAdmin(admin.ModelAdmin):
    """Read-only: examples are immutable once imported (the database refuses updates too)."""

    list_display = ["external_id", "project", "shape", "created_at"]
    list_filter = ["project"]
    search_fields = ["external_id", "content_hash"]
    list_select_related = ["project"]
    readonly_fields = ["project", "external_id", "content", "metadata", "content_hash", "created_at"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Example | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Example | None = None) -> bool:
        return False
