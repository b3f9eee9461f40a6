"""What manifest.json says about an export: enough to know exactly how its files were made, and to make them
again byte for byte. It holds no time and no job number, so the same request on the same version gives the same
manifest too (the Export row keeps when and by whom)."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from curation import chat_templates
from curation.export import labels as settled_labels
from curation.export import split as splitting
from curation.formats import SKIP_REASONS

if TYPE_CHECKING:
    from curation.export.rows import Tally
    from curation.export.service import Plan

MANIFEST_VERSION = 1
LIBRARIES = ("orjson", "pyarrow", "jinja2", "numpy")


def _version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def template_record(template: chat_templates.ChatTemplate, *, builtin: bool) -> dict[str, Any]:
    return {
        "name": template.name,
        "builtin": builtin,
        "source": template.source,
        "special_tokens": list(template.special_tokens),
        "alternation": template.alternation,
        "system": template.system,
        "bos_token": template.bos_token,
        "eos_token": template.eos_token,
    }


def labels_record(plan: Plan, settled: settled_labels.Settled | None) -> dict[str, Any] | None:
    rules = plan.label_rules()
    if rules is None:
        return None
    return {
        "question": rules.question.name,
        "kind": rules.question.kind,
        "mode": rules.mode,
        "min_annotations": rules.min_annotations,
        "min_agreement": rules.min_agreement,
        "zscore": rules.zscore,
        "guideline_versions": settled.guideline_versions if settled else [],
        "annotations_used": settled.annotations if settled else 0,
        "resolutions_used": settled.resolutions if settled else 0,
    }


def split_record(plan: Plan, split: splitting.Split) -> dict[str, Any]:
    return {
        "seed": plan.options.seed,
        "eval_fraction": plan.options.eval_fraction,
        "fractions": list(plan.options.fractions),
        "grouping": "rows sharing a normalised prompt, and MinHash near-duplicates "
        f"(Jaccard {splitting.THRESHOLD} over word {splitting.NGRAM}-grams, {splitting.NUM_PERM} permutations), "
        "stay on one side",
        "groups": split.groups,
        "grouped_rows": split.grouped_rows,
        "near_duplicate_pairs": split.near_duplicate_pairs,
        "eval_rows": int(split.eval.sum()),
    }


def lineage_record(plan: Plan) -> list[dict[str, Any]]:
    """The version and its ancestors, oldest first, each with its steps and counts."""
    return [
        {
            "id": version.pk,
            "name": version.name,
            "parent": version.parent_id,
            "steps": version.steps,
            "trial": version.trial,
            "sample": version.sample,
            "seed": version.seed,
            "counts": version.counts,
        }
        for version in reversed(plan.version.lineage())
    ]


def build(
    plan: Plan,
    *,
    files: list[dict[str, Any]],
    tally: Tally,
    split: dict[str, Any] | None,
    labels: dict[str, Any] | None,
) -> dict[str, Any]:
    reasons = {**SKIP_REASONS, **settled_labels.REASON_TEXT}
    return {
        "manifest_version": MANIFEST_VERSION,
        "winnow_version": _version_of("winnow"),
        "libraries": {name: _version_of(name) for name in LIBRARIES},
        "project": {"id": plan.project.pk, "name": plan.project.name},
        "version": {"id": plan.version.pk, "name": plan.version.name, "lineage": lineage_record(plan)},
        "options": plan.options.as_dict(),
        "format": plan.options.format,
        "file": plan.options.file,
        "template": plan.template,
        "labels": labels,
        "split": split,
        "counts": {
            "examples": tally.rows + sum(tally.skipped.values()),
            "rows": tally.rows,
            "skipped": sum(tally.skipped.values()),
            "skipped_by": dict(sorted(tally.skipped.items())),
            "skip_reasons": {name: reasons.get(name, name) for name in sorted(tally.skipped)},
        },
        "files": files,
    }
