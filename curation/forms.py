from __future__ import annotations

from django import forms

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
