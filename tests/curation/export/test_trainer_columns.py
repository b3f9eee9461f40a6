"""The exported files load with the libraries trainers use (``datasets.load_dataset("json", …)`` for JSONL,
pyarrow for Parquet), with the columns TRL's trainers expect for each format."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pyarrow.parquet as pq
import pytest

from curation.export.service import export_start
from curation.models import Export
from curation.tasks import run_export

runs_jobs = pytest.mark.django_db(transaction=True, databases=["default", "progress"])

# format, options → the columns TRL reads: SFT messages or prompt/completion, DPO prompt/chosen/rejected, reward rows.
EXPECTED = [
    ({"format": "messages"}, ["messages"]),
    ({"format": "prompt_completion", "conversational": True}, ["prompt", "completion"]),
    ({"format": "prompt_completion", "template": "llama3"}, ["prompt", "completion"]),
    ({"format": "text", "template": "mistral"}, ["text"]),
    ({"format": "preference"}, ["prompt", "chosen", "rejected"]),
    ({"format": "preference", "conversational": True}, ["prompt", "chosen", "rejected"]),
    ({"format": "reward", "conversational": True}, ["prompt", "completion", "score"]),
]


def _files(data, options, settings) -> dict[str, Path]:
    with mock.patch("curation.tasks.run_export.delay"):
        job = export_start(version=data.version, user=data.annotators[0], raw=options)
    run_export(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    export = Export.objects.get(pk=job.result["export"])
    return {
        entry["name"]: Path(settings.WINNOW_EXPORT_DIR) / export.directory / entry["name"] for entry in export.files
    }


@runs_jobs
@pytest.mark.parametrize(("options", "columns"), EXPECTED, ids=[str(o) for o, _ in EXPECTED])
def test_files_load_with_datasets_and_pyarrow_with_trl_columns(
    labelled, settings, tmp_path, monkeypatch, options, columns
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    jsonl = _files(labelled, options, settings)["train.jsonl"]
    loaded = datasets.load_dataset("json", data_files=str(jsonl), split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.column_names == columns  # no row of this version defines tools
    assert loaded.num_rows > 0
    parquet = _files(labelled, {**options, "file": "parquet"}, settings)["train.parquet"]
    table = pq.read_table(parquet)
    # Parquet's schema is fixed per format: a chat's tool definitions have their column even when no row has any.
    assert table.column_names[: len(columns)] == columns
    assert set(table.column_names[len(columns) :]) <= {"tools"}
    assert table.num_rows == loaded.num_rows
    if "messages" in columns:
        assert all(m["role"] in ("system", "user", "assistant", "tool") for row in loaded["messages"] for m in row)
    if "score" in columns:
        assert all(isinstance(score, float) for score in loaded["score"])
