"""Request validation and response shapes for the v1 API (API.md). No business logic: services do the writes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotate.models import Example, Guideline, Membership, Project, Role
from annotate.questions import QuestionSpec, QuestionSpecError, parse_question, parse_questions
from curation.models import Job

MAX_OVERLAP = 50


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class UserCreateSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", max_length=150)
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    id = serializers.IntegerField(read_only=True)

    def validate_username(self, value: str) -> str:
        if get_user_model().objects.filter(username=value).exists():
            raise serializers.ValidationError(f"a user named {value!r} already exists")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = get_user_model()(username=attrs["username"], email=attrs.get("email", ""))
        try:
            password_validation.validate_password(attrs["password"], user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class QuestionField(serializers.JSONField):
    """One question definition, checked by annotate.questions (the same rules the pages use)."""

    def to_internal_value(self, data: Any) -> QuestionSpec:
        try:
            return parse_question(data)
        except QuestionSpecError as exc:
            raise serializers.ValidationError(exc.errors) from None


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "kind"],
            "properties": {
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": ["label", "multi_label", "rating", "text", "preference", "ranking"]},
                "labels": {"type": "array", "items": {"type": "string"}},
                "min": {"type": "integer"},
                "max": {"type": "integer"},
                "required": {"type": "boolean", "default": True},
                "level": {"type": "string", "enum": ["nominal", "ordinal", "interval", "ratio"], "nullable": True},
            },
        },
    }
)
class QuestionListField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> list[QuestionSpec]:
        try:
            return parse_questions(data)
        except QuestionSpecError as exc:
            raise serializers.ValidationError(exc.errors) from None


class ProjectWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    overlap = serializers.IntegerField(min_value=1, max_value=MAX_OVERLAP, default=1)
    guideline = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    questions = QuestionListField(required=False, default=list)


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    overlap = serializers.IntegerField(min_value=1, max_value=MAX_OVERLAP, required=False)
    assignment_timeout = serializers.IntegerField(
        min_value=60, max_value=7 * 24 * 3600, required=False, help_text="Seconds an annotator may hold an example"
    )


class GuidelineSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Guideline
        fields = ["version", "text", "created_by", "created_at"]
        read_only_fields = ["version", "created_by", "created_at"]
        extra_kwargs = {"text": {"allow_blank": True, "trim_whitespace": False}}


class ProjectSerializer(serializers.ModelSerializer):
    questions = serializers.SerializerMethodField()
    guideline = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField(help_text="The requesting user's role in the project.")

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "overlap",
            "assignment_timeout",
            "questions",
            "guideline",
            "counts",
            "role",
            "created_at",
        ]

    @extend_schema_field(QuestionListField)
    def get_questions(self, project: Project) -> list[dict[str, Any]]:
        return [question.as_spec().as_dict() for question in project.questions.all()]

    @extend_schema_field(
        {"type": "object", "nullable": True, "properties": {"version": {"type": "integer"}, "text": {"type": "string"}}}
    )
    def get_guideline(self, project: Project) -> dict[str, Any] | None:
        version = getattr(project, "guideline_version", None)
        if version is None:
            return None
        return {"version": version, "text": project.guideline_text}  # type: ignore[attr-defined]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "examples": {"type": "integer"},
                "annotations": {"type": "integer"},
                "completed": {"type": "integer"},
            },
        }
    )
    def get_counts(self, project: Project) -> dict[str, int]:
        """``completed``: examples whose current round has all the annotations it needs."""
        return {
            "examples": project.example_count,  # type: ignore[attr-defined]
            "annotations": project.annotation_count,  # type: ignore[attr-defined]
            "completed": project.completed_count,  # type: ignore[attr-defined]
        }

    def get_role(self, project: Project) -> str | None:
        return getattr(project, "user_role", None)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["username", "role"]


class ExampleSerializer(serializers.ModelSerializer):
    shape = serializers.CharField(read_only=True)

    class Meta:
        model = Example
        fields = ["id", "external_id", "content", "metadata", "shape", "content_hash", "created_at"]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    project = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "result",
            "error",
            "project",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "attempts",
            "heartbeat_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "done": {"type": "integer"},
                "total": {"type": "integer", "nullable": True},
                "stage": {"type": "string"},
                "unit": {"type": "string"},
            },
        }
    )
    def get_progress(self, job: Job) -> dict[str, Any]:
        return {"done": job.progress_done, "total": job.progress_total, "stage": job.stage, "unit": job.progress_unit}


ON_DUPLICATE_HELP = (
    "What to do with records whose content is identical to an example the project already has: 'keep' (the "
    "default) imports them too, 'skip' leaves them out. Either way they are counted in job.result.duplicates."
)


class ImportRecordsSerializer(serializers.Serializer):
    records = serializers.ListField(child=serializers.JSONField(), allow_empty=False)
    on_duplicate = serializers.ChoiceField(choices=["keep", "skip"], default="keep", help_text=ON_DUPLICATE_HELP)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    on_duplicate = serializers.ChoiceField(choices=["keep", "skip"], default="keep", help_text=ON_DUPLICATE_HELP)


@extend_schema_field(OpenApiTypes.OBJECT)
class JobEnvelopeSerializer(serializers.Serializer):
    job = JobSerializer()
