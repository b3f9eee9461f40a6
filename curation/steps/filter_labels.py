"""Filter rules that read the annotators' labels: ``label`` (compare the label of a question with a value) and
``agreement`` (keep the items the annotators agree on).

The runner passes the labels the rules need (``filters.labels_questions``) as ``context["labels"]``:
``{example_id: {question: {"value": <the example's label>, "agreement": <float in [0, 1] or None>}}}``, keyed by the
record's integer ``id``. An example without a label of the question (or whose value is null) is dropped with the
reason "no label", unless the rule says ``missing: "keep"``; likewise an agreement of None ("no agreement": fewer
than two annotators).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from curation.steps.filter_metadata import same
from curation.steps.filter_spec import LABELS, MISSING_OPTION, RuleSpec, clip, ratio
from curation.steps.options import ANY, CHOICE, NUMBER, SCALAR, SCALARS, STRING, Option, check_value

_ORDERS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
OPS = ("==", "!=", *_ORDERS, "in")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(options: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``value`` as ``op`` needs it: a list for ``in``, a number to order by, a string, number or boolean for
    ``==``/``!=``."""
    name = f"{prefix}value"
    if options["op"] == "in":
        spec = Option("value", SCALARS, "")
    elif options["op"] in _ORDERS:
        spec = Option("value", NUMBER, "")
    else:
        spec = Option("value", SCALAR, "")
    return {**options, "value": check_value(spec, options["value"], name)}


def _passes(label: Any, op: str, value: Any) -> bool:
    if op == "in":
        labels = label if isinstance(label, list) else [label]  # a multiple choice passes on any of its answers
        return any(same(one, allowed) for one in labels for allowed in value)
    if op in _ORDERS:
        return _is_number(label) and _ORDERS[op](label, value)
    return same(label, value) == (op == "==")


def _missing(question: str, options: dict[str, Any], reason: str) -> dict[str, Any] | None:
    return None if options["missing"] == "keep" else {"question": question, "reason": reason}


def _label(entry: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any] | None:
    question = options["question"]
    label = entry.get("value") if entry else None
    if label is None:
        return _missing(question, options, "no label")
    if _passes(label, options["op"], options["value"]):
        return None
    return {"question": question, "label": _shown(label), "op": options["op"], "value": options["value"]}


def _shown(label: Any) -> Any:
    if isinstance(label, str):
        return clip(label, 80)
    return label if isinstance(label, bool | int | float) else clip(str(label), 80)


def _agreement(entry: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any] | None:
    question = options["question"]
    if not entry:
        return _missing(question, options, "no label")
    agreement = entry.get("agreement")
    if agreement is None:
        return _missing(question, options, "no agreement")
    if agreement >= options["value"]:
        return None
    return {"question": question, "agreement": ratio(agreement), "threshold": options["value"]}


QUESTION_OPTION = Option("question", STRING, "the name of the question whose labels are read", required=True)

RULES = (
    RuleSpec(
        "label",
        LABELS,
        "Keeps a record only if its label of a question passes a comparison (rating >= 4, verdict == 'good', "
        "topic in [...]).",
        (
            QUESTION_OPTION,
            Option("op", CHOICE, "the comparison", default="==", choices=OPS),
            Option(
                "value",
                ANY,
                "what the label is compared with: a number for >=, <=, >, <; a list for in; else a string, number "
                "or boolean",
                required=True,
            ),
            MISSING_OPTION,
        ),
        check_label=_label,
        check_options=_check_value,
    ),
    RuleSpec(
        "agreement",
        LABELS,
        "Keeps a record only if its annotators agree on a question at least this much (the item's agreement, 0–1).",
        (
            QUESTION_OPTION,
            Option("value", NUMBER, "the lowest item agreement kept (0–1)", required=True, minimum=0, maximum=1),
            MISSING_OPTION,
        ),
        check_label=_agreement,
    ),
)
