"""Exports end to end in the service: the download's rows and what it leaves out, the export job's files, split,
fractions and manifest, byte-identical repeats, and nothing left behind by a cancelled or failed job."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from unittest import mock

import orjson
import pyarrow.parquet as pq
import pytest

from curation.export.options import OptionError
from curation.export.service import download, export_start, plan_export
from curation.models import ChatTemplate, Export, Job
from curation.services.jobs import job_cancel
from curation.tasks import run_export

runs_jobs = pytest.mark.django_db(transaction=True, databases=["default", "progress"])


def _download(data, tmp_path, **options):
    plan = plan_export(data.version, options, job=False)
    path = tmp_path / f"out.{plan.options.file}"
    tally = download(plan, path)
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()] if plan.options.file == "jsonl" else None
    return rows, tally, path


def _job(data, user, **options) -> Job:
    with mock.patch("curation.tasks.run_export.delay"):
        job = export_start(version=data.version, user=user, raw=options)
    run_export(job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_messages_come_from_instructions_and_chats_and_the_rest_is_counted_by_reason(labelled, tmp_path):
    rows, tally, _ = _download(labelled, tmp_path, format="messages", with_id=True)

    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {"instruction", "with_system", "chat"}
    assert by_id["with_system"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ]
    assert [m["role"] for m in by_id["chat"]["messages"]] == ["user", "assistant", "user", "assistant"]
    assert tally.skipped == {"shape": 6}  # text, the preference record and the four candidates
    assert {p["external_id"] for p in tally.problems} == {
        "text",
        "pair",
        "cands_a",
        "cands_tie",
        "cands_resolved",
        "cands_none",
    }


@pytest.mark.django_db
def test_preference_rows_come_from_records_and_from_settled_labels_and_ties_are_left_out(labelled, tmp_path):
    rows, tally, _ = _download(labelled, tmp_path, format="preference", with_id=True)

    by_id = {row["id"]: row for row in rows}
    assert by_id["pair"] == {"id": "pair", "prompt": "Say hello.", "chosen": "Hello!", "rejected": "Go away."}
    assert by_id["cands_a"]["chosen"] == "Water condenses and falls."  # the majority said a
    assert by_id["cands_resolved"]["chosen"] == "Balls of ice."  # the resolution (a) beats the majority (b)
    assert by_id["cands_resolved"]["rejected"] == "Ice lumps from storms."
    assert tally.skipped["tie"] == 1 and tally.skipped["no_label"] == 1
    assert "cands_tie" not in by_id and "cands_none" not in by_id


@pytest.mark.django_db
def test_reward_rows_carry_the_mean_or_zscored_score(labelled, tmp_path):
    rows, tally, _ = _download(labelled, tmp_path, format="reward", with_id=True)
    # As strings, only a lone user turn can be the prompt: the others need message lists or a template.
    assert {row["id"]: row["score"] for row in rows} == {"instruction": 3.0}
    assert tally.skipped["needs_template"] == 2

    rows, tally, _ = _download(labelled, tmp_path, format="reward", with_id=True, conversational=True)
    assert {row["id"]: row["score"] for row in rows} == {"instruction": 3.0, "with_system": 4.0, "chat": 2.0}
    chat = next(row for row in rows if row["id"] == "chat")
    assert chat["completion"] == [{"role": "assistant", "content": "20."}]
    assert chat["prompt"][-1] == {"role": "user", "content": "And times 4?"}
    assert "needs_template" not in tally.skipped

    rows, _, _ = _download(labelled, tmp_path, format="reward", with_id=True, conversational=True, zscore=True)
    # Every rater spreads their scores alike here, so z-scoring keeps the order and the scale's middle.
    scores = {row["id"]: row["score"] for row in rows}
    assert scores["instruction"] == pytest.approx(3.0)
    assert scores["chat"] < scores["instruction"] < scores["with_system"]


@pytest.mark.django_db
def test_bad_options_name_the_option(labelled):
    cases = {
        "format": {"format": "csv"},
        "question": {"format": "reward", "question": "topic"},
        "template": {"format": "text", "template": "nope"},
        "min_agreement": {"format": "preference", "min_agreement": "2"},
        "zscore": {"format": "messages", "zscore": True},
        "eval_fraction": {"format": "messages", "eval_fraction": 0.1},  # a download has no split
    }
    for option, raw in cases.items():
        with pytest.raises(OptionError) as caught:
            plan_export(labelled.version, raw, job=False)
        assert caught.value.option == option, raw


@pytest.mark.django_db
def test_a_chat_template_renders_rows_and_reports_rows_it_cannot_render(labelled, tmp_path):
    rows, tally, _ = _download(labelled, tmp_path, format="text", template="chatml", with_id=True)
    by_id = {row["id"]: row["text"] for row in rows}
    assert by_id["with_system"].startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n")
    assert "<|im_start|>assistant\n20.<|im_end|>" in by_id["chat"]
    assert by_id["text"] == "Plain pretraining text."

    ChatTemplate.objects.create(
        project=labelled.project,
        name="strict",
        source="{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}",
        alternation=True,
        system=False,
    )
    rows, tally, _ = _download(labelled, tmp_path, format="text", template="strict", with_id=True)
    assert {p["external_id"] for p in tally.problems if p["reason"] == "roles"} == {"with_system"}


@runs_jobs
def test_an_export_job_writes_split_files_and_a_manifest_that_says_how(labelled, tmp_path, settings):
    manager = labelled.project.created_by or labelled.annotators[0]
    job = _job(labelled, manager, format="messages", eval_fraction=0.5, fractions=[0.5], seed=3)

    assert job.status == "succeeded", job.error
    export = Export.objects.get(pk=job.result["export"])
    folder = Path(settings.WINNOW_EXPORT_DIR) / export.directory
    names = {entry["name"] for entry in export.files}
    assert names == {"train.jsonl", "eval.jsonl", "train-50pct.jsonl"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == export.manifest
    for entry in export.files:
        data = (folder / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data.splitlines()) == entry["rows"]
    train = (folder / "train.jsonl").read_bytes().splitlines()
    half = (folder / "train-50pct.jsonl").read_bytes().splitlines()
    assert set(half) <= set(train)
    assert manifest["counts"]["rows"] == 3 and manifest["counts"]["skipped_by"] == {"shape": 6}
    assert manifest["version"]["lineage"][-1]["id"] == labelled.version.pk
    assert manifest["options"]["seed"] == 3 and manifest["split"]["eval_fraction"] == 0.5
    assert manifest["winnow_version"] and manifest["libraries"]["pyarrow"]
    assert not list(Path(settings.WINNOW_EXPORT_DIR).glob(".partial-*"))


@runs_jobs
def test_the_same_request_twice_gives_byte_identical_files(labelled):
    user = labelled.annotators[0]
    for file in ("jsonl", "parquet"):
        first = _job(labelled, user, format="preference", file=file, eval_fraction=0.3, seed=9)
        second = _job(labelled, user, format="preference", file=file, eval_fraction=0.3, seed=9)
        one, two = (Export.objects.get(pk=job.result["export"]) for job in (first, second))
        assert [f["sha256"] for f in one.files] == [f["sha256"] for f in two.files]
        assert one.manifest == two.manifest


@runs_jobs
def test_parquet_files_hold_the_same_rows_as_jsonl(labelled, settings):
    user = labelled.annotators[0]
    jsonl = Export.objects.get(pk=_job(labelled, user, format="messages").result["export"])
    parquet = Export.objects.get(pk=_job(labelled, user, format="messages", file="parquet").result["export"])
    root = Path(settings.WINNOW_EXPORT_DIR)
    lines = [orjson.loads(line) for line in (root / jsonl.directory / "train.jsonl").read_bytes().splitlines()]
    table = pq.read_table(root / parquet.directory / "train.parquet").to_pylist()
    assert [[m["content"] for m in row["messages"]] for row in table] == [
        [m["content"] for m in row["messages"]] for row in lines
    ]


@runs_jobs
def test_a_cancelled_export_leaves_no_export_and_no_files(labelled, settings):
    with mock.patch("curation.tasks.run_export.delay"):
        job = export_start(version=labelled.version, user=labelled.annotators[0], raw={"format": "messages"})
    original = Job.report_progress

    def cancel_midway(self, **kwargs):
        if kwargs.get("stage") == "formatting":
            job_cancel(job=Job.objects.get(pk=self.pk))
        return original(self, **kwargs)

    with mock.patch.object(Job, "report_progress", cancel_midway):
        run_export(job.pk)

    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not Export.objects.exists()
    root = Path(settings.WINNOW_EXPORT_DIR)
    assert not root.exists() or not any(root.iterdir())


@pytest.mark.django_db
def test_the_annotations_format_lists_every_current_label_with_its_resolution(labelled, tmp_path):
    rows, tally, _ = _download(labelled, tmp_path, format="annotations")

    better = [row for row in rows if row["question"] == "better"]
    assert len(better) == 8  # 3 + 2 + 3 labels of the candidates
    resolved = [row for row in better if row["example"] == "cands_resolved"]
    assert {row["value"] for row in resolved} == {"a", "b"}
    assert all(row["resolution"] == "a" and row["resolution_method"] == "reviewer" for row in resolved)
    assert {row["guideline_version"] for row in resolved} == {2}
    assert {row["annotator"] for row in rows} == {"rater-0", "rater-1", "rater-2"}
    assert sum(1 for row in rows if row["question"] == "quality") == 9
    assert tally.rows == len(rows) == 17
    assert all(row["submitted_at"].endswith("Z") or "+" in row["submitted_at"] for row in rows)

    _, _, path = _download(labelled, tmp_path, format="annotations", file="parquet")
    table = pq.read_table(path).to_pylist()
    assert len(table) == 17 and json.loads(table[0]["value"]) in (1, 2, 3, 4, 5, "a", "b")


def _near_duplicates(project, count: int):
    import random

    from annotate.services.queue import work_items_create
    from curation.models import DatasetVersion, VersionMember
    from tests.factories import ExampleFactory

    rng = random.Random(5)
    vocabulary = [f"word{k}" for k in range(3000)]
    made = []
    for n in range(count):
        # 80 words of its own: one word changed keeps a Jaccard over word 5-grams near 0.9, a near-duplicate.
        words = rng.sample(vocabulary, 80)
        made.append(ExampleFactory(project=project, content={"prompt": f"Story {n}?", "response": " ".join(words)}))
        words[3] = "grey"
        made.append(ExampleFactory(project=project, content={"prompt": f"Tale {n}?", "response": " ".join(words)}))
        made.append(ExampleFactory(project=project, content={"prompt": f"Story {n}?", "response": f"Other {n}."}))
    work_items_create(project=project)
    version = DatasetVersion.objects.create(project=project, status="ready", counts={"kept": len(made)})
    VersionMember.objects.bulk_create(VersionMember(version=version, example=e) for e in made)
    return version, made


@runs_jobs
def test_near_duplicates_and_shared_prompts_never_cross_the_split(project, cast, settings):
    version, made = _near_duplicates(project, 60)
    with mock.patch("curation.tasks.run_export.delay"):
        job = export_start(
            version=version, user=cast["manager"], raw={"format": "messages", "with_id": True, "eval_fraction": 0.4}
        )
    run_export(job.pk)
    job.refresh_from_db()
    export = Export.objects.get(pk=job.result["export"])
    folder = Path(settings.WINNOW_EXPORT_DIR) / export.directory
    side = {}
    for name in ("train.jsonl", "eval.jsonl"):
        for line in (folder / name).read_bytes().splitlines():
            side[orjson.loads(line)["id"]] = name
    assert len(side) == 180
    for n in range(60):
        story, tale, other = (made[3 * n + k].external_id for k in range(3))
        assert side[story] == side[tale] == side[other]
    assert 0.2 < sum(1 for s in side.values() if s == "eval.jsonl") / 180 < 0.6
    assert export.manifest["split"]["near_duplicate_pairs"] >= 60
