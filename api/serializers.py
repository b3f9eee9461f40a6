"""Request validation and response shapes for the v1 API (API.md). No business logic: services do the writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from annotate.counts import counts_of, counts_shown
from annotate.models import Example, Guideline, Membership, Project, Role
from annotate.models.project import MAX_ASSIGNMENT_TIMEOUT, MAX_OVERLAP, MIN_ASSIGNMENT_TIMEOUT
from annotate.questions import KINDS, LEVELS, QuestionSpec, QuestionSpecError, parse_questions
from curation.models import Job

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_stubs_ext import WithAnnotations


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class UserCreateSerializer(serializers.Serializer):
    """The shape of the request; the rules for a username, password and e-mail address are the service's
    (annotate.services.users), which the members page uses too."""

    username = serializers.CharField(trim_whitespace=False, help_text="Letters, digits and @.+-_, at most 150")
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    email = serializers.CharField(required=False, allow_blank=True, default="", help_text="An e-mail address")
    id = serializers.IntegerField(read_only=True)


QUESTION_SCHEMA = {
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
        "help": {"type": "string", "default": "", "description": "Shown to annotators under the question"},
    },
}


@extend_schema_field({"type": "array", "items": QUESTION_SCHEMA})
class QuestionListField(serializers.Field[list[QuestionSpec], object, list[dict[str, Any]], object]):
    """Question definitions, checked by annotate.questions (the same rules the pages use)."""

    def to_internal_value(self, data: object) -> list[QuestionSpec]:
        try:
            return parse_questions(data)
        except QuestionSpecError as exc:
            raise serializers.ValidationError(exc.errors) from None

    def to_representation(self, value: list[QuestionSpec]) -> list[dict[str, Any]]:
        return [spec.as_dict() for spec in value]


# A question's keys to change (the rest stay as they are), for the schema: what is sent is checked as a whole
# question by annotate.questions, the rules the pages use. Built from a dict: a field named "required" cannot be a
# class attribute of a serializer (it is one of Field's own).
QuestionChangeSerializer = inline_serializer(
    name="QuestionChange",
    fields={
        "name": serializers.CharField(required=False),
        "kind": serializers.ChoiceField(choices=KINDS, required=False),
        "labels": serializers.ListField(child=serializers.CharField(), required=False),
        "min": serializers.IntegerField(required=False),
        "max": serializers.IntegerField(required=False),
        "required": serializers.BooleanField(required=False),
        "level": serializers.ChoiceField(choices=LEVELS, allow_null=True, required=False),
        "help": serializers.CharField(
            required=False, allow_blank=True, help_text="Shown to annotators under the question"
        ),
    },
)


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
        min_value=MIN_ASSIGNMENT_TIMEOUT,
        max_value=MAX_ASSIGNMENT_TIMEOUT,
        required=False,
        help_text="Seconds an annotator may hold an example",
    )


class GuidelineSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Guideline
        fields = ["version", "text", "note", "created_by", "created_at"]
        read_only_fields = ["version", "created_by", "created_at"]
        extra_kwargs = {
            "text": {"required": True, "allow_blank": True, "trim_whitespace": False},
            "note": {"required": False, "allow_blank": True, "default": ""},
        }


class GuidelineSummary(TypedDict):
    """The current guideline, as api.views.projects.with_summary annotates each project (None: it has none)."""

    guideline_version: int | None
    guideline_text: str | None


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
    def get_guideline(self, project: WithAnnotations[Project, GuidelineSummary]) -> dict[str, Any] | None:
        if project.guideline_version is None:
            return None
        return {"version": project.guideline_version, "text": project.guideline_text}

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "examples": {"type": "integer"},
                "annotations": {"type": "integer"},
                "completed": {"type": "integer", "nullable": True},
                "scope": {"type": "string", "enum": ["project", "own"]},
            },
        }
    )
    def get_counts(self, project: Project) -> dict[str, int | str | None]:
        """``completed``: examples whose current round has all the annotations it needs. Annotators see their own
        annotations only (``scope: own``, ``completed`` null): the project's would tell them about others' work."""
        return counts_shown(counts_of(project), self._role(project)).as_dict()

    @extend_schema_field({"type": "string", "enum": Role.values, "nullable": True})
    def get_role(self, project: Project) -> str | None:
        role = self._role(project)
        return role.value if role else None

    def _role(self, project: Project) -> Role | None:
        role: Role | None = self.context.get("roles", {}).get(project.pk)
        return role


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
    project: serializers.PrimaryKeyRelatedField[Project] = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

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


LABEL_RECORD_SCHEMA = {
    "type": "object",
    "required": ["example", "annotator", "answers"],
    "properties": {
        "example": {"type": "string", "description": "The example's id in the project (external_id)."},
        "annotator": {
            "type": "string",
            "description": "A username; unknown ones become annotators who cannot sign in.",
        },
        "answers": {"type": "object", "description": '{"<question>": <value>}, checked as a submit checks them.'},
        "submitted_at": {"type": "string", "format": "date-time", "description": "With a timezone; default: now."},
        "duration_ms": {"type": "integer", "minimum": 0},
        "guideline_version": {"type": "integer", "minimum": 1, "description": "Default: the current version."},
    },
}


@extend_schema_field({"type": "array", "items": LABEL_RECORD_SCHEMA, "minItems": 1})
class LabelRecordListField(serializers.ListField):
    """Label records as posted: each is checked by the job, which names every bad one (a bad record is not a 400)."""

    child = serializers.JSONField()


class LabelImportRecordsSerializer(serializers.Serializer):
    records = LabelRecordListField(allow_empty=False)


class LabelImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "JSON Lines, a JSON list, CSV (answers as a JSON object in an 'answers' column) or Parquet, one label "
            "per record; optionally gzipped (.gz)."
        )
    )


@extend_schema_field(OpenApiTypes.OBJECT)
class JobEnvelopeSerializer(serializers.Serializer):
    job = JobSerializer()
