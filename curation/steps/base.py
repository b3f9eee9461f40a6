"""What every step returns, and the error a step raises when its options are wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

Record = dict[str, Any]  # {"id": int, "content": dict, "metadata": dict}


class Dropped(NamedTuple):
    """One record a step removed: its example id, the rule (e.g. ``filter.min_words``) and why (JSON-ready)."""

    id: int
    rule: str
    detail: dict[str, Any]


@dataclass
class StepOutput:
    """A record step's result on one batch: the records it kept (in order, content possibly changed), the ones it
    dropped, how many kept records it changed (cleaning, redaction), and flat counters the runner sums over
    every chunk into the step's result (e.g. ``{"redacted.email": 12}``)."""

    kept: list[Record]
    dropped: list[Dropped] = field(default_factory=list)
    changed: int = 0
    stats: dict[str, int] = field(default_factory=dict)


class StepOptionError(ValueError):
    """A step's options are wrong. ``option`` names the offending option (or rule); the message says what to fix.
    The API turns it into a 400 naming the step and the option."""

    def __init__(self, option: str, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.option = option
        self.message = message
        self.details = details
