"""Response shapes for exports and chat templates (API.md, "Export")."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework import serializers

from curation import chat_templates
from curation.export.manifest import template_record
from curation.models import ChatTemplate, Export


class ExportSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    files = serializers.SerializerMethodField()
    manifest_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "project",
            "version",
            "job",
            "params",
            "files",
            "manifest",
            "manifest_url",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def _url(self, export: Export, name: str) -> str:
        path = reverse("api:export-file", kwargs={"export_id": export.pk, "name": name})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_files(self, export: Export) -> list[dict[str, Any]]:
        return [{**entry, "url": self._url(export, entry["name"])} for entry in export.files]

    def get_manifest_url(self, export: Export) -> str:
        return self._url(export, "manifest.json")


class ChatTemplateSerializer(serializers.ModelSerializer):
    # The built-in templates are listed with these fields too, as null: they are no row of the database.
    id = serializers.IntegerField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    builtin = serializers.SerializerMethodField()

    class Meta:
        model = ChatTemplate
        fields = [
            "id",
            "name",
            "builtin",
            "source",
            "special_tokens",
            "alternation",
            "system",
            "bos_token",
            "eos_token",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "builtin", "created_at", "updated_at"]

    def get_builtin(self, template: ChatTemplate) -> bool:  # the built-in ones are listed by builtin_templates
        return False


def builtin_templates() -> list[dict[str, Any]]:
    """The built-in templates in the list's shape (they have no id or times: they are no row)."""
    return [
        {"id": None, **template_record(template, builtin=True), "created_at": None, "updated_at": None}
        for template in chat_templates.BUILTIN.values()
    ]
