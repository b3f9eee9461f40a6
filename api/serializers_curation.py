"""Request validation and response shapes for curation: dataset versions, their members and removals, and the
filter catalog (API.md, "Curation: dataset versions")."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from annotate.shapes import shape_of
from api.serializers import JobSerializer
from curation.models import DatasetVersion, Removal, VersionMember


class VersionCreateSerializer(serializers.Serializer):
    """The steps are checked by the pipeline itself (curation.pipeline.plan), which names the step and option."""

    steps = serializers.JSONField(help_text='The steps, in order, e.g. [{"op": "dedup", "method": "exact"}]')
    parent = serializers.JSONField(  # type: ignore[assignment]
        required=False, allow_null=True, default=None, help_text="A version id"
    )
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    sample = serializers.JSONField(
        required=False, allow_null=True, default=None, help_text="Run a trial on a seeded random sample of n"
    )
    seed = serializers.JSONField(required=False, default=0, help_text="Seed of the sample (default 0)")  # type: ignore[arg-type]


class DatasetVersionSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    lineage = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "project",
            "parent",
            "name",
            "steps",
            "trial",
            "sample",
            "seed",
            "created_at",
            "created_by",
            "counts",
            "step_results",
            "warnings",
            "job",
            "lineage",
        ]
        read_only_fields = fields

    def get_lineage(self, version: DatasetVersion) -> list[dict[str, Any]]:
        """The chain of parents back to the project's examples, each with its steps, newest first."""
        return [
            {"id": v.pk, "name": v.name, "steps": v.steps, "trial": v.trial, "created_at": v.created_at}
            for v in version.lineage()[1:]
        ]


class VersionExampleSerializer(serializers.Serializer):
    """A kept example, with the content as the version's steps left it."""

    id = serializers.IntegerField(source="example_id")
    external_id = serializers.CharField(source="example.external_id")
    content = serializers.SerializerMethodField()
    cleaned = serializers.SerializerMethodField(help_text="true when a step changed the content")
    metadata = serializers.JSONField(source="example.metadata")
    shape = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="example.created_at")

    def get_content(self, member: VersionMember) -> Any:
        return member.content if member.content is not None else member.example.content

    def get_cleaned(self, member: VersionMember) -> bool:
        return member.content is not None

    def get_shape(self, member: VersionMember) -> str:
        return shape_of(self.get_content(member))


class RemovalSerializer(serializers.ModelSerializer):
    example = serializers.IntegerField(source="example_id")
    external_id = serializers.CharField(source="example.external_id")
    step = serializers.SerializerMethodField()

    class Meta:
        model = Removal
        fields = ["example", "external_id", "rule", "step", "detail"]
        read_only_fields = fields

    def get_step(self, removal: Removal) -> int:
        return removal.step + 1  # steps are numbered from 1, as the pages show them


class DryRunSerializer(serializers.Serializer):
    rules = serializers.JSONField(help_text='The filter rules, as in a filter step: [{"name": "min_words", ...}]')
    sample = serializers.IntegerField(required=False, default=1000, min_value=1, max_value=10_000)
    parent = serializers.JSONField(  # type: ignore[assignment]
        required=False, allow_null=True, default=None, help_text="A version id"
    )
    seed = serializers.IntegerField(required=False, default=0, min_value=0)


class QueueScopeRequestSerializer(serializers.Serializer):
    version = serializers.JSONField(
        allow_null=True, help_text="A ready version of the project, or null for every example"
    )


class QueueScopeSerializer(serializers.Serializer):
    version = serializers.IntegerField(allow_null=True)
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]  # Field.label: the schema's name
    examples = serializers.IntegerField(allow_null=True, help_text="How many examples the queue now offers from")


class StatsComparisonSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version compared with")
    examples = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    changes = serializers.DictField(help_text="Counts, shares and length quantiles of both; change = this − other")


class StatsSerializer(serializers.Serializer):
    """The inspection statistics of a version or project (the figures are described in the README, "Inspecting a
    version"); passed through as stored."""

    project = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True, help_text="null: all the project's examples")
    slice = serializers.CharField(allow_null=True, help_text="The metadata key the figures are sliced by")
    examples = serializers.IntegerField(help_text="How many examples the statistics are of")
    computed_at = serializers.DateTimeField()
    seconds = serializers.FloatField(help_text="How long measuring them took")
    job = serializers.IntegerField(allow_null=True, help_text="The job that measured them (null: the request did)")
    stats = serializers.DictField(
        help_text="examples, shapes, fields (chars/words/tokens per field), turns, languages, metadata, duplicates, "
        "artefacts, openers, verb_object, sample, tokens (the estimate's method), slice"
    )
    compare = StatsComparisonSerializer(required=False, help_text="With ?compare=<version id>")
    coverage = serializers.DictField(required=False, help_text="With ?coverage=<key>&target.<value>=<share>")

    def to_representation(self, instance: Any) -> Any:
        return instance


class StatsPendingSerializer(serializers.Serializer):
    job = JobSerializer(help_text="A job measuring the statistics: ask again once it finished")
    jobs = JobSerializer(many=True, help_text="Every job measuring what was asked (these and the compared figures)")
