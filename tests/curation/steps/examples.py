"""Records of every canonical shape, for the tests that every step takes every shape."""

from __future__ import annotations

import copy
import json
from typing import Any

from curation.steps.base import Record

TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}}

CONTENTS: dict[str, dict[str, Any]] = {
    "text": {"text": "Once upon a time there was a <b>cat</b>.   \n\n\n\nThe end."},
    "instruction": {
        "system": "Be terse.",
        "prompt": "**Add** 2 and 2, then mail alice@example.com.",
        "response": "<|im_start|>assistant\n4",
    },
    "chat": {
        "messages": [
            {"role": "system", "content": "You are a calculator."},
            {"role": "user", "content": "What is 2 + 2? Call me on +44 20 7946 0958."},
            {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            {"role": "tool", "content": '{"result": 4}', "tool_call_id": "call_1"},
            {"role": "assistant", "content": "It is 4.\u00a0 "},
        ],
        "tools": [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}],
    },
    "candidates": {"prompt": "Name a colour.", "responses": ["Blue", "<i>Red</i>", "green  "]},
    "preference": {
        "prompt": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "What is 2 + 2?"}],
        "chosen": [{"role": "assistant", "content": "4"}],
        "rejected": [{"role": "assistant", "content": "5, card 4111 1111 1111 1111"}],
    },
}


def every_shape() -> list[Record]:
    """One record of each shape, ids 1–5, with metadata."""
    return [
        {"id": i, "content": copy.deepcopy(content), "metadata": {"source": shape}}
        for i, (shape, content) in enumerate(CONTENTS.items(), start=1)
    ]


def record(content: dict[str, Any], id: int = 1, **metadata: Any) -> Record:
    return {"id": id, "content": content, "metadata": metadata}


def frozen(records: list[Record]) -> str:
    """A snapshot of ``records`` to compare with after a step ran, to prove it mutated nothing."""
    return json.dumps(records, sort_keys=True)


def assert_json_ready(value: Any) -> None:
    assert json.loads(json.dumps(value)) == value
