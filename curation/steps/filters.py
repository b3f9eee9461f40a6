"""The filter step: drop records by a list of rules from a catalog.

``{"op": "filter", "rules": [{"name": "min_words", "field": "response", "value": 3}, ...]}``. ``field`` (default:
all text of the example) and ``value`` (the rule's threshold or list) mean the same in every rule that takes them;
a rule may take more options. ``catalog()`` lists every rule with its options (``GET /api/v1/filters/``).

How the runner uses this module:

* ``validate(options)`` once, when the step is submitted.
* ``apply(records, options, context)`` on each chunk: the record and labels rules, in the order given; a record is
  dropped by the first rule it fails, as ``Dropped(id, "filter.<name>", detail)``. Labels rules read
  ``context["labels"]`` (see ``filter_labels``), which holds the questions ``labels_questions(options)`` names.
* If ``has_group_rules(options)``: ``group_keys(kept_records, options)`` on the records each chunk kept, the arrays
  of every chunk concatenated in input order, then ``group_merge(keys, options)`` once (see ``filter_groups``).
  Group rules therefore run after the record and labels rules of the step, whatever their place in the list.
* ``preview(records, options, context)`` runs all of it on a sample in one process, for the dry run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from curation.steps import (
    filter_groups,
    filter_labels,
    filter_metadata,
    filter_patterns,
    filter_quality,
    filter_text,
)
from curation.steps.base import Dropped, Record, StepOptionError, StepOutput
from curation.steps.filter_spec import GROUP, LABELS, RECORD, RuleSpec
from curation.steps.options import validate_options
from curation.steps.records import fields_of, text_of

_ALL_RULES = {
    rule.name: rule
    for rule in (
        *filter_text.RULES,
        *filter_patterns.RULES,
        *filter_quality.RULES,
        filter_metadata.METADATA,
        *filter_groups.RULES,
        *filter_labels.RULES,
    )
}
# The catalog, in the order it is listed: text and length first, quality heuristics, ratios, patterns, metadata and
# language, then the rules comparing records, then the labels rules.
CATALOG: tuple[RuleSpec, ...] = tuple(
    _ALL_RULES[name]
    for name in (
        "empty",
        "min_words",
        "max_words",
        "min_chars",
        "max_chars",
        "response_repeats_prompt",
        "gopher_quality",
        "gopher_repetition",
        "c4_boilerplate",
        "non_alnum_ratio",
        "digit_ratio",
        "url_ratio",
        "whitespace_ratio",
        "regex_deny",
        "regex_allow",
        "keyword_deny",
        "keyword_allow",
        "metadata",
        "language",
        "conflicting_responses",
        "shared_response",
        "label",
        "agreement",
    )
)
RULES_BY_NAME = {rule.name: rule for rule in CATALOG}
MAX_RULES = 100


def catalog() -> list[dict[str, Any]]:
    """Every rule with its kind, description and options (type, default, help), JSON-ready."""
    return [rule.describe() for rule in CATALOG]


# --- validate --------------------------------------------------------------------------------------------------


def validate(options: dict[str, Any]) -> dict[str, Any]:
    """``{"rules": [...]}`` checked, each rule's options normalised with their defaults filled in."""
    if not isinstance(options, dict):
        raise StepOptionError("rules", "the filter step's options must be an object with rules")
    for key in options:
        if key != "rules":
            raise StepOptionError(key, "unknown option of the filter step; the only option is rules")
    rules = options.get("rules")
    if not isinstance(rules, list) or not rules:
        raise StepOptionError("rules", 'must be a non-empty list of rules such as {"name": "min_words", "value": 3}')
    if len(rules) > MAX_RULES:
        raise StepOptionError("rules", f"has {len(rules)} rules; at most {MAX_RULES} are allowed")
    return {"rules": [_validate_rule(rule, i) for i, rule in enumerate(rules)]}


def _validate_rule(rule: Any, i: int) -> dict[str, Any]:
    prefix = f"rules[{i}]."
    if not isinstance(rule, dict):
        raise StepOptionError(f"rules[{i}]", "must be an object with a name")
    name = rule.get("name")
    spec = RULES_BY_NAME.get(name) if isinstance(name, str) else None
    if spec is None:
        names = list(RULES_BY_NAME)
        raise StepOptionError(
            f"{prefix}name",
            f"unknown rule {name!r}; the rules are: {', '.join(names)}",
            details={"catalog": names},
        )
    given = {key: value for key, value in rule.items() if key != "name"}
    checked = validate_options(spec.options, given, prefix, owner=f"rule {name}")
    if spec.check_options is not None:
        checked = spec.check_options(checked, prefix)
    return {"name": name, **checked}


# --- what the runner asks ---------------------------------------------------------------------------------------


def labels_questions(options: dict[str, Any]) -> set[str]:
    """The questions whose labels the labels rules read: the runner fetches only these."""
    return {rule["question"] for rule in options["rules"] if RULES_BY_NAME[rule["name"]].kind == LABELS}


def has_group_rules(options: dict[str, Any]) -> bool:
    return any(RULES_BY_NAME[rule["name"]].kind == GROUP for rule in options["rules"])


def group_keys(records: list[Record], options: dict[str, Any]) -> dict[str, np.ndarray]:
    """Compact keys of ``records`` for the group rules: aligned numpy arrays, ``"id"`` (int64) among them, no
    strings (``filter_groups.KEYS``). Concatenate the keys of every chunk in input order for ``group_merge``."""
    return filter_groups.group_keys(records)


def group_merge(keys: dict[str, np.ndarray], options: dict[str, Any]) -> list[Dropped]:
    """The records the group rules drop, given the keys of every chunk concatenated in input order ("first" is
    earliest in that order). Details say e.g. ``{"prompt_group_size": 3, "distinct_responses": 2, "kept": 17}``."""
    return filter_groups.merge(keys, options["rules"])


# --- apply -----------------------------------------------------------------------------------------------------


def apply(records: list[Record], options: dict[str, Any], context: dict[str, Any]) -> StepOutput:
    """The record and labels rules on a batch; group rules are left to ``group_keys``/``group_merge``."""
    rules = [(spec, spec.prepare(rule) if spec.prepare else rule) for spec, rule in _rules(options, RECORD, LABELS)]
    labels = _labels(context) if any(spec.kind == LABELS for spec, _ in rules) else {}
    out = StepOutput(kept=[])
    for record in records:
        dropped = _first_failure(record, rules, labels)
        if dropped is None:
            out.kept.append(record)
        else:
            out.dropped.append(dropped)
    return out


def preview(records: list[Record], options: dict[str, Any], context: dict[str, Any]) -> list[Dropped]:
    """Everything the step drops from ``records`` (record, labels and group rules), in input order: the dry run
    on a sample."""
    out = apply(records, options, context)
    dropped = list(out.dropped)
    if has_group_rules(options):
        dropped += group_merge(group_keys(out.kept, options), options)
    position = {record["id"]: i for i, record in enumerate(records)}
    return sorted(dropped, key=lambda drop: position[drop.id])


def _rules(options: dict[str, Any], *kinds: str) -> list[tuple[RuleSpec, dict[str, Any]]]:
    return [
        (RULES_BY_NAME[rule["name"]], rule) for rule in options["rules"] if RULES_BY_NAME[rule["name"]].kind in kinds
    ]


def _labels(context: dict[str, Any]) -> dict[Any, Any]:
    labels = context.get("labels")
    if not isinstance(labels, dict):
        raise KeyError("the filter step's labels rules need context['labels'] (see filters.labels_questions)")
    return labels


def _first_failure(
    record: Record, rules: list[tuple[RuleSpec, dict[str, Any]]], labels: dict[Any, Any]
) -> Dropped | None:
    texts: dict[str | None, str | None] = {}  # the record's text by field, read once whatever the rules
    for spec, rule in rules:
        if spec.kind == LABELS:
            assert spec.check_label is not None
            detail = spec.check_label(labels.get(record["id"], {}).get(rule["question"]), rule)
        else:
            assert spec.check is not None
            field = rule.get("field")
            text = _text(record, field, texts) if spec.reads_text else ""
            if text is None:
                continue  # the record's shape has no such field
            detail = spec.check(text, record, rule)
            if detail is not None and spec.reads_text:
                detail = {"field": field or "all", **detail}
        if detail is not None:
            return Dropped(record["id"], f"filter.{spec.name}", detail)
    return None


def _text(record: Record, field: str | None, texts: dict[str | None, str | None]) -> str | None:
    if field not in texts:
        texts[field] = text_of(record["content"]) if field is None else fields_of(record["content"]).get(field)
    return texts[field]
