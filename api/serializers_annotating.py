"""Request validation and response shapes for annotating and reviewing (API.md, Annotating and Reviewing).

Answers and resolved values are checked by the services against the question (the same rules as the pages);
these serializers only check that the request has the right shape and types.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from annotate.models import Annotation, AnnotationRevision, Assignment, Question, Resolution
from annotate.review_queue import Case
from api.serializers import ExampleSerializer

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_ID = 2**63 - 1
MAX_EXAMPLES_PER_REQUEST = 10_000
MAX_NOTE = 10_000


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """An example id: a positive integer the database can hold (so a huge number is a 400, not a 500)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def query_params(request: Request) -> dict[str, str]:
    """The query string as a plain dict for a filter serializer (a parameter given twice counts once, as its last
    value); an empty parameter counts as absent."""
    return {key: values[-1] for key, values in request.query_params.lists() if values and values[-1] != ""}


@extend_schema_field(OpenApiTypes.ANY)
class AnyJSONField(serializers.JSONField):
    """Any JSON value (an answer may be a string, a number or a list)."""


# Annotating


class AssignmentSerializer(serializers.ModelSerializer):
    expires_at = serializers.SerializerMethodField(help_text="When the example is released to others if not done.")

    class Meta:
        model = Assignment
        fields = ["id", "round", "status", "assigned_at", "expires_at"]
        read_only_fields = fields

    def get_expires_at(self, assignment: Assignment) -> str:
        expires = assignment.assigned_at + timedelta(seconds=self.context["assignment_timeout"])
        return serializers.DateTimeField().to_representation(expires)


class NextSerializer(serializers.Serializer):
    example = ExampleSerializer()
    guideline_version = serializers.IntegerField(
        allow_null=True, help_text="The current guideline version, stored with the annotation when it is submitted."
    )
    assignment = AssignmentSerializer()


class AnnotationSerializer(serializers.ModelSerializer):
    annotator: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    answers = serializers.DictField(child=AnyJSONField(), read_only=True)
    display_order = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        read_only=True,
        help_text="The order the candidate responses were shown in (indices into content.responses).",
    )

    class Meta:
        model = Annotation
        fields = [
            "id",
            "example",
            "project",
            "annotator",
            "answers",
            "guideline_version",
            "round",
            "display_order",
            "started_at",
            "submitted_at",
            "duration_ms",
        ]
        read_only_fields = fields


class AnnotationRevisionSerializer(serializers.ModelSerializer):
    answers = serializers.DictField(child=AnyJSONField(), read_only=True)

    class Meta:
        model = AnnotationRevision
        fields = [
            "answers",
            "guideline_version",
            "round",
            "display_order",
            "submitted_at",
            "duration_ms",
            "replaced_at",
        ]
        read_only_fields = fields


class AnnotationDetailSerializer(AnnotationSerializer):
    revisions = AnnotationRevisionSerializer(
        many=True, read_only=True, help_text="Earlier answers of this annotation, most recent first."
    )

    class Meta(AnnotationSerializer.Meta):
        fields = [*AnnotationSerializer.Meta.fields, "revisions"]
        read_only_fields = fields


class AnnotationSubmitSerializer(serializers.Serializer):
    example = id_field()
    answers = serializers.DictField(
        child=AnyJSONField(allow_null=True), help_text='{"<question>": <value>}, checked against each question.'
    )
    duration_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0, help_text="Time on task.")
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    display_order = AnyJSONField(
        required=False,
        allow_null=True,
        help_text="For examples with candidate responses: the order they were shown in, e.g. [1, 0].",
    )


class AnnotationFilterSerializer(serializers.Serializer):
    example = id_field(required=False)
    annotator = serializers.CharField(required=False, max_length=150)


class ExampleRefSerializer(serializers.Serializer):
    example = id_field()


# Reviewing


class ResolutionSerializer(serializers.ModelSerializer):
    question: serializers.SlugRelatedField[Question] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    reviewer: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    value = AnyJSONField(read_only=True)

    class Meta:
        model = Resolution
        fields = ["example", "question", "value", "method", "reviewer", "note", "resolved_at"]
        read_only_fields = fields


class ResolutionSetSerializer(serializers.Serializer):
    example = id_field()
    question = serializers.CharField(max_length=100)
    value = AnyJSONField(help_text="The gold answer, checked like an annotator's answer to the question.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_NOTE)


class ResolutionFilterSerializer(serializers.Serializer):
    question = serializers.CharField(required=False, max_length=100)
    example = id_field(required=False)


class ConsensusSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=100)
    method = serializers.ChoiceField(choices=[Resolution.Method.UNANIMOUS, Resolution.Method.MAJORITY])
    threshold = serializers.FloatField(
        required=False,
        default=0.5,
        help_text="majority: resolve when more than this share of the annotators agree (0.5 ≤ threshold < 1).",
    )


class ResolvedCountSerializer(serializers.Serializer):
    resolved = serializers.IntegerField()


class ExampleIdsSerializer(serializers.Serializer):
    examples = serializers.ListField(child=id_field(), allow_empty=False, max_length=MAX_EXAMPLES_PER_REQUEST)


class ExampleCountSerializer(serializers.Serializer):
    examples = serializers.IntegerField(help_text="How many of the examples were changed.")


class DisagreementFilterSerializer(serializers.Serializer):
    question = serializers.CharField(required=False, allow_blank=True, max_length=100)
    annotator = serializers.CharField(required=False, max_length=150, help_text="Only examples this user labelled.")
    resolved = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="false: only unresolved; true: only resolved."
    )
    min_disagreement = serializers.FloatField(
        required=False, default=0.0, min_value=0.0, max_value=1.0, help_text="Only cases at least this far apart."
    )


class DisagreementAnnotationSerializer(serializers.Serializer):
    annotator = serializers.CharField()
    value = AnyJSONField()
    guideline_version = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()


class DisagreementSerializer(serializers.Serializer):
    example = serializers.IntegerField(source="example_id")
    external_id = serializers.CharField(source="example.external_id", allow_null=True, default=None)
    question = serializers.SerializerMethodField()
    disagreement = serializers.FloatField(help_text="0 (all agree) to 1 (the most disagreement there can be).")
    annotations = DisagreementAnnotationSerializer(many=True)
    resolution = ResolutionSerializer(allow_null=True)

    def get_question(self, case: Case) -> str:
        question: Question = self.context["question"]
        return question.name


class DisagreementPageSerializer(serializers.Serializer):
    results = DisagreementSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
