"""Exports: a download made in the request, and an export job that writes train/eval files and a manifest.

The download writes its one file to a temporary file first and then streams it: the response's headers carry
how many examples were left out and why (``X-Winnow-Skipped``), which is only known once every row is made.
Memory stays flat either way; the file waits on disk, not in memory.

The job reads the version once: each row is formatted and written, already serialised, to a spool file while its
grouping keys are collected; then the split is drawn and the spool is copied out to the train, eval and fraction
files. Files are written in a folder of the job's own, renamed into place, and the Export row is made in the
transaction that marks the job succeeded: a failed, cancelled or dead export leaves no row and no files.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import orjson
from django.conf import settings
from django.db import transaction

from annotate.models import Project, Question
from curation import chat_templates, formats
from curation.export import labels as settled_labels
from curation.export import manifest as manifests
from curation.export import rows as member_rows
from curation.export.annotations import write_annotations
from curation.export.options import ExportOptions, OptionError, parse
from curation.export.split import assign, near_duplicate_bands, prompt_key
from curation.export.writers import JsonlWriter, open_writer
from curation.models import ChatTemplate, DatasetVersion, Export, Job
from curation.services.jobs import job_enqueue
from curation.steps.records import fields_of, text_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# The question kind each format takes its labels from.
LABEL_KINDS = {"preference": "preference", "reward": "rating"}


class ExportStopped(Exception):
    """The job was cancelled, or taken from this worker, while it ran."""


@dataclass(frozen=True)
class Plan:
    version: DatasetVersion
    options: ExportOptions
    format_options: formats.FormatOptions | None  # None for format=annotations
    question: Question | None
    template: dict[str, Any] | None  # as the manifest records it

    @property
    def project(self) -> Project:
        return self.version.project

    def label_rules(self) -> settled_labels.LabelRules | None:
        if self.question is None or self.options.format not in LABEL_KINDS:
            return None
        o = self.options
        return settled_labels.LabelRules(self.question, o.labels, o.min_annotations, o.min_agreement, o.zscore)

    def schema(self) -> Any:
        import pyarrow as pa

        if self.format_options is None:
            from curation.export.annotations import SCHEMA

            return SCHEMA
        schema = formats.arrow_schema(self.format_options)
        if self.options.with_id:
            schema = pa.schema([pa.field("id", pa.string()), *schema])
        return schema


def plan_export(version: DatasetVersion, raw: Any, *, job: bool) -> Plan:
    """Check an export request's options against the version's project (OptionError names the bad one)."""
    if not isinstance(raw, dict):
        raise OptionError("body", "must be an object of export options")
    options = parse(raw, job=job)
    question = _question(version.project, options)
    if options.format == "annotations":
        if question is not None:
            raise OptionError("question", "format=annotations writes every question's labels")
        return Plan(version, options, None, None, None)
    template, recorded = _template(version.project, options.template)
    format_options = formats.FormatOptions(
        format=options.format, template=template, conversational=options.conversational, system=options.system
    )
    return Plan(version, options, format_options, question, recorded)


def _question(project: Project, options: ExportOptions) -> Question | None:
    kind = LABEL_KINDS.get(options.format)
    questions = Question.objects.filter(project=project)
    if options.question is not None:
        if kind is None:
            raise OptionError(
                "question", f"format={options.format} takes no labels; question applies to preference and reward"
            )
        found = questions.filter(name=options.question).first()
        if found is None:
            names = ", ".join(questions.filter(kind=kind).values_list("name", flat=True)) or "none"
            raise OptionError(
                "question", f"the project has no question {options.question!r} (its {kind} questions: {names})"
            )
        if found.kind != kind:
            raise OptionError(
                "question",
                f"{options.question!r} is a {found.kind} question; format={options.format} needs a {kind} question",
            )
        return found
    if kind is None:
        return None
    candidates = list(questions.filter(kind=kind).order_by("position", "pk"))
    if len(candidates) > 1:
        names = ", ".join(q.name for q in candidates)
        raise OptionError("question", f"the project has several {kind} questions ({names}); name one")
    if not candidates and options.format == "reward":
        raise OptionError("question", "the project has no rating question to take scores from")
    return candidates[0] if candidates else None


def _template(project: Project, name: str | None) -> tuple[chat_templates.ChatTemplate | None, dict[str, Any] | None]:
    if name is None:
        return None, None
    if name in chat_templates.BUILTIN:
        template = chat_templates.BUILTIN[name]
        return template, manifests.template_record(template, builtin=True)
    stored = ChatTemplate.objects.filter(project=project, name=name).first()
    if stored is None:
        names = [*chat_templates.BUILTIN, *ChatTemplate.objects.filter(project=project).values_list("name", flat=True)]
        raise OptionError("template", f"no template {name!r}; the templates are {', '.join(names)}")
    try:
        template = compiled(stored)
    except chat_templates.TemplateProblem as exc:
        raise OptionError("template", f"the template {name!r} does not compile: {exc.message}") from None
    return template, manifests.template_record(template, builtin=False)


def compiled(stored: ChatTemplate) -> chat_templates.ChatTemplate:
    return chat_templates.compile_template(
        stored.name,
        stored.source,
        special_tokens=tuple(stored.special_tokens or ()),
        alternation=stored.alternation,
        system=stored.system,
        bos_token=stored.bos_token,
        eos_token=stored.eos_token,
    )


def file_name(plan: Plan, split: str) -> str:
    return f"{split}.{plan.options.file}"


# The download ------------------------------------------------------------------------------------------------


def download(plan: Plan, path: Path) -> member_rows.Tally:
    """Write the whole export to ``path`` (one file, no split); the tally says what was left out."""
    tally = member_rows.Tally()
    writer = open_writer(path, plan.options.file, plan.schema(), digest=False)
    try:
        if plan.format_options is None:
            write_annotations(plan.version, writer, tally)
        else:
            formatter = _formatter(plan)
            for batch in member_rows.members(plan.version):
                for _, row in formatter.rows(batch, tally):
                    writer.write(row)
    finally:
        writer.close()
    return tally


def check(plan: Plan) -> member_rows.Tally:
    """What the download would write and leave out (the page's Check, the API's dry run): the same pass, into a
    file that is thrown away."""
    with tempfile.TemporaryDirectory(dir=_scratch()) as folder:
        return download(plan, Path(folder) / f"check.{plan.options.file}")


def _scratch() -> Path:
    folder = Path(settings.WINNOW_EXPORT_DIR) / ".downloads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def download_file(plan: Plan) -> tuple[BinaryIO, member_rows.Tally]:
    """The download, made in a scratch file: an open handle to it (the file itself already unlinked, so nothing is
    left behind whatever happens to the response) and its tally."""
    descriptor, name = tempfile.mkstemp(dir=_scratch(), prefix="download-", suffix=f".{plan.options.file}")
    os.close(descriptor)
    path = Path(name)
    try:
        tally = download(plan, path)
        return path.open("rb"), tally
    finally:
        path.unlink(missing_ok=True)


def _formatter(plan: Plan) -> member_rows.Formatter:
    assert plan.format_options is not None
    rules = plan.label_rules()
    settled = None
    if rules is not None:
        settled = settled_labels.settle(plan.project, rules, members=_member_ids(plan.version))
    return member_rows.Formatter(plan.format_options, settled, with_id=plan.options.with_id)


def _member_ids(version: DatasetVersion) -> np.ndarray:
    from curation.models import VersionMember

    ids = VersionMember.objects.filter(version=version).values_list("example_id", flat=True)
    return np.sort(np.fromiter(ids.iterator(chunk_size=50_000), dtype=np.int64))


# The export job ----------------------------------------------------------------------------------------------


def export_start(*, version: DatasetVersion, user: User, raw: Any) -> Job:
    """Check the options and queue the export job; nothing is made if the request is bad."""
    plan = plan_export(version, raw, job=True)
    with transaction.atomic():
        job = Job.objects.create(
            kind=Job.Kind.EXPORT,
            project=version.project,
            created_by=user,
            params={"version": version.pk, "options": plan.options.as_dict(), "submitted": raw},
        )
        job_enqueue(job)
    return job


def export_directory(job: Job) -> Path:
    return Path(settings.WINNOW_EXPORT_DIR) / f"job-{job.pk}"


def partial_directory(job: Job) -> Path:
    return Path(settings.WINNOW_EXPORT_DIR) / f".partial-job-{job.pk}-{job.attempts}"


def export_run(*, job: Job) -> None:
    _Run(job).run()


class _Run:
    def __init__(self, job: Job):
        self.job = job
        self.started = time.perf_counter()
        self.total = 0

    def report(self, done: int, stage: str, total: int | None = None) -> None:
        if not self.job.report_progress(done=done, total=total or self.total, stage=stage, unit="records"):
            raise ExportStopped(f"export job {self.job.pk} was cancelled or handed to another worker")

    def run(self) -> None:
        version = DatasetVersion.objects.ready().select_related("project").filter(pk=self.job.params["version"]).first()
        if version is None:
            self.job.fail("The version was deleted before the export ran; nothing was exported.")
            return
        try:
            plan = plan_export(version, self.job.params["options"], job=True)
        except OptionError as exc:  # the project changed since the request (a template or question went)
            self.job.fail(f"{exc.option}: {exc.message}; nothing was exported.", {"option": exc.option})
            return
        self.total = member_rows.member_count(version)
        folder = partial_directory(self.job)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            files, tally, split_info, labels_info = self._write(plan, folder)
            self._finish(plan, folder, files, tally, split_info, labels_info)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _write(
        self, plan: Plan, folder: Path
    ) -> tuple[list[dict[str, Any]], member_rows.Tally, dict[str, Any] | None, dict[str, Any] | None]:
        tally = member_rows.Tally()
        if plan.format_options is None:
            self.report(0, "writing_files")
            writer = open_writer(folder / f"annotations.{plan.options.file}", plan.options.file, plan.schema())
            write_annotations(plan.version, writer, tally, progress=lambda done: self.report(done, "writing_files"))
            return [{"name": writer.path.name, "split": "all", "fraction": 1.0, **writer.close()}], tally, None, None
        self.report(0, "reading_labels")
        formatter = _formatter(plan)
        labels_info = manifests.labels_record(plan, formatter.settled)
        spool = JsonlWriter(folder / "rows.spool", digest=False)
        ids: list[np.ndarray] = []
        keys: list[int] = []
        bands: list[np.ndarray] = []
        splitting = plan.options.eval_fraction > 0 or bool(plan.options.fractions)
        done = 0
        for batch in member_rows.members(plan.version):
            written = list(formatter.rows(batch, tally))
            for _, row in written:
                spool.write(row)
            if splitting and written:
                contents = [member.content for member, _ in written]
                ids.append(np.fromiter((member.id for member, _ in written), dtype=np.int64, count=len(written)))
                keys.extend(prompt_key(_prompt_of(content)) for content in contents)
                bands.append(near_duplicate_bands([text_of(content) for content in contents]))
            done += len(batch)
            self.report(done, "formatting")
        spool.close()
        split_info = None
        if splitting:
            self.report(0, "splitting", total=tally.rows)
            all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
            split = assign(
                all_ids,
                np.asarray(keys, dtype=np.int64),
                np.concatenate(bands) if bands else None,
                seed=plan.options.seed,
                eval_fraction=plan.options.eval_fraction,
            )
            split_info = manifests.split_record(plan, split)
            files = self._route(plan, folder, spool.path, tally.rows, split.eval, split.draw)
        else:
            files = self._route(plan, folder, spool.path, tally.rows, None, None)
        spool.path.unlink()
        return files, tally, split_info, labels_info

    def _route(
        self,
        plan: Plan,
        folder: Path,
        spool: Path,
        rows: int,
        is_eval: np.ndarray | None,
        draw: np.ndarray | None,
    ) -> list[dict[str, Any]]:
        """Copy the spool's rows out to the files they belong in, in order."""
        schema = plan.schema()
        targets: list[tuple[str, float, Any]] = [
            ("train", 1.0, open_writer(folder / file_name(plan, "train"), plan.options.file, schema))
        ]
        if is_eval is not None and plan.options.eval_fraction > 0:
            targets.append(("eval", 1.0, open_writer(folder / file_name(plan, "eval"), plan.options.file, schema)))
        fractions = [
            (fraction, open_writer(folder / file_name(plan, f"train-{fraction * 100:g}pct"), plan.options.file, schema))
            for fraction in plan.options.fractions
        ]
        train = targets[0][2]
        evaluation = targets[1][2] if len(targets) > 1 else None
        self.report(0, "writing_files", total=rows)
        with spool.open("rb") as lines:
            for index, line in enumerate(lines):
                if evaluation is not None and is_eval is not None and is_eval[index]:
                    evaluation.write_line(line)
                    continue
                train.write_line(line)
                if draw is not None:
                    for fraction, writer in fractions:
                        if draw[index] < fraction:
                            writer.write_line(line)
                if index % 50_000 == 49_999:
                    self.report(index + 1, "writing_files", total=rows)
        files = [{"name": w.path.name, "split": split, "fraction": f, **w.close()} for split, f, w in targets]
        files += [{"name": w.path.name, "split": "train", "fraction": f, **w.close()} for f, w in fractions]
        return files

    def _finish(
        self,
        plan: Plan,
        folder: Path,
        files: list[dict[str, Any]],
        tally: member_rows.Tally,
        split_info: dict[str, Any] | None,
        labels_info: dict[str, Any] | None,
    ) -> None:
        manifest = manifests.build(plan, files=files, tally=tally, split=split_info, labels=labels_info)
        (folder / "manifest.json").write_bytes(
            orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
        final = export_directory(self.job)
        shutil.rmtree(final, ignore_errors=True)
        folder.rename(final)
        try:
            with transaction.atomic():
                export = Export.objects.create(
                    project=plan.project,
                    version=plan.version,
                    job=self.job,
                    params=plan.options.as_dict(),
                    files=files,
                    manifest=manifest,
                    directory=final.name,
                    created_by=self.job.created_by,
                )
                result = {
                    "export": export.pk,
                    "files": files,
                    "counts": manifest["counts"],
                    "problems": tally.problems,
                    "seconds": round(time.perf_counter() - self.started, 3),
                }
                if not self.job.succeed(result, progress=(self.total, "records")):
                    raise ExportStopped(f"export job {self.job.pk} was cancelled before it could finish")
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise


def _prompt_of(content: dict[str, Any]) -> str:
    fields = fields_of(content)
    return fields.get("prompt") or fields.get("text") or ""


def discard_export_files(job: Job) -> None:
    """Remove what an export job left on disk (its partial folders, and its folder if it has no Export row)."""
    root = Path(settings.WINNOW_EXPORT_DIR)
    if not root.is_dir():
        return
    for path in root.glob(f".partial-job-{job.pk}-*"):
        shutil.rmtree(path, ignore_errors=True)
    if not Export.objects.filter(job=job).exists():
        shutil.rmtree(export_directory(job), ignore_errors=True)


def export_files_sweep() -> list[str]:
    """Remove export folders that belong to no running job and to no Export (their worker died mid-way)."""
    root = Path(settings.WINNOW_EXPORT_DIR)
    if not root.is_dir():
        return []
    running = set(Job.objects.filter(kind=Job.Kind.EXPORT, status__in=Job.UNFINISHED).values_list("pk", "attempts"))
    running_ids = {pk for pk, _ in running}
    kept = set(Export.objects.values_list("directory", flat=True))
    removed = []
    for path in root.iterdir():
        name = path.name
        if name.startswith(".partial-job-"):
            parts = name.removeprefix(".partial-job-").split("-")
            if len(parts) == 2 and all(p.isdigit() for p in parts) and (int(parts[0]), int(parts[1])) in running:
                continue
        elif name.startswith("job-"):
            number = name.removeprefix("job-")
            if name in kept or (number.isdigit() and int(number) in running_ids):
                continue
        else:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    return removed


def export_file(export: Export, name: str) -> Path | None:
    """The path of one of the export's files (or its manifest), or None: only names the export lists."""
    names = {entry["name"] for entry in export.files} | {"manifest.json"}
    if name not in names:
        return None
    path = Path(settings.WINNOW_EXPORT_DIR) / export.directory / name
    return path if path.is_file() else None


def iter_file(path: Path, chunk: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            yield block
