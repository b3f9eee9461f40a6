from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from curation.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only: a job's row is written by its task; editing it by hand would misreport what happened."""

    list_display = [
        "id",
        "kind",
        "status",
        "stage",
        "percent",
        "attempts",
        "project",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["project__name", "created_by__username"]
    list_select_related = ["project", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Job._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False
