from __future__ import annotations

import json
from typing import Any

from django import forms

from curation.services.versions import MAX_SAMPLE

DRY_RUN_MAX_SAMPLE = 10_000  # as the API's dry run

ACCEPTED_FILES = ".jsonl,.ndjson,.json,.csv,.parquet,.gz"


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Data file",
        help_text="JSONL, JSON, CSV or Parquet; JSONL, JSON and CSV may be gzipped (.gz).",
        widget=forms.FileInput(attrs={"accept": ACCEPTED_FILES}),
    )
    on_duplicate = forms.ChoiceField(
        label="Records whose content the project already has",
        choices=[("keep", "Import them too (they are counted in the result)"), ("skip", "Leave them out")],
        initial="keep",
        required=False,
        widget=forms.RadioSelect,
    )

    def clean_on_duplicate(self) -> str:
        return self.cleaned_data.get("on_duplicate") or "keep"


def _json(text: str, what: str) -> Any:
    """Text the builder (or a person) wrote as JSON, parsed; an error that says where it went wrong."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(
            f"The {what} are not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None


class VersionForm(forms.Form):
    """A request to make a dataset version from the builder page. The steps arrive as JSON (built by
    static/pipeline.js, or written by hand without it); the pipeline itself checks them and names the step and
    option at fault (curation.services.versions)."""

    ACTIONS = (("check", "Check"), ("trial", "Run a trial"), ("run", "Run on everything"))

    parent = forms.TypedChoiceField(
        label="Start from", coerce=int, empty_value=None, required=False, choices=[("", "All examples")]
    )
    name = forms.CharField(label="Name", max_length=200, required=False, help_text="Optional, e.g. “cleaned v2”.")
    steps = forms.CharField(
        label="Steps as JSON",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text='A list of steps, e.g. [{"op": "dedup", "method": "exact"}]; an empty list freezes the input.',
    )
    sample = forms.IntegerField(
        label="Trial sample size", min_value=1, max_value=MAX_SAMPLE, initial=1000, required=False
    )
    seed = forms.IntegerField(label="Sample seed", min_value=0, max_value=2**63 - 1, initial=0, required=False)
    action = forms.ChoiceField(choices=ACTIONS, required=False)

    def __init__(self, *args: Any, parents: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["parent"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "All examples of the project"), *parents]

    def clean_steps(self) -> Any:
        text = self.cleaned_data.get("steps") or ""
        return _json(text, "steps") if text.strip() else []

    def clean_action(self) -> str:
        return self.cleaned_data.get("action") or "check"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "trial" and data.get("sample") is None and "sample" not in self.errors:
            self.add_error("sample", "A trial needs the size of its sample.")
        if data.get("seed") is None:
            data["seed"] = 0
        return data


class DryRunForm(forms.Form):
    """A filter step's rules tried on a sample (the builder's "Dry run" button)."""

    rules = forms.CharField()
    parent = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, choices=[])
    sample = forms.IntegerField(min_value=1, max_value=DRY_RUN_MAX_SAMPLE, required=False)

    def __init__(self, *args: Any, parents: list[int], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["parent"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "All examples"), *((pk, str(pk)) for pk in parents)]

    def clean_rules(self) -> Any:
        return _json(self.cleaned_data["rules"], "rules")
