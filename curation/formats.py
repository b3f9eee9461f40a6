"""One example's content as one row of an export format (TRL's dataset formats, chat finetuning APIs' JSONL).

=====================  ==================================================================================
format                 row
=====================  ==================================================================================
``text``               ``text``
``messages``           ``messages`` (+ ``tools``); with a template: ``text``
``prompt_completion``  ``prompt``, ``completion`` (+ ``tools`` when conversational)
``preference``         ``prompt``, ``chosen``, ``rejected``
``reward``             ``prompt``, ``completion``, ``score`` (+ ``tools`` when conversational)
=====================  ==================================================================================

Prompt, completion, chosen and rejected are strings, rendered with the chat template when there is one, or
lists of messages when the options ask for ``conversational`` rows. A conversation is split at its last
assistant turn: the turns before it are the prompt, that turn is the completion.

A row never silently loses part of its example: what a format can't hold is a ``Skipped`` with the reason
(``SKIP_REASONS``). Two things are left out on purpose: message keys other than role, content, name,
tool_call_id and tool_calls; and in ``preference`` rows from ``candidates``, the responses after the first two
(the preference question compares ``responses[0]`` with ``responses[1]``).

``tools`` (a chat's tool definitions) is a JSON string, so that the Parquet schema stays fixed; it is only in
rows whose example defines tools. Tool call arguments are JSON strings, as in OpenAI's format (an object is
written with sorted keys). Rows share no lists or dicts with the content they were built from.

Pure Python; no Django.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from annotate.shapes import shape_of
from curation.chat_templates import (
    ChatTemplate,
    PrefixProblem,
    TemplateProblem,
    check_messages,
    render,
    render_split,
)

FORMATS = ("text", "prompt_completion", "messages", "preference", "reward")
SKIP_REASONS: dict[str, str] = {
    "shape": "the example's shape has nothing this format can hold (e.g. a text example as messages)",
    "no_label": "the export's question has no settled label for the example",
    "tie": "the preference question was settled as a tie, so neither response is the chosen one",
    "needs_template": "the row would need several turns, a system prompt or tools in one string: give a chat "
    "template, or ask for conversational rows",
    "no_assistant_turn": "the conversation has no assistant turn to learn from",
    "trailing_turns": "the conversation goes on after its last assistant turn, so that turn is not a completion",
    "empty_turn": "a turn of the conversation has no content",
    "system_not_first": "a system turn comes after other turns",
    "roles": "the turns' roles don't fit: the chat template's rules (alternation, no tool or system turns), or no "
    "user turn before the answer",
    "special_tokens": "a turn contains one of the chat template's special tokens",
    "template_error": "the chat template failed on the example",
    "not_prefix": "the chat template does not write the prompt as the start of the conversation, so the "
    "completion can't be split from it",
}
Message = dict[str, Any]
_SORTED = orjson.OPT_SORT_KEYS
_CONVERSATION_SHAPES = ("instruction", "chat")


@dataclass(frozen=True)
class FormatOptions:
    format: str
    template: ChatTemplate | None = None
    # prompt/completion/chosen/rejected as lists of messages (TRL's conversational form) instead of strings.
    conversational: bool = False
    # A system prompt given to rows that have none.
    system: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; use one of {', '.join(FORMATS)}")
        if self.template is not None and self.conversational:
            raise ValueError("a template writes strings; conversational rows take no template")


@dataclass(frozen=True)
class Label:
    """The settled label of one example for the export's question."""

    preference: str | None = None  # "a" (responses[0] is better), "b" or "tie"
    score: float | None = None


@dataclass(frozen=True)
class Skipped:
    reason: str  # a key of SKIP_REASONS
    message: str


class _Skip(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.skipped = Skipped(reason, message)


# Messages


def _tool_call(call: Any, turn: int) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise _Skip("shape", f"turn {turn} has a tool call that is not an object")
    # OpenAI's form wraps name and arguments in "function"; a bare {"name", "arguments"} call is accepted too.
    function = call.get("function", call)
    if not isinstance(function, dict):
        raise _Skip("shape", f"turn {turn} has a tool call whose 'function' is not an object")
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        arguments = orjson.dumps(arguments, option=_SORTED).decode()
    call_id = call.get("id")
    return {
        "id": call_id if call_id is None or isinstance(call_id, str) else str(call_id),
        "type": call.get("type") or "function",
        "function": {"name": function.get("name"), "arguments": arguments},
    }


def _message(message: Message, turn: int) -> Message:
    out = {"role": message["role"], "content": message.get("content")}
    if len(message) > 2 or "content" not in message:
        name, call_id, calls = message.get("name"), message.get("tool_call_id"), message.get("tool_calls")
        if name is not None:
            out["name"] = name
        if call_id is not None:
            out["tool_call_id"] = call_id
        if calls:
            out["tool_calls"] = [_tool_call(call, turn) for call in calls]
    return out


def _messages(value: Any) -> list[Message]:
    if not isinstance(value, list) or not all(isinstance(m, dict) and "role" in m for m in value):
        raise _Skip("shape", "the conversation is not a list of messages with roles")
    return [_message(m, turn) for turn, m in enumerate(value, 1)]


def _system_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value and not value.isspace() else None


def _with_system(messages: list[Message], system: str | None) -> list[Message]:
    if system is None or (messages and messages[0]["role"] == "system"):
        return messages
    return [{"role": "system", "content": system}, *messages]


def _prompt_turns(content: dict[str, Any], options: FormatOptions) -> list[Message]:
    """The prompt of an instruction, candidates or preference record as turns, with its system prompt."""
    prompt = content["prompt"]
    system = _system_text(content.get("system")) or options.system
    if isinstance(prompt, str):
        return _with_system([{"role": "user", "content": prompt}], system)
    return _with_system(_messages(prompt), system)


def _conversation(content: dict[str, Any], shape: str, options: FormatOptions) -> list[Message]:
    if shape == "instruction":
        return [*_prompt_turns(content, options), {"role": "assistant", "content": content["response"]}]
    return _with_system(_messages(content["messages"]), options.system)


def _tools(content: dict[str, Any]) -> list[dict[str, Any]] | None:
    tools = content.get("tools")
    return tools if isinstance(tools, list) and tools else None


def _check(template: ChatTemplate | None, messages: list[Message], where: str = "") -> None:
    problem = check_messages(template, messages)
    if problem is not None:
        raise _Skip(problem.reason, where + problem.message)


def _last_assistant(messages: list[Message], what: str) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index]["role"] == "assistant":
            return index
    raise _Skip("no_assistant_turn", f"{what} has no assistant turn")


# Rendering


def _render(template: ChatTemplate, messages: list[Message], tools: list[dict[str, Any]] | None) -> str:
    try:
        return render(template, messages, tools=tools)
    except TemplateProblem as problem:
        raise _Skip("template_error", problem.message) from None


def _render_split(
    template: ChatTemplate, prompt: list[Message], completion: list[Message], tools: list[dict[str, Any]] | None
) -> tuple[str, str]:
    try:
        return render_split(template, prompt, completion, tools=tools)
    except PrefixProblem as problem:
        raise _Skip("not_prefix", problem.message) from None
    except TemplateProblem as problem:
        raise _Skip("template_error", problem.message) from None


def _needs_template(what: str) -> _Skip:
    return _Skip("needs_template", f"{what}, which a plain string can't hold: pass a template, or conversational=true")


def _one_user_turn(prompt: list[Message]) -> str:
    if len(prompt) == 1 and prompt[0]["role"] == "user":
        content: str = prompt[0]["content"]
        return content
    if any(m["role"] == "system" for m in prompt):
        raise _needs_template("the prompt has a system prompt")
    raise _needs_template(f"the prompt has {len(prompt)} turns")


def _one_assistant_turn(turns: list[Message], what: str) -> str:
    if len(turns) != 1 or turns[0]["role"] != "assistant":
        raise _needs_template(f"the {what} has {len(turns)} turns")
    if "tool_calls" in turns[0]:
        raise _needs_template(f"the {what} calls tools")
    content: str = turns[0]["content"]
    return content


# Formats


def _shape_skip(shape: str, options: FormatOptions) -> _Skip:
    return _Skip("shape", f"a {shape} example can't make a {options.format} row")


def _text(content: dict[str, Any], options: FormatOptions, label: Label | None) -> dict[str, Any]:
    shape = shape_of(content)
    if shape == "text":
        text = content.get("text")
        if not isinstance(text, str):
            raise _Skip("shape", "the example has no text")
        return {"text": text}
    if shape not in _CONVERSATION_SHAPES:
        raise _shape_skip(shape, options)
    if options.template is None:
        raise _Skip("needs_template", "a conversation becomes one text only through a chat template: pass a template")
    messages = _conversation(content, shape, options)
    _check(options.template, messages)
    return {"text": _render(options.template, messages, _tools(content))}


def _messages_row(content: dict[str, Any], options: FormatOptions, label: Label | None) -> dict[str, Any]:
    shape = shape_of(content)
    if shape not in _CONVERSATION_SHAPES:
        raise _shape_skip(shape, options)
    messages = _conversation(content, shape, options)
    _check(options.template, messages)
    _last_assistant(messages, "the conversation")
    tools = _tools(content)
    if options.template is not None:
        return {"text": _render(options.template, messages, tools)}
    row: dict[str, Any] = {"messages": messages}
    if tools:
        row["tools"] = orjson.dumps(tools, option=_SORTED).decode()
    return row


def _split(content: dict[str, Any], options: FormatOptions) -> dict[str, Any]:
    """prompt and completion (and tools) of an instruction or chat example, split at its last assistant turn."""
    shape = shape_of(content)
    if shape not in _CONVERSATION_SHAPES:
        raise _shape_skip(shape, options)
    messages = _conversation(content, shape, options)
    _check(options.template, messages)
    last = _last_assistant(messages, "the conversation")
    if last != len(messages) - 1:
        raise _Skip(
            "trailing_turns",
            f"turn {last + 2} ({messages[last + 1]['role']}) comes after the last assistant turn (turn {last + 1}); "
            f"a {options.format} row needs the conversation to end with an assistant turn",
        )
    prompt, completion = messages[:last], messages[last:]
    if not any(m["role"] == "user" for m in prompt):
        raise _Skip("roles", f"there is no user turn before the assistant turn (turn {last + 1})")
    tools = _tools(content)
    if options.template is not None:
        prompt_text, completion_text = _render_split(options.template, prompt, completion, tools)
        return {"prompt": prompt_text, "completion": completion_text}
    if options.conversational:
        row: dict[str, Any] = {"prompt": prompt, "completion": completion}
        if tools:
            row["tools"] = orjson.dumps(tools, option=_SORTED).decode()
        return row
    if tools:
        raise _needs_template("the conversation defines tools")
    prompt_text = _one_user_turn(prompt)
    return {"prompt": prompt_text, "completion": _one_assistant_turn(completion, "completion")}


def _prompt_completion(content: dict[str, Any], options: FormatOptions, label: Label | None) -> dict[str, Any]:
    return _split(content, options)


def _reward(content: dict[str, Any], options: FormatOptions, label: Label | None) -> dict[str, Any]:
    shape = shape_of(content)
    if shape not in _CONVERSATION_SHAPES:
        raise _shape_skip(shape, options)
    score = None if label is None else label.score
    if score is None or math.isnan(score):
        raise _Skip("no_label", "the example has no score for the rating question")
    row = _split(content, options)
    tools = row.pop("tools", None)
    row["score"] = float(score)
    if tools is not None:
        row["tools"] = tools
    return row


def _answer(value: Any, what: str) -> list[Message]:
    turns = [{"role": "assistant", "content": value}] if isinstance(value, str) else _messages(value)
    if not any(turn["role"] == "assistant" for turn in turns):
        raise _Skip("no_assistant_turn", f"the {what} answer has no assistant turn")
    return turns


def _pair(content: dict[str, Any], shape: str, label: Label | None) -> tuple[Any, Any]:
    if shape == "preference":
        return content["chosen"], content["rejected"]
    preference = None if label is None else label.preference
    if preference is None:
        raise _Skip("no_label", "the example has no settled answer to the preference question")
    if preference == "tie":
        raise _Skip("tie", "the preference question was settled as a tie")
    responses = content["responses"]
    if preference == "a":
        return responses[0], responses[1]
    if preference == "b":
        return responses[1], responses[0]
    raise _Skip("no_label", f"the preference answer {preference!r} is not 'a', 'b' or 'tie'")


def _preference(content: dict[str, Any], options: FormatOptions, label: Label | None) -> dict[str, Any]:
    shape = shape_of(content)
    if shape not in ("preference", "candidates"):
        raise _shape_skip(shape, options)
    chosen_value, rejected_value = _pair(content, shape, label)
    prompt = _prompt_turns(content, options)
    chosen, rejected = _answer(chosen_value, "chosen"), _answer(rejected_value, "rejected")
    _check(options.template, [*prompt, *chosen], "in the chosen conversation, ")
    _check(options.template, [*prompt, *rejected], "in the rejected conversation, ")
    if options.template is not None:
        prompt_text, chosen_text = _render_split(options.template, prompt, chosen, None)
        rejected_text = _render_split(options.template, prompt, rejected, None)[1]
        return {"prompt": prompt_text, "chosen": chosen_text, "rejected": rejected_text}
    if options.conversational:
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    return {
        "prompt": _one_user_turn(prompt),
        "chosen": _one_assistant_turn(chosen, "chosen answer"),
        "rejected": _one_assistant_turn(rejected, "rejected answer"),
    }


_BUILDERS: dict[str, Callable[[dict[str, Any], FormatOptions, Label | None], dict[str, Any]]] = {
    "text": _text,
    "prompt_completion": _prompt_completion,
    "messages": _messages_row,
    "preference": _preference,
    "reward": _reward,
}


def build(content: dict[str, Any], options: FormatOptions, label: Label | None = None) -> dict[str, Any] | Skipped:
    """The example's row in the options' format (its keys in ``columns(options)`` order), or why it has none."""
    try:
        return _BUILDERS[options.format](content, options, label)
    except _Skip as skip:
        return skip.skipped


def columns(options: FormatOptions) -> tuple[str, ...]:
    """The keys a row may have, in order. ``tools`` is only in rows whose example defines tools."""
    if options.format == "text" or (options.format == "messages" and options.template is not None):
        return ("text",)
    if options.format == "messages":
        return ("messages", "tools")
    if options.format == "preference":
        return ("prompt", "chosen", "rejected")
    tools = ("tools",) if options.conversational else ()
    if options.format == "reward":
        return ("prompt", "completion", "score", *tools)
    return ("prompt", "completion", *tools)


_TOOL_CALL = pa.struct(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())])),
    ]
)
MESSAGE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("name", pa.string()),
        ("tool_call_id", pa.string()),
        ("tool_calls", pa.list_(_TOOL_CALL)),
    ]
)
MESSAGES = pa.list_(MESSAGE)


def arrow_schema(options: FormatOptions) -> pa.Schema:
    """The Parquet schema of the options' rows: the same for every batch, whatever rows it holds."""
    text = MESSAGES if options.conversational else pa.string()
    types = {"messages": MESSAGES, "score": pa.float64(), "tools": pa.string(), "text": pa.string()}
    return pa.schema([(name, types.get(name, text)) for name in columns(options)])
