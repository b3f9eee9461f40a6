"""From the steps as submitted to a plan the runner executes.

Each step becomes a *record part* (decides about each record alone), a *group part* (needs the whole input), or
both (a filter step with rules that compare records). The runner runs the parts in chunks, in *phases*: a phase
is a run of record parts, closed by at most one group part, whose keys every chunk computes and the runner
merges. The last phase writes the version's members.

A chunk of a later phase reads the records from the input again and replays the parts that changed content
(clean, PII redaction) before it: the steps are deterministic, and replaying them costs less than writing every
intermediate content to the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curation.steps import clean, decontaminate, dedup, filters, pii
from curation.steps.base import Dropped, Record, StepOptionError, StepOutput

OPS = ("clean", "dedup", "filter", "pii", "decontaminate")
MAX_STEPS = 50

ApplyFn = Callable[[list[Record], dict[str, Any], dict[str, Any]], StepOutput]
KeysFn = Callable[[list[Record], dict[str, Any]], dict[str, np.ndarray]]
FetchTexts = Callable[[np.ndarray], dict[int, str]]
MergeFn = Callable[[dict[str, np.ndarray], dict[str, Any], FetchTexts, Mapping[int, float] | None], list[Dropped]]


class StepError(ValueError):
    """A step as submitted is wrong: which step (its position and op), which option, and what to fix."""

    def __init__(self, index: int, op: str | None, option: str | None, message: str, details: Any = None):
        where = f"steps[{index}]" + (f" ({op})" if op else "")
        super().__init__(f"{where}: {option + ': ' if option else ''}{message}")
        self.index, self.op, self.option, self.message, self.details = index, op, option, message, details


@dataclass(frozen=True)
class RecordPart:
    step: int
    op: str
    options: dict[str, Any]
    apply: ApplyFn
    transforms: bool  # changes content (replayed by later phases)
    removes: bool
    label_questions: frozenset[str] = frozenset()
    eval_version: int | None = None


@dataclass(frozen=True)
class GroupPart:
    step: int
    op: str
    options: dict[str, Any]
    keys: KeysFn
    merge: MergeFn
    fields: tuple[str, ...] | None = None  # what fetch_texts gives: the text the step compares
    score_question: str | None = None  # keep the best-rated by this question


@dataclass
class Phase:
    record_parts: list[RecordPart] = field(default_factory=list)
    group: GroupPart | None = None


@dataclass
class Plan:
    steps: list[dict[str, Any]]  # normalised, with defaults filled in
    phases: list[Phase]
    warnings: list[str]

    @property
    def transforms(self) -> bool:
        return any(part.transforms for phase in self.phases for part in phase.record_parts)

    def replayed_before(self, phase_index: int) -> list[RecordPart]:
        """The parts that changed content in the phases before this one, in step order."""
        return [part for phase in self.phases[:phase_index] for part in phase.record_parts if part.transforms]

    def replayed_through(self, phase_index: int) -> list[RecordPart]:
        """The parts that changed content up to this phase's group step (for the texts a group step compares)."""
        return [part for phase in self.phases[: phase_index + 1] for part in phase.record_parts if part.transforms]

    @property
    def label_questions(self) -> set[str]:
        names: set[str] = set()
        for phase in self.phases:
            for part in phase.record_parts:
                names |= part.label_questions
            if phase.group and phase.group.score_question:
                names.add(phase.group.score_question)
        return names


# How much a step costs per record, roughly, to say when an expensive step runs before a cheap one that would
# shrink its input (the practice: cheap filters first, then exact dedup, then near-duplicate dedup).
def _cost(op: str, options: dict[str, Any]) -> int:
    if op == "dedup":
        return {"exact": 1, "minhash": 4, "semantic": 8}.get(options.get("method", ""), 4)
    return {"clean": 1, "filter": 1, "pii": 2, "decontaminate": 3}[op]


def _removes(op: str, options: dict[str, Any]) -> bool:
    if op == "clean":
        return False
    if op == "pii":
        return options.get("action") == "drop"
    return True


def _describe(op: str, options: dict[str, Any]) -> str:
    if op == "dedup":
        return f"dedup {options.get('method')}"
    return op


def _order_warnings(steps: list[dict[str, Any]]) -> list[str]:
    warnings = []
    for later, step in enumerate(steps):
        if not _removes(step["op"], step):
            continue
        for earlier in range(later):
            before = steps[earlier]
            if _cost(before["op"], before) > _cost(step["op"], step):
                warnings.append(
                    f"Step {earlier + 1} ({_describe(before['op'], before)}) runs before step {later + 1} "
                    f"({_describe(step['op'], step)}), which costs less per record and would shrink its input: "
                    "run the cheaper step first."
                )
                break
    return warnings


def _validate_one(index: int, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise StepError(index, None, None, 'each step must be an object such as {"op": "dedup", "method": "exact"}')
    op = raw.get("op")
    if op not in OPS:
        raise StepError(index, None, "op", f"unknown op {op!r}; use one of {', '.join(OPS)}", {"ops": list(OPS)})
    options = {key: value for key, value in raw.items() if key != "op"}
    module = {"clean": clean, "dedup": dedup, "filter": filters, "pii": pii, "decontaminate": decontaminate}[op]
    try:
        normalised = module.validate(options)
    except StepOptionError as exc:
        raise StepError(index, op, exc.option, exc.message, exc.details) from None
    return {"op": op, **normalised}


def validate_steps(raw: Any) -> list[dict[str, Any]]:
    """The steps as submitted, checked and normalised (defaults filled in); StepError names the first bad one."""
    if not isinstance(raw, list):
        raise StepError(0, None, None, "'steps' must be a list of steps (an empty list freezes the input as it is)")
    if len(raw) > MAX_STEPS:
        raise StepError(MAX_STEPS, None, None, f"a pipeline takes at most {MAX_STEPS} steps")
    # The order of the steps is checked first: it is wrong whatever the options of each.
    seen_minhash = False
    for index, step in enumerate(raw):
        method = step.get("method") if isinstance(step, dict) and step.get("op") == "dedup" else None
        seen_minhash |= method == "minhash"
        if method == "semantic" and not seen_minhash:
            raise StepError(
                index,
                "dedup",
                "method",
                "semantic dedup compares embeddings, which costs far more than MinHash: run a minhash dedup step "
                "before it so that it only sees what MinHash kept",
            )
    steps = [_validate_one(index, step) for index, step in enumerate(raw)]
    return steps


def _dedup_merge(step: dict[str, Any]) -> MergeFn:
    def merge(
        keys: dict[str, np.ndarray], options: dict[str, Any], fetch: FetchTexts, scores: Mapping[int, float] | None
    ) -> list[Dropped]:
        return dedup.merge(keys, options, fetch_texts=fetch, scores=scores)

    return merge


def _filter_merge(
    keys: dict[str, np.ndarray], options: dict[str, Any], fetch: FetchTexts, scores: Mapping[int, float] | None
) -> list[Dropped]:
    return filters.group_merge(keys, options)


def _parts(index: int, step: dict[str, Any]) -> list[RecordPart | GroupPart]:
    op = step["op"]
    options = {key: value for key, value in step.items() if key != "op"}
    if op == "clean":
        return [RecordPart(index, op, options, clean.apply, transforms=True, removes=False)]
    if op == "pii":
        redacts = options.get("action") == "redact"
        return [RecordPart(index, op, options, pii.apply, transforms=redacts, removes=not redacts)]
    if op == "decontaminate":
        return [
            RecordPart(
                index, op, options, decontaminate.apply, transforms=False, removes=True,
                eval_version=int(options["against"]),
            )
        ]  # fmt: skip
    if op == "filter":
        parts: list[RecordPart | GroupPart] = [
            RecordPart(
                index, op, options, filters.apply, transforms=False, removes=True,
                label_questions=frozenset(filters.labels_questions(options)),
            )
        ]  # fmt: skip
        if filters.has_group_rules(options):
            parts.append(GroupPart(index, op, options, filters.group_keys, _filter_merge))
        return parts
    fields = options.get("fields")
    keep = options.get("keep")
    return [
        GroupPart(
            index, op, options, dedup.keys, _dedup_merge(step),
            fields=tuple(fields) if fields else None,
            score_question=options.get("question") if keep == "best" else None,
        )
    ]  # fmt: skip


def compile_plan(steps: list[dict[str, Any]]) -> Plan:
    """The phases that run validated ``steps`` (see the module's docstring)."""
    phases = [Phase()]
    for index, step in enumerate(steps):
        for part in _parts(index, step):
            if isinstance(part, GroupPart):
                phases[-1].group = part
                phases.append(Phase())
            else:
                phases[-1].record_parts.append(part)
    return Plan(steps=steps, phases=phases, warnings=_order_warnings(steps))
