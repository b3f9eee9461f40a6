"""Request validation and response shapes for agreement and annotator statistics (API.md, Agreement)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotate import metadata


class SliceQuerySerializer(serializers.Serializer):
    """A ``by`` metadata key to slice figures by (one rule for which keys may be used: annotate.metadata)."""

    def validate_by(self, key: str) -> str:
        if not metadata.filterable_key(key):
            raise serializers.ValidationError(f"cannot slice by the metadata key {key!r}")
        return key


class AgreementQuerySerializer(SliceQuerySerializer):
    by = serializers.CharField(
        required=False, max_length=metadata.MAX_KEY, help_text="A metadata key: the figures per value of it too."
    )
    guideline_version = serializers.IntegerField(
        required=False, min_value=1, help_text="Only labels made under this guideline version."
    )
    by_guideline_version = serializers.BooleanField(
        required=False, default=False, help_text="true: the figures per guideline version the labels were made under."
    )
    fresh = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: wait for figures of the labels as they are now, even on a large project whose last figures "
        "would otherwise be served (marked stale) while a job measures again.",
    )


class FiguresSerializer(serializers.Serializer):
    """What every set of figures says of itself (annotate/figures.py); the figures are passed through as computed."""

    labels_version = serializers.IntegerField(help_text="The version of the project's labels the figures are of.")
    computed_at = serializers.DateTimeField()
    seconds = serializers.FloatField(help_text="How long computing the figures took.")
    stale = serializers.BooleanField(
        required=False, help_text="Present (true) when the labels changed since: a job is measuring them again."
    )

    def to_representation(self, instance: Any) -> Any:
        return instance


class AgreementSerializer(FiguresSerializer):
    """The shape of the response, for the schema (the figures are documented in API.md)."""

    questions = serializers.DictField(
        child=serializers.DictField(), help_text="Per question name: its agreement figures."
    )
    by = serializers.CharField(required=False)
    guideline_version = serializers.IntegerField(required=False)
    slices = serializers.ListField(child=serializers.DictField(), required=False)
    slices_not_shown = serializers.IntegerField(required=False)
    guideline_versions = serializers.ListField(child=serializers.DictField(), required=False)


class AnnotatorsQuerySerializer(SliceQuerySerializer):
    question = serializers.CharField(max_length=100, help_text="The question's name.")
    by = serializers.CharField(
        required=False, max_length=metadata.MAX_KEY, help_text="A metadata key: a row per annotator and value of it."
    )
    fresh = serializers.BooleanField(
        required=False, default=False, help_text="true: wait for figures of the labels as they are now."
    )


class AnnotatorsSerializer(FiguresSerializer):
    """The shape of the response, for the schema (each figure is documented in the README, "Annotator bias")."""

    question = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    annotators = serializers.ListField(child=serializers.DictField(), help_text="A row per annotator (and slice).")
    flags = serializers.ListField(child=serializers.DictField(), help_text="{annotator, slice, kind, detail}")
    fatigue = serializers.ListField(child=serializers.DictField())
    median_duration_ms = serializers.FloatField(allow_null=True)
    fast_below_ms = serializers.FloatField(allow_null=True)
    tests = serializers.IntegerField(help_text="How many tests the flags' Holm correction was over.")
    consistency = serializers.DictField(help_text="{inconsistent: [...], cycles: [...]}")
