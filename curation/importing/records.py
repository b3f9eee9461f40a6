"""Turn one imported record, in any accepted shape or alias, into canonical content (annotate/shapes.py).

Accepted (see API.md): text; instruction (prompt/response, Alpaca instruction/input/output, Dolly
instruction/context/response, prompt/completion); chat (messages, ShareGPT conversations with from/value);
candidates (prompt + responses); preference (prompt/chosen/rejected, TRL's conversational and implicit-prompt
forms). TRL's conversational prompt/completion becomes chat. Keys that belong to no shape are kept in metadata.

Pure Python: raises RecordError with a reason a user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annotate.shapes import CHAT_ROLES

MAX_ID_LENGTH = 255
SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "function_call": "assistant",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
}
PROMPT_KEYS = ("prompt", "instruction")
INPUT_KEYS = ("input", "context")
RESPONSE_KEYS = ("response", "completion", "output")
# The keys that decide a record's shape, strongest first. "text" decides only when nothing else does, so
# Alpaca's pre-rendered "text" column does not make an instruction record ambiguous.
SHAPE_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("chat", ("messages", "conversations")),
    ("candidates", ("responses",)),
    ("preference", ("chosen", "rejected")),
    ("instruction", RESPONSE_KEYS),
)
SHAPE_OF_MARKER = {key: shape for shape, markers in SHAPE_MARKERS for key in markers}
SHAPE_RANK = {shape: rank for rank, (shape, _) in enumerate(SHAPE_MARKERS)}
ACCEPTED = (
    "text; prompt + response (or instruction/input/output, or prompt/completion); messages (or ShareGPT "
    "conversations); prompt + responses; prompt + chosen + rejected"
)


class RecordError(ValueError):
    """A record that cannot be imported; the message says why and what to change."""


@dataclass(slots=True)
class CanonicalRecord:
    external_id: str | None
    content: dict[str, Any]
    metadata: dict[str, Any]
    shape: str
    extra_keys: tuple[str, ...]


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(type(value), "a number")


def _string(record: dict[str, Any], key: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise RecordError(f"'{key}' must be a string, not {type_name(value)}")
    return value


def _one_of(record: dict[str, Any], keys: tuple[str, ...], what: str) -> str | None:
    present = [key for key in keys if key in record]
    if len(present) > 1:
        raise RecordError(f"{what} is given twice ({' and '.join(repr(k) for k in present)}); keep one")
    return present[0] if present else None


def _external_id(record: dict[str, Any]) -> str | None:
    value = record.pop("id", None)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RecordError(f"'id' must be a string, not {type_name(value)}")
    if not value.strip():
        raise RecordError("'id' is empty; give a non-empty id or leave it out")
    if len(value) > MAX_ID_LENGTH:
        raise RecordError(f"'id' is {len(value)} characters long; at most {MAX_ID_LENGTH} are allowed")
    return value


def _messages(value: Any, key: str, *, sharegpt: bool = False) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise RecordError(f"'{key}' must be a non-empty list of messages, not {type_name(value)}")
    messages = []
    for index, raw in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(raw, dict):
            raise RecordError(f"{where} must be an object with 'role' and 'content', not {type_name(raw)}")
        # Parquet gives every message every field of its struct type (a user turn gets "tool_calls": null), so a
        # null field means "not given", as for top-level columns; only content may be null (checked below).
        message = {k: v for k, v in raw.items() if v is not None or k == "content"}
        if sharegpt and "from" in message:
            speaker = message.pop("from")
            if speaker not in SHAREGPT_ROLES:
                raise RecordError(f"{where}: unknown speaker {speaker!r}; use one of {', '.join(SHAREGPT_ROLES)}")
            message["role"] = SHAREGPT_ROLES[speaker]
            if "value" in message:
                message["content"] = message.pop("value")
        role = message.get("role")
        if role not in CHAT_ROLES:
            raise RecordError(f"{where}: 'role' must be one of {', '.join(CHAT_ROLES)}, not {role!r}")
        content = message.get("content")
        # An assistant turn that only calls tools has no text (OpenAI's format).
        if content is None and role == "assistant" and message.get("tool_calls"):
            message["content"] = None
        elif not isinstance(content, str):
            raise RecordError(f"{where}: 'content' must be a string, not {type_name(content)}")
        messages.append(message)
    return messages


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) for m in value)


def _system_first(messages: list[dict[str, Any]], record: dict[str, Any]) -> list[dict[str, Any]]:
    if "system" not in record:
        return messages
    system = _string(record, "system")
    if messages[0]["role"] == "system":
        raise RecordError("the system prompt is given twice (a 'system' key and a system message); keep one")
    return [{"role": "system", "content": system}, *messages]


def _chat(record: dict[str, Any]) -> dict[str, Any]:
    key = _one_of(record, ("messages", "conversations"), "the conversation")
    assert key is not None
    messages = _system_first(_messages(record[key], key, sharegpt=key == "conversations"), record)
    content: dict[str, Any] = {"messages": messages}
    if "tools" in record:
        tools = record["tools"]
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise RecordError("'tools' must be a list of tool definitions (objects)")
        content["tools"] = tools
    return content


def _prompt_text(record: dict[str, Any]) -> str:
    key = _one_of(record, PROMPT_KEYS, "the prompt")
    if key is None:
        raise RecordError("a 'prompt' (or Alpaca 'instruction') is missing")
    prompt = _string(record, key)
    input_key = _one_of(record, INPUT_KEYS, "the input")
    if input_key is not None:
        extra = _string(record, input_key)
        # Alpaca's convention: the input follows the instruction after a blank line.
        if extra.strip():
            prompt = f"{prompt}\n\n{extra}"
    return prompt


def _with_system(content: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    if "system" in record:
        content["system"] = _string(record, "system")
    return content


def _instruction(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    response_key = _one_of(record, RESPONSE_KEYS, "the response")
    assert response_key is not None
    prompt_key = _one_of(record, PROMPT_KEYS, "the prompt")
    # TRL's conversational prompt-completion: two lists of messages make one conversation.
    if prompt_key and _is_messages(record[prompt_key]) and _is_messages(record[response_key]):
        turns = _messages(record[prompt_key], prompt_key) + _messages(record[response_key], response_key)
        return "chat", {"messages": _system_first(turns, record)}
    prompt = _prompt_text(record)
    return "instruction", _with_system({"prompt": prompt, "response": _string(record, response_key)}, record)


def _candidates(record: dict[str, Any]) -> dict[str, Any]:
    responses = record["responses"]
    if not isinstance(responses, list) or len(responses) < 2:
        raise RecordError("'responses' must be a list of at least 2 candidate responses")
    for index, response in enumerate(responses):
        if not isinstance(response, str):
            raise RecordError(f"responses[{index}] must be a string, not {type_name(response)}")
    return _with_system({"prompt": _prompt_text(record), "responses": responses}, record)


def _common_prefix(chosen: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> int:
    length = 0
    while length < min(len(chosen), len(rejected)) - 1 and chosen[length] == rejected[length]:
        length += 1
    return length


def _preference(record: dict[str, Any]) -> dict[str, Any]:
    for key in ("chosen", "rejected"):
        if key not in record:
            raise RecordError(f"a preference record needs both 'chosen' and 'rejected'; '{key}' is missing")
    chosen, rejected = record["chosen"], record["rejected"]
    if _is_messages(chosen) and _is_messages(rejected):
        chosen, rejected = _messages(chosen, "chosen"), _messages(rejected, "rejected")
        if "prompt" in record:
            prompt = record["prompt"]
            prompt = _messages(prompt, "prompt") if isinstance(prompt, list) else _string(record, "prompt")
            if isinstance(prompt, str):
                prompt = [{"role": "user", "content": prompt}]
        else:
            # TRL's implicit prompt: the turns both conversations share are the prompt.
            shared = _common_prefix(chosen, rejected)
            if shared == 0:
                raise RecordError("'chosen' and 'rejected' share no prompt turns; add a 'prompt'")
            prompt, chosen, rejected = chosen[:shared], chosen[shared:], rejected[shared:]
        return {"prompt": _system_first(prompt, record), "chosen": chosen, "rejected": rejected}
    if "prompt" not in record and "instruction" not in record:
        raise RecordError("a preference record needs a 'prompt' beside 'chosen' and 'rejected'")
    return _with_system(
        {"prompt": _prompt_text(record), "chosen": _string(record, "chosen"), "rejected": _string(record, "rejected")},
        record,
    )


# The keys each shape reads; what is left over goes to metadata.
CONSUMED = {
    "chat": {"messages", "conversations", "system", "tools"},
    "candidates": {"responses", "system", *PROMPT_KEYS, *INPUT_KEYS},
    "preference": {"chosen", "rejected", "system", *PROMPT_KEYS, *INPUT_KEYS},
    "instruction": {"system", *PROMPT_KEYS, *INPUT_KEYS, *RESPONSE_KEYS},
    "text": {"text"},
}


def _shape(record: dict[str, Any]) -> str:
    # Looking each of the record's few keys up is the fast way: this runs once per record of every import.
    marked = {SHAPE_OF_MARKER[key] for key in record if key in SHAPE_OF_MARKER}
    if len(marked) == 1:
        return marked.pop()
    found = sorted(marked, key=SHAPE_RANK.__getitem__)
    if len(found) > 1:
        raise RecordError(f"the record mixes the {' and '.join(found)} shapes; keep the keys of one")
    if found:
        return found[0]
    if "text" in record:
        return "text"
    if any(key in record for key in PROMPT_KEYS):
        raise RecordError(
            "the record has a prompt but no response: add 'response', 'responses', or 'chosen'/'rejected'"
        )
    keys = ", ".join(sorted(record)) or "none"
    raise RecordError(f"unknown record shape (keys: {keys}); expected one of: {ACCEPTED}")


# The keys of the most common record by far (an instruction pair), which ``_plain_instruction`` handles alone.
PLAIN_INSTRUCTION_KEYS = frozenset({"id", "prompt", "response", "system", "metadata"})


def _plain_instruction(raw: dict[str, Any]) -> CanonicalRecord | None:
    """The canonical form of a plain ``prompt`` + ``response`` record (``system``, ``id`` and ``metadata``
    optional, every value of the right type), or None for any other record, which the general path then checks
    and explains. It gives exactly what the general path gives (tests/curation/test_records.py compares them);
    it exists because every record of a million-record import passes here, and this one costs a fifth."""
    if not raw.keys() <= PLAIN_INSTRUCTION_KEYS:
        return None
    prompt, response = raw.get("prompt"), raw.get("response")
    if type(prompt) is not str or type(response) is not str:
        return None
    content = {"prompt": prompt, "response": response}
    if "system" in raw:
        system = raw["system"]
        if type(system) is not str:
            return None
        content["system"] = system
    metadata = raw.get("metadata", {})
    external_id = raw.get("id")
    if type(metadata) is not dict or (
        external_id is not None
        and (type(external_id) is not str or len(external_id) > MAX_ID_LENGTH or not external_id.strip())
    ):
        return None
    return CanonicalRecord(
        external_id=external_id, content=content, metadata=metadata, shape="instruction", extra_keys=()
    )


def canonicalize(raw: Any) -> CanonicalRecord:
    """Check one record and convert it to canonical content, or raise RecordError."""
    if type(raw) is dict and (plain := _plain_instruction(raw)) is not None:
        return plain
    return canonicalize_any(raw)


def canonicalize_any(raw: Any) -> CanonicalRecord:
    """``canonicalize`` without the shortcut for plain instruction records: every shape and alias, and every
    reason a record can be refused."""
    if not isinstance(raw, dict):
        raise RecordError(f"a record must be a JSON object, not {type_name(raw)}")
    # Columnar sources (CSV, Parquet) give every record every column; an empty cell means "not given".
    record = {key: value for key, value in raw.items() if value is not None}
    external_id = _external_id(record)
    metadata = record.pop("metadata", {})
    if not isinstance(metadata, dict):
        raise RecordError(f"'metadata' must be an object, not {type_name(metadata)}")
    shape = _shape(record)
    consumed = CONSUMED[shape]
    if shape == "chat":
        content = _chat(record)
    elif shape == "candidates":
        content = _candidates(record)
    elif shape == "preference":
        content = _preference(record)
    elif shape == "instruction":
        shape, content = _instruction(record)
    else:
        content = {"text": _string(record, "text")}
    extra = tuple(sorted(set(record) - consumed))
    clash = [key for key in extra if key in metadata]
    if clash:
        raise RecordError(f"{', '.join(repr(k) for k in clash)} is both a top-level key and a metadata key; keep one")
    if extra:
        metadata = {**metadata, **{key: record[key] for key in extra}}
    return CanonicalRecord(external_id=external_id, content=content, metadata=metadata, shape=shape, extra_keys=extra)
