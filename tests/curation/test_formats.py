"""build: every format from every shape, as strings, as conversations or through a chat template; a row that can't
be written is skipped with a reason, never written with part of its example missing; Parquet takes every row."""

from __future__ import annotations

import copy
import io
import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.chat_templates import BUILTIN, compile_template, render
from curation.formats import (
    FORMATS,
    SKIP_REASONS,
    FormatOptions,
    Label,
    Skipped,
    arrow_schema,
    build,
    columns,
)

CHATML, LLAMA3, MISTRAL = BUILTIN["chatml"], BUILTIN["llama3"], BUILTIN["mistral"]
SYSTEM = {"role": "system", "content": "Be terse."}
USER = {"role": "user", "content": "What is 2 + 2?"}
FOUR = {"role": "assistant", "content": "4"}
FIVE = {"role": "assistant", "content": "5"}
AGAIN = {"role": "user", "content": "And 3 + 3?"}
SIX = {"role": "assistant", "content": "6"}

TEXT = {"text": "Once upon a time."}
INSTRUCTION = {"prompt": "What is 2 + 2?", "response": "4"}
INSTRUCTION_WITH_SYSTEM = {**INSTRUCTION, "system": "Be terse."}
CHAT = {"messages": [SYSTEM, USER, FOUR, AGAIN, SIX]}
SINGLE_CHAT = {"messages": [USER, FOUR]}
CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_001", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    ],
}
RESULT = {"role": "tool", "tool_call_id": "call_001", "name": "get_weather", "content": '{"temperature_c": 3}'}
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
TOOL_CHAT = {
    "messages": [
        {"role": "system", "content": "Use the tools when they help."},
        {"role": "user", "content": "What's the weather in Oslo?"},
        CALL,
        RESULT,
        {"role": "assistant", "content": "It is 3 °C in Oslo."},
    ],
    "tools": [WEATHER_TOOL],
}
CANDIDATES = {"prompt": "What is 2 + 2?", "responses": ["4", "5", "22"]}
PREFERENCE = {"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5"}
CONVERSATIONAL_PREFERENCE = {"prompt": [USER], "chosen": [FOUR], "rejected": [FIVE]}
LONG_PREFERENCE = {"prompt": [SYSTEM, USER, FOUR, AGAIN], "chosen": [SIX], "rejected": [FIVE]}
SHAPES = {
    "text": TEXT,
    "instruction": INSTRUCTION,
    "instruction_system": INSTRUCTION_WITH_SYSTEM,
    "chat": CHAT,
    "single_chat": SINGLE_CHAT,
    "tool_chat": TOOL_CHAT,
    "candidates": CANDIDATES,
    "preference": PREFERENCE,
    "conversational_preference": CONVERSATIONAL_PREFERENCE,
    "long_preference": LONG_PREFERENCE,
}
STRINGS, CONVERSATIONAL = {}, {"conversational": True}


def row(content, format, label=None, **options):
    return build(content, FormatOptions(format, **options), label)


def skip_reason(content, format, label=None, **options):
    built = row(content, format, label, **options)
    assert isinstance(built, Skipped), built
    assert built.reason in SKIP_REASONS
    return built.reason


# Options


def test_it_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="unknown format"):
        FormatOptions("alpaca")


def test_it_refuses_a_template_with_conversational_rows():
    with pytest.raises(ValueError, match="conversational"):
        FormatOptions("messages", template=CHATML, conversational=True)


# text


def test_a_text_example_is_its_text():
    assert row(TEXT, "text") == {"text": "Once upon a time."}


def test_a_conversation_as_text_needs_a_template():
    built = row(INSTRUCTION, "text")

    assert built == Skipped("needs_template", built.message)
    assert "template" in built.message


def test_a_conversation_as_text_is_rendered_with_the_template():
    assert row(INSTRUCTION_WITH_SYSTEM, "text", template=CHATML) == {
        "text": "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n"
        "<|im_start|>assistant\n4<|im_end|>\n"
    }


def test_a_tool_chat_as_text_renders_its_tools_and_calls():
    text = row(TOOL_CHAT, "text", template=CHATML)["text"]

    assert '"name": "get_weather"' in text.split("\n</tools>")[0]
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>' in text


@pytest.mark.parametrize("shape", ["candidates", "preference", "conversational_preference"])
def test_comparisons_have_no_text(shape):
    assert skip_reason(SHAPES[shape], "text", template=CHATML) == "shape"


# messages


def test_an_instruction_becomes_a_user_and_an_assistant_turn():
    assert row(INSTRUCTION, "messages") == {"messages": [USER, FOUR]}


def test_an_instructions_system_prompt_comes_first():
    assert row(INSTRUCTION_WITH_SYSTEM, "messages") == {"messages": [SYSTEM, USER, FOUR]}


def test_the_options_system_prompt_goes_to_rows_without_one():
    assert row(INSTRUCTION, "messages", system="Be kind.") == {
        "messages": [{"role": "system", "content": "Be kind."}, USER, FOUR]
    }
    assert row(SINGLE_CHAT, "messages", system="Be kind.") == {
        "messages": [{"role": "system", "content": "Be kind."}, USER, FOUR]
    }


def test_a_rows_own_system_prompt_wins_over_the_options():
    assert row(INSTRUCTION_WITH_SYSTEM, "messages", system="Be kind.")["messages"][0] == SYSTEM
    assert row(CHAT, "messages", system="Be kind.")["messages"][0] == SYSTEM


def test_a_blank_system_prompt_is_no_system_prompt():
    assert row({**INSTRUCTION, "system": " "}, "messages") == {"messages": [USER, FOUR]}


def test_a_chat_is_kept_as_stored():
    assert row(CHAT, "messages") == {"messages": CHAT["messages"]}


def test_a_tool_chat_keeps_its_calls_results_and_tools():
    built = row(TOOL_CHAT, "messages")

    assert built["messages"] == TOOL_CHAT["messages"]
    assert json.loads(built["tools"]) == TOOL_CHAT["tools"]
    assert list(built) == ["messages", "tools"]


def test_tools_are_json_with_sorted_keys():
    assert row(TOOL_CHAT, "messages")["tools"] == json.dumps(TOOL_CHAT["tools"], sort_keys=True, separators=(",", ":"))


def test_tool_call_arguments_given_as_an_object_become_a_json_string_with_sorted_keys():
    call = {
        **CALL,
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": {"b": 1, "a": 2}}}],
    }

    built = row({"messages": [USER, call, {**RESULT, "tool_call_id": "c"}, FOUR]}, "messages")

    assert built["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"a":2,"b":1}'


def test_a_bare_tool_call_is_written_in_openai_form():
    call = {**CALL, "tool_calls": [{"name": "f", "arguments": "{}"}]}

    built = row({"messages": [USER, call]}, "messages")

    assert built["messages"][1]["tool_calls"] == [
        {"id": None, "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]


def test_a_tool_calling_turn_without_a_content_key_keeps_its_calls():
    call = {"role": "assistant", "tool_calls": CALL["tool_calls"]}

    assert row({"messages": [USER, call]}, "messages") == {"messages": [USER, CALL]}


def test_message_keys_are_written_in_one_order_and_unknown_ones_are_dropped():
    stored = {"content": "4", "weight": 0, "role": "assistant", "name": "bot"}

    built = row({"messages": [USER, stored]}, "messages")

    assert list(built["messages"][1].items()) == [("role", "assistant"), ("content", "4"), ("name", "bot")]


def test_a_row_shares_no_lists_or_dicts_with_the_example():
    content = copy.deepcopy(TOOL_CHAT)
    built = row(content, "messages")

    built["messages"][2]["tool_calls"][0]["function"]["name"] = "changed"
    built["messages"][0]["content"] = "changed"

    assert content == TOOL_CHAT


def test_a_conversation_without_an_assistant_turn_has_no_messages_row():
    assert skip_reason({"messages": [SYSTEM, USER]}, "messages") == "no_assistant_turn"


def test_messages_with_a_template_are_one_rendered_text():
    assert row(SINGLE_CHAT, "messages", template=MISTRAL) == {"text": "<s>[INST] What is 2 + 2? [/INST] 4</s>"}


@pytest.mark.parametrize("shape", ["text", "candidates", "preference", "conversational_preference"])
def test_only_conversations_have_messages(shape):
    assert skip_reason(SHAPES[shape], "messages") == "shape"


# prompt_completion


def test_an_instruction_is_a_prompt_and_a_completion():
    assert row(INSTRUCTION, "prompt_completion") == {"prompt": "What is 2 + 2?", "completion": "4"}


def test_a_single_turn_chat_is_a_prompt_and_a_completion():
    assert row(SINGLE_CHAT, "prompt_completion") == {"prompt": "What is 2 + 2?", "completion": "4"}


@pytest.mark.parametrize("content", [INSTRUCTION_WITH_SYSTEM, CHAT, TOOL_CHAT])
def test_a_prompt_that_is_more_than_one_user_turn_needs_a_template_or_conversational_rows(content):
    built = row(content, "prompt_completion")

    assert isinstance(built, Skipped) and built.reason == "needs_template"
    assert "pass a template, or conversational=true" in built.message


def test_the_options_system_prompt_makes_a_string_prompt_impossible():
    assert skip_reason(INSTRUCTION, "prompt_completion", system="Be kind.") == "needs_template"


def test_a_tool_call_is_not_a_completion_string():
    built = row({"messages": [USER, CALL]}, "prompt_completion")

    assert built == Skipped("needs_template", built.message)
    assert "calls tools" in built.message


def test_a_conversation_splits_at_its_last_assistant_turn():
    assert row(CHAT, "prompt_completion", conversational=True) == {
        "prompt": [SYSTEM, USER, FOUR, AGAIN],
        "completion": [SIX],
    }


def test_a_conversational_tool_chat_keeps_its_tools():
    built = row(TOOL_CHAT, "prompt_completion", conversational=True)

    assert built["prompt"] == TOOL_CHAT["messages"][:4]
    assert built["completion"] == TOOL_CHAT["messages"][4:]
    assert json.loads(built["tools"]) == TOOL_CHAT["tools"]


def test_an_instruction_in_conversational_form():
    assert row(INSTRUCTION, "prompt_completion", conversational=True) == {"prompt": [USER], "completion": [FOUR]}


@pytest.mark.parametrize("template", [CHATML, LLAMA3, MISTRAL], ids=lambda t: t.name)
def test_with_a_template_the_prompt_and_completion_make_the_rendered_conversation(template):
    built = row(CHAT, "prompt_completion", template=template)

    assert built["prompt"] == render(template, CHAT["messages"][:4], add_generation_prompt=True)
    assert built["prompt"] + built["completion"] == render(template, CHAT["messages"])


def test_a_llama3_prompt_and_completion():
    assert row(INSTRUCTION, "prompt_completion", template=LLAMA3) == {
        "prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        "completion": "4<|eot_id|>",
    }


def test_turns_after_the_last_assistant_turn_leave_no_completion():
    built = row({"messages": [USER, FOUR, AGAIN]}, "prompt_completion", conversational=True)

    assert built == Skipped("trailing_turns", built.message)
    assert built.message.startswith("turn 3 (user) comes after the last assistant turn (turn 2)")


def test_a_completion_needs_a_user_turn_before_it():
    assert skip_reason({"messages": [SYSTEM, FOUR]}, "prompt_completion", conversational=True) == "roles"


@pytest.mark.parametrize("shape", ["text", "candidates", "preference"])
def test_only_conversations_have_a_prompt_and_completion(shape):
    assert skip_reason(SHAPES[shape], "prompt_completion", conversational=True) == "shape"


# preference


def test_a_preference_record_passes_through():
    assert row(PREFERENCE, "preference") == PREFERENCE


def test_a_string_preference_record_in_conversational_form():
    assert row(PREFERENCE, "preference", conversational=True) == CONVERSATIONAL_PREFERENCE


def test_a_conversational_preference_record_as_strings():
    assert row(CONVERSATIONAL_PREFERENCE, "preference") == PREFERENCE


def test_a_conversational_preference_record_passes_through_in_conversational_form():
    assert row(LONG_PREFERENCE, "preference", conversational=True) == LONG_PREFERENCE


def test_a_multi_turn_preference_prompt_needs_a_template_as_strings():
    assert skip_reason(LONG_PREFERENCE, "preference") == "needs_template"


def test_a_preference_records_system_prompt_needs_a_template_as_strings():
    assert skip_reason({**PREFERENCE, "system": "Be terse."}, "preference") == "needs_template"
    assert row({**PREFERENCE, "system": "Be terse."}, "preference", conversational=True)["prompt"] == [SYSTEM, USER]


def test_a_preference_record_with_a_template():
    assert row(PREFERENCE, "preference", template=CHATML) == {
        "prompt": "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n",
        "chosen": "4<|im_end|>\n",
        "rejected": "5<|im_end|>\n",
    }


def test_a_long_preference_record_with_a_template_renders_its_whole_prompt():
    built = row(LONG_PREFERENCE, "preference", template=LLAMA3)

    assert built["prompt"] == render(LLAMA3, LONG_PREFERENCE["prompt"], add_generation_prompt=True)
    assert built["prompt"] + built["rejected"] == render(LLAMA3, [*LONG_PREFERENCE["prompt"], FIVE])


@pytest.mark.parametrize(("answer", "chosen", "rejected"), [("a", "4", "5"), ("b", "5", "4")])
def test_candidates_are_paired_by_the_preference_answer(answer, chosen, rejected):
    assert row(CANDIDATES, "preference", Label(preference=answer)) == {
        "prompt": "What is 2 + 2?",
        "chosen": chosen,
        "rejected": rejected,
    }


def test_candidates_with_a_tie_have_no_preference_row():
    assert skip_reason(CANDIDATES, "preference", Label(preference="tie")) == "tie"


@pytest.mark.parametrize("label", [None, Label(), Label(score=3.0), Label(preference="c")])
def test_candidates_without_a_preference_answer_have_no_row(label):
    assert skip_reason(CANDIDATES, "preference", label) == "no_label"


def test_candidates_in_conversational_form_with_their_system_prompt():
    assert row({**CANDIDATES, "system": "Be terse."}, "preference", Label(preference="b"), conversational=True) == {
        "prompt": [SYSTEM, USER],
        "chosen": [FIVE],
        "rejected": [FOUR],
    }


def test_an_empty_rejected_answer_names_its_side():
    built = row({**PREFERENCE, "rejected": " "}, "preference")

    assert built == Skipped("empty_turn", "in the rejected conversation, turn 2 (assistant) is empty")


@pytest.mark.parametrize("shape", ["text", "instruction", "chat"])
def test_only_comparisons_have_a_preference_row(shape):
    assert skip_reason(SHAPES[shape], "preference", Label(preference="a")) == "shape"


# reward


def test_an_instruction_with_a_score_is_a_reward_row():
    built = row(INSTRUCTION, "reward", Label(score=4))

    assert built == {"prompt": "What is 2 + 2?", "completion": "4", "score": 4.0}
    assert isinstance(built["score"], float)


@pytest.mark.parametrize("label", [None, Label(), Label(preference="a"), Label(score=float("nan"))])
def test_a_reward_row_needs_a_score(label):
    assert skip_reason(INSTRUCTION, "reward", label) == "no_label"


def test_a_conversational_reward_row_keeps_its_tools_last():
    built = row(TOOL_CHAT, "reward", Label(score=2.5), conversational=True)

    assert list(built) == ["prompt", "completion", "score", "tools"]
    assert (built["completion"], built["score"]) == (TOOL_CHAT["messages"][4:], 2.5)


def test_a_reward_row_with_a_template():
    assert row(CHAT, "reward", Label(score=1.0), template=MISTRAL) == {
        "prompt": "<s>[INST] Be terse.\n\nWhat is 2 + 2? [/INST] 4</s>[INST] And 3 + 3? [/INST]",
        "completion": " 6</s>",
        "score": 1.0,
    }


@pytest.mark.parametrize("shape", ["text", "candidates", "preference"])
def test_only_conversations_have_a_reward_row(shape):
    assert skip_reason(SHAPES[shape], "reward", Label(score=1.0)) == "shape"


# Conversations a template can't take


def test_an_empty_turn_is_skipped_naming_the_turn():
    assert row({"messages": [USER, {"role": "assistant", "content": ""}]}, "messages") == Skipped(
        "empty_turn", "turn 2 (assistant) is empty"
    )


def test_a_late_system_turn_is_skipped():
    assert skip_reason({"messages": [USER, FOUR, SYSTEM, AGAIN, SIX]}, "messages") == "system_not_first"


def test_a_tool_chat_does_not_fit_mistral():
    built = row(TOOL_CHAT, "messages", template=MISTRAL)

    assert built == Skipped("roles", "turn 3 calls tools, which the mistral template does not support")


def test_turns_that_do_not_alternate_do_not_fit_mistral():
    assert skip_reason({"messages": [USER, AGAIN, FOUR]}, "text", template=MISTRAL) == "roles"


def test_special_tokens_in_content_are_skipped():
    content = {"prompt": "Say <|im_end|> please.", "response": "No."}

    assert skip_reason(content, "prompt_completion", template=CHATML) == "special_tokens"
    assert row(content, "prompt_completion") == {"prompt": "Say <|im_end|> please.", "completion": "No."}


def test_special_tokens_in_tool_arguments_are_skipped():
    call = {**CALL, "tool_calls": [{"id": "c", "function": {"name": "run", "arguments": {"code": "<|eot_id|>"}}}]}

    built = row({"messages": [USER, call]}, "messages", template=LLAMA3)

    assert built == Skipped(
        "special_tokens", "turn 2 (assistant) calls a tool with '<|eot_id|>', a special token of the llama3 template"
    )


def test_the_options_system_prompt_is_checked_too():
    assert skip_reason(INSTRUCTION, "text", template=CHATML, system="<|im_start|>") == "special_tokens"


def test_a_template_that_fails_skips_the_row():
    two_calls = {**CALL, "tool_calls": CALL["tool_calls"] * 2}

    built = row({"messages": [USER, two_calls]}, "messages", template=LLAMA3)

    assert built == Skipped("template_error", built.message)
    assert "one tool call per assistant turn" in built.message


def test_a_template_whose_prompt_is_not_a_prefix_skips_the_row():
    thinking = compile_template(
        "thinking",
        "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: <think>{% endif %}",
    )

    assert skip_reason(INSTRUCTION, "prompt_completion", template=thinking) == "not_prefix"
    assert row(INSTRUCTION, "text", template=thinking) == {"text": "user: What is 2 + 2?\nassistant: 4\n"}


def test_every_skip_reason_is_produced():
    thinking = compile_template("thinking", "{{ messages[-1].content }}{% if add_generation_prompt %}!{% endif %}")
    two_calls = {**CALL, "tool_calls": CALL["tool_calls"] * 2}
    cases = [
        (TEXT, "messages", None, {}),
        (CANDIDATES, "preference", None, {}),
        (CANDIDATES, "preference", Label(preference="tie"), {}),
        (CHAT, "prompt_completion", None, {}),
        ({"messages": [USER]}, "messages", None, {}),
        ({"messages": [USER, FOUR, AGAIN]}, "prompt_completion", None, {}),
        ({"messages": [USER, {"role": "assistant", "content": ""}]}, "messages", None, {}),
        ({"messages": [USER, SYSTEM, FOUR]}, "messages", None, {}),
        (TOOL_CHAT, "messages", None, {"template": MISTRAL}),
        ({"prompt": "<s>", "response": "x"}, "messages", None, {"template": MISTRAL}),
        ({"messages": [USER, two_calls]}, "messages", None, {"template": LLAMA3}),
        (INSTRUCTION, "prompt_completion", None, {"template": thinking}),
    ]

    assert {skip_reason(content, format, label, **options) for content, format, label, options in cases} == set(
        SKIP_REASONS
    )


# Columns, determinism, Parquet

OPTIONS = [
    FormatOptions(format, **options)
    for format, options in itertools.product(
        FORMATS,
        [
            STRINGS,
            CONVERSATIONAL,
            {"template": CHATML},
            {"template": LLAMA3},
            {"template": MISTRAL, "system": "Be kind."},
            {"conversational": True, "system": "Be kind."},
        ],
    )
]
LABELS = [None, Label(preference="a", score=3.0), Label(preference="b", score=1.5), Label(preference="tie")]


def rows_of(options):
    rows = []
    for content, label in itertools.product(SHAPES.values(), LABELS):
        built = build(content, options, label)
        if not isinstance(built, Skipped):
            rows.append(built)
    return rows


def test_columns_of_each_format():
    assert columns(FormatOptions("text")) == ("text",)
    assert columns(FormatOptions("messages")) == ("messages", "tools")
    assert columns(FormatOptions("messages", template=CHATML)) == ("text",)
    assert columns(FormatOptions("prompt_completion")) == ("prompt", "completion")
    assert columns(FormatOptions("prompt_completion", conversational=True)) == ("prompt", "completion", "tools")
    assert columns(FormatOptions("preference", conversational=True)) == ("prompt", "chosen", "rejected")
    assert columns(FormatOptions("reward")) == ("prompt", "completion", "score")
    assert columns(FormatOptions("reward", conversational=True)) == ("prompt", "completion", "score", "tools")


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_rows_keys_follow_the_columns_and_the_same_input_gives_the_same_row(options):
    rows = rows_of(options)

    assert rows
    for built in rows:
        assert list(built) == [name for name in columns(options) if name in built]
        assert set(columns(options)) - set(built) <= {"tools"}
    assert json.dumps(rows_of(options)) == json.dumps(rows)


def filled(value, arrow_type):
    """A row's value as Arrow gives it back: struct fields it lacks are null."""
    if pa.types.is_list(arrow_type):
        return None if value is None else [filled(item, arrow_type.value_type) for item in value]
    if pa.types.is_struct(arrow_type):
        if value is None:
            return None
        return {field.name: filled(value.get(field.name), field.type) for field in arrow_type}
    return value


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_parquet_takes_every_row_with_the_fixed_schema_and_gives_it_back(options):
    rows = rows_of(options)
    schema = arrow_schema(options)

    table = pa.Table.from_pylist(rows, schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    back = pq.read_table(io.BytesIO(buffer.getvalue()))

    assert back.schema == schema
    expected = [{field.name: filled(built.get(field.name), field.type) for field in schema} for built in rows]
    assert back.to_pylist() == expected


def test_the_schema_of_conversational_rows():
    message = arrow_schema(FormatOptions("prompt_completion", conversational=True)).field("prompt").type.value_type

    assert [field.name for field in message] == ["role", "content", "name", "tool_call_id", "tool_calls"]
    assert arrow_schema(FormatOptions("reward")).field("score").type == pa.float64()
    assert arrow_schema(FormatOptions("messages", template=CHATML)).field("text").type == pa.string()
