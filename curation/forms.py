from __future__ import annotations

from django import forms

ACCEPTED_FILES = ".jsonl,.ndjson,.json,.csv,.parquet,.gz"


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Data file",
        help_text="JSONL, JSON, CSV or Parquet; JSONL, JSON and CSV may be gzipped (.gz).",
        widget=forms.FileInput(attrs={"accept": ACCEPTED_FILES}),
    )
