"""canonicalize: every accepted shape and alias becomes canonical content; every bad record names what to fix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.importing.records import RecordError, canonicalize, canonicalize_any

USER_Q = {"role": "user", "content": "What is 2 + 2?"}
ASSISTANT_4 = {"role": "assistant", "content": "4"}
ASSISTANT_5 = {"role": "assistant", "content": "5"}


def test_it_keeps_a_text_record():
    record = canonicalize({"text": "Once upon a time."})

    assert (record.shape, record.content) == ("text", {"text": "Once upon a time."})


def test_it_keeps_an_instruction_record_without_a_system_prompt():
    record = canonicalize({"prompt": "Add 2 and 2.", "response": "4"})

    assert (record.shape, record.content) == ("instruction", {"prompt": "Add 2 and 2.", "response": "4"})


def test_it_keeps_the_system_prompt_of_an_instruction_record():
    record = canonicalize({"system": "Be terse.", "prompt": "Add 2 and 2.", "response": "4"})

    assert record.content == {"system": "Be terse.", "prompt": "Add 2 and 2.", "response": "4"}


def test_it_joins_alpaca_instruction_and_input_with_a_blank_line():
    record = canonicalize({"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour"})

    assert (record.shape, record.content) == (
        "instruction",
        {"prompt": "Translate to French.\n\nGood morning", "response": "Bonjour"},
    )


def test_it_uses_the_alpaca_instruction_alone_when_the_input_is_empty():
    record = canonicalize({"instruction": "Name a colour.", "input": "", "output": "Blue"})

    assert record.content == {"prompt": "Name a colour.", "response": "Blue"}


def test_it_converts_alpaca_without_an_input_key():
    record = canonicalize({"instruction": "Name a colour.", "output": "Blue"})

    assert record.content == {"prompt": "Name a colour.", "response": "Blue"}


def test_it_joins_dolly_instruction_and_context():
    record = canonicalize(
        {"instruction": "Who wrote it?", "context": "Hamlet is a play by Shakespeare.", "response": "Shakespeare"}
    )

    assert record.content == {
        "prompt": "Who wrote it?\n\nHamlet is a play by Shakespeare.",
        "response": "Shakespeare",
    }


def test_it_reads_prompt_and_completion_as_an_instruction_record():
    record = canonicalize({"prompt": "The sky is", "completion": " blue."})

    assert (record.shape, record.content) == ("instruction", {"prompt": "The sky is", "response": " blue."})


def test_it_keeps_chat_messages():
    messages = [{"role": "system", "content": "Be terse."}, USER_Q, ASSISTANT_4]

    record = canonicalize({"messages": messages})

    assert (record.shape, record.content) == ("chat", {"messages": messages})


def test_it_keeps_a_tool_calling_assistant_message_with_null_content():
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}}
    messages = [
        USER_Q,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "content": "4", "tool_call_id": "call_1"},
        ASSISTANT_4,
    ]
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]

    record = canonicalize({"messages": messages, "tools": tools})

    assert record.content == {"messages": messages, "tools": tools}


def test_it_leaves_out_null_fields_of_a_message():
    # Parquet fills every field of a message struct, so a plain user turn arrives with "tool_calls": null.
    record = canonicalize({"messages": [{"role": "user", "content": "Hi", "tool_calls": None, "name": None}]})

    assert record.content == {"messages": [{"role": "user", "content": "Hi"}]}


def test_it_puts_a_system_key_first_in_a_chat():
    record = canonicalize({"system": "Be terse.", "messages": [USER_Q, ASSISTANT_4]})

    assert record.content == {"messages": [{"role": "system", "content": "Be terse."}, USER_Q, ASSISTANT_4]}


def test_it_converts_sharegpt_conversations_to_messages():
    conversations = [
        {"from": "system", "value": "Be terse."},
        {"from": "human", "value": "What is 2 + 2?"},
        {"from": "gpt", "value": "4"},
    ]

    record = canonicalize({"conversations": conversations})

    assert (record.shape, record.content) == (
        "chat",
        {"messages": [{"role": "system", "content": "Be terse."}, USER_Q, ASSISTANT_4]},
    )


def test_it_joins_trl_conversational_prompt_and_completion_into_one_chat():
    record = canonicalize({"prompt": [USER_Q], "completion": [ASSISTANT_4]})

    assert (record.shape, record.content) == ("chat", {"messages": [USER_Q, ASSISTANT_4]})


def test_it_keeps_candidates():
    record = canonicalize({"prompt": "Add 2 and 2.", "responses": ["4", "5", "four"]})

    assert (record.shape, record.content) == ("candidates", {"prompt": "Add 2 and 2.", "responses": ["4", "5", "four"]})


def test_it_keeps_a_preference_record_of_strings():
    record = canonicalize({"prompt": "Add 2 and 2.", "chosen": "4", "rejected": "5"})

    assert (record.shape, record.content) == ("preference", {"prompt": "Add 2 and 2.", "chosen": "4", "rejected": "5"})


def test_it_keeps_a_trl_conversational_preference_with_an_explicit_prompt():
    record = canonicalize({"prompt": [USER_Q], "chosen": [ASSISTANT_4], "rejected": [ASSISTANT_5]})

    assert (record.shape, record.content) == (
        "preference",
        {"prompt": [USER_Q], "chosen": [ASSISTANT_4], "rejected": [ASSISTANT_5]},
    )


def test_it_makes_a_string_prompt_of_a_conversational_preference_a_user_turn():
    record = canonicalize({"prompt": "What is 2 + 2?", "chosen": [ASSISTANT_4], "rejected": [ASSISTANT_5]})

    assert record.content == {"prompt": [USER_Q], "chosen": [ASSISTANT_4], "rejected": [ASSISTANT_5]}


def test_it_takes_the_shared_turns_of_an_implicit_prompt_preference_as_the_prompt():
    system = {"role": "system", "content": "Be terse."}
    follow_up = {"role": "user", "content": "Sure?"}
    chosen = [system, USER_Q, ASSISTANT_4, follow_up, {"role": "assistant", "content": "Yes."}]
    rejected = [system, USER_Q, ASSISTANT_4, follow_up, {"role": "assistant", "content": "No, 5."}]

    record = canonicalize({"chosen": chosen, "rejected": rejected})

    assert (record.shape, record.content) == (
        "preference",
        {"prompt": chosen[:4], "chosen": chosen[4:], "rejected": rejected[4:]},
    )


def test_it_turns_an_integer_id_into_a_string():
    assert canonicalize({"id": 42, "text": "t"}).external_id == "42"


def test_it_keeps_a_string_id():
    assert canonicalize({"id": "doc-7", "text": "t"}).external_id == "doc-7"


def test_it_leaves_the_id_out_of_content_and_metadata():
    record = canonicalize({"id": "doc-7", "text": "t"})

    assert (record.content, record.metadata) == ({"text": "t"}, {})


def test_it_keeps_the_metadata_object():
    record = canonicalize({"text": "t", "metadata": {"source": "wiki", "license": "cc-by"}})

    assert record.metadata == {"source": "wiki", "license": "cc-by"}


def test_it_moves_extra_keys_into_metadata():
    record = canonicalize({"prompt": "p", "response": "r", "source": "wiki", "score": 0.9, "metadata": {"lang": "en"}})

    assert (record.content, record.metadata, record.extra_keys) == (
        {"prompt": "p", "response": "r"},
        {"lang": "en", "source": "wiki", "score": 0.9},
        ("score", "source"),
    )


def test_it_moves_a_rendered_text_column_beside_an_instruction_into_metadata():
    record = canonicalize({"instruction": "i", "output": "o", "text": "### Instruction: i ### Response: o"})

    assert (record.shape, record.metadata) == ("instruction", {"text": "### Instruction: i ### Response: o"})


def test_it_treats_null_values_as_not_given():
    record = canonicalize({"id": None, "prompt": "p", "response": "r", "system": None, "input": None})

    assert (record.external_id, record.content) == (None, {"prompt": "p", "response": "r"})


def test_it_rejects_a_key_that_is_both_top_level_and_in_metadata():
    with pytest.raises(RecordError, match="'source' is both a top-level key and a metadata key"):
        canonicalize({"text": "t", "source": "wiki", "metadata": {"source": "web"}})


@pytest.mark.parametrize(
    ("record", "named"),
    [
        pytest.param({"text": 5}, "'text' must be a string, not a number", id="text"),
        pytest.param({"prompt": 1, "response": "r"}, "'prompt' must be a string", id="prompt"),
        pytest.param({"prompt": "p", "response": ["r"]}, "'response' must be a string, not a list", id="response"),
        pytest.param({"instruction": "i", "output": {"o": 1}}, "'output' must be a string, not an object", id="output"),
        pytest.param({"instruction": "i", "input": 3, "output": "o"}, "'input' must be a string", id="input"),
        pytest.param(
            {"instruction": "i", "context": True, "response": "r"}, "'context' must be a string", id="context"
        ),
        pytest.param({"prompt": "p", "completion": [ASSISTANT_4]}, "'completion' must be a string", id="completion"),
        pytest.param({"system": 1, "prompt": "p", "response": "r"}, "'system' must be a string", id="system"),
        pytest.param({"messages": "hi"}, "'messages' must be a non-empty list", id="messages-not-list"),
        pytest.param({"messages": []}, "'messages' must be a non-empty list", id="messages-empty"),
        pytest.param({"messages": ["hi"]}, "messages[0] must be an object", id="message-not-object"),
        pytest.param({"messages": [{"role": "bot", "content": "x"}]}, "messages[0]: 'role' must be one of", id="role"),
        pytest.param(
            {"messages": [{"role": "user", "content": 7}]}, "messages[0]: 'content' must be a string", id="content"
        ),
        pytest.param(
            {"messages": [USER_Q, {"role": "assistant", "content": None}]},
            "messages[1]: 'content' must be a string, not null",
            id="null-content-without-tool-calls",
        ),
        pytest.param({"messages": [USER_Q], "tools": "add"}, "'tools' must be a list", id="tools"),
        pytest.param(
            {"conversations": [{"from": "alien", "value": "x"}]},
            "conversations[0]: unknown speaker 'alien'",
            id="sharegpt-speaker",
        ),
        pytest.param({"prompt": "p", "responses": "r"}, "'responses' must be a list", id="responses-not-list"),
        pytest.param(
            {"prompt": "p", "responses": ["r"]}, "'responses' must be a list of at least 2", id="one-response"
        ),
        pytest.param({"prompt": "p", "responses": ["a", 2]}, "responses[1] must be a string", id="responses-item"),
        pytest.param({"prompt": "p", "chosen": 1, "rejected": "b"}, "'chosen' must be a string", id="chosen"),
        pytest.param({"prompt": "p", "chosen": "a", "rejected": None}, "'rejected' is missing", id="rejected-null"),
        pytest.param({"prompt": "p", "chosen": "a", "rejected": 2}, "'rejected' must be a string", id="rejected"),
        pytest.param({"id": True, "text": "t"}, "'id' must be a string, not true/false", id="id-bool"),
        pytest.param({"id": 1.5, "text": "t"}, "'id' must be a string, not a number", id="id-float"),
        pytest.param({"id": " ", "text": "t"}, "'id' is empty", id="id-blank"),
        pytest.param({"id": "x" * 256, "text": "t"}, "'id' is 256 characters long", id="id-too-long"),
        pytest.param({"text": "t", "metadata": ["wiki"]}, "'metadata' must be an object, not a list", id="metadata"),
    ],
)
def test_it_names_the_key_that_has_the_wrong_type(record, named):
    with pytest.raises(RecordError) as caught:
        canonicalize(record)

    assert named in str(caught.value)


@pytest.mark.parametrize("raw", [["text"], "text", 3, None], ids=["list", "string", "number", "null"])
def test_it_rejects_a_record_that_is_not_an_object(raw):
    with pytest.raises(RecordError, match="a record must be a JSON object"):
        canonicalize(raw)


def test_it_rejects_an_unknown_shape_naming_its_keys():
    with pytest.raises(RecordError) as caught:
        canonicalize({"question": "q", "answer": "a"})

    assert "unknown record shape (keys: answer, question)" in str(caught.value)


@pytest.mark.parametrize(
    ("record", "named"),
    [
        pytest.param(
            {"prompt": "p", "response": "r", "responses": ["a", "b"]}, "the candidates and instruction", id="cand+instr"
        ),
        pytest.param(
            {"messages": [USER_Q], "chosen": "a", "rejected": "b"}, "the chat and preference", id="chat+preference"
        ),
        pytest.param({"messages": [USER_Q], "conversations": [USER_Q]}, "'messages' and 'conversations'", id="chats"),
        pytest.param({"prompt": "p", "instruction": "i", "response": "r"}, "'prompt' and 'instruction'", id="prompts"),
        pytest.param(
            {"prompt": "p", "response": "r", "completion": "c"}, "'response' and 'completion'", id="responses"
        ),
        pytest.param(
            {"instruction": "i", "input": "a", "context": "b", "output": "o"}, "'input' and 'context'", id="in"
        ),
        pytest.param(
            {"system": "s", "messages": [{"role": "system", "content": "t"}, USER_Q]},
            "the system prompt is given twice",
            id="system-twice",
        ),
    ],
)
def test_it_rejects_an_ambiguous_record_naming_the_clashing_keys(record, named):
    with pytest.raises(RecordError) as caught:
        canonicalize(record)

    assert named in str(caught.value)


@pytest.mark.parametrize(
    ("record", "named"),
    [
        pytest.param({"prompt": "p"}, "add 'response'", id="response"),
        pytest.param({"response": "r"}, "a 'prompt' (or Alpaca 'instruction') is missing", id="prompt"),
        pytest.param({"output": "o"}, "a 'prompt' (or Alpaca 'instruction') is missing", id="instruction"),
        pytest.param({"responses": ["a", "b"]}, "a 'prompt' (or Alpaca 'instruction') is missing", id="cand-prompt"),
        pytest.param({"prompt": "p", "chosen": "a"}, "'rejected' is missing", id="rejected"),
        pytest.param({"prompt": "p", "rejected": "b"}, "'chosen' is missing", id="chosen"),
        pytest.param({"chosen": "a", "rejected": "b"}, "needs a 'prompt'", id="preference-prompt"),
        pytest.param({"chosen": [ASSISTANT_4], "rejected": [ASSISTANT_5]}, "add a 'prompt'", id="no-shared-turns"),
    ],
)
def test_it_names_the_missing_key(record, named):
    with pytest.raises(RecordError) as caught:
        canonicalize(record)

    assert named in str(caught.value)


# The shortcut for plain instruction records (records._plain_instruction) must agree with the general path on
# every record: the same canonical record, or the same refusal. Values are drawn near its edges.
SHORTCUT_KEYS = ["id", "prompt", "response", "system", "metadata", "instruction", "input", "output", "text", "extra"]
SHORTCUT_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\t\n", "Add 2 and 2.", "x" * 255, "x" * 256, "\x00", "é"]),
    st.text(max_size=8),
    st.integers(min_value=-3, max_value=3),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.sampled_from(["source", "extra", "prompt"]), st.text(max_size=3), max_size=2),
)


def outcome(canonicalize_one, raw):
    try:
        return canonicalize_one(raw)
    except RecordError as exc:
        return f"refused: {exc}"


@given(st.dictionaries(st.sampled_from(SHORTCUT_KEYS), SHORTCUT_VALUES, max_size=6))
@settings(max_examples=600, deadline=None)
def test_the_plain_instruction_shortcut_agrees_with_the_general_path(raw):
    assert outcome(canonicalize, dict(raw)) == outcome(canonicalize_any, dict(raw))


@pytest.mark.parametrize(
    "raw",
    [
        {"prompt": "p", "response": "r"},
        {"id": "a-1", "prompt": "p", "response": "r", "system": "s", "metadata": {"source": "x"}},
        {"id": 7, "prompt": "p", "response": "r"},
        {"id": True, "prompt": "p", "response": "r"},
        {"id": " ", "prompt": "p", "response": "r"},
        {"id": "x" * 256, "prompt": "p", "response": "r"},
        {"prompt": "p", "response": "r", "system": None},
        {"prompt": "p", "response": "r", "metadata": None},
        {"prompt": "p", "response": "r", "metadata": []},
        {"prompt": "p", "response": None},
        {"prompt": ["p"], "response": "r"},
        {"prompt": "p", "response": "r", "extra": 1},
    ],
)
def test_the_shortcut_and_the_general_path_agree_at_its_edges(raw):
    assert outcome(canonicalize, dict(raw)) == outcome(canonicalize_any, dict(raw))
