"""Chat templates: the built-ins write exactly the known formats; a user's template is checked, compiled once and
sandboxed; conversations a template can't take are named with the turn that is wrong."""

from __future__ import annotations

import json

import pytest

from curation import chat_templates
from curation.chat_templates import (
    BUILTIN,
    ChatTemplate,
    PrefixProblem,
    Problem,
    TemplateProblem,
    check_messages,
    compile_template,
    render,
    render_split,
)

CHATML, LLAMA3, MISTRAL = BUILTIN["chatml"], BUILTIN["llama3"], BUILTIN["mistral"]
SYSTEM = {"role": "system", "content": "Be brief."}
HI = {"role": "user", "content": "Hi"}
HELLO = {"role": "assistant", "content": "Hello!"}
SUM = {"role": "user", "content": "2+2?"}
FOUR = {"role": "assistant", "content": "4"}
CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    ],
}
RESULT = {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"temperature_c": 3}'}
WEATHER = [
    SYSTEM,
    {"role": "user", "content": "Weather in Oslo?"},
    CALL,
    RESULT,
    {"role": "assistant", "content": "3 °C."},
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


def template(source: str, **options) -> ChatTemplate:
    return compile_template("mine", source, **options)


# The built-ins, written out by hand


def test_it_renders_chatml_single_turn():
    assert render(CHATML, [HI, HELLO]) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"


def test_it_renders_chatml_multi_turn_with_system_and_generation_prompt():
    assert render(CHATML, [SYSTEM, HI, HELLO, SUM], add_generation_prompt=True) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\n2+2?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_it_renders_chatml_tool_calls_hermes_style_and_tool_results_as_role_tool():
    assert render(CHATML, WEATHER) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nWeather in Oslo?<|im_end|>\n"
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
        "<|im_end|>\n"
        '<|im_start|>tool\n{"temperature_c": 3}<|im_end|>\n'
        "<|im_start|>assistant\n3 °C.<|im_end|>\n"
    )


def test_it_writes_the_text_of_a_chatml_turn_before_its_tool_call():
    turn = {**CALL, "content": "Let me look."}

    assert render(CHATML, [HI, turn]) == (
        "<|im_start|>user\nHi<|im_end|>\n"
        '<|im_start|>assistant\nLet me look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n'
        "</tool_call><|im_end|>\n"
    )


def test_it_writes_tool_definitions_into_the_chatml_system_turn():
    assert render(CHATML, [SYSTEM, HI], tools=TOOLS) == (
        "<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist with the user "
        "query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        '{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}\n</tools>\n\n'
        "For each function call, return a json object with function name and arguments within "
        '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
        "<args-json-object>}\n</tool_call><|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
    )


def test_it_renders_llama3_single_turn_trimming_content():
    assert render(LLAMA3, [{"role": "user", "content": "  Hi \n"}, HELLO]) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
    )


def test_it_renders_llama3_multi_turn_with_system_and_generation_prompt():
    assert render(LLAMA3, [SYSTEM, HI, HELLO, SUM], add_generation_prompt=True) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_it_renders_llama3_tool_calls_as_json_and_tool_results_as_ipython():
    assert render(LLAMA3, WEATHER) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWeather in Oslo?<|eot_id|>"
        '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Oslo"}}'
        "<|eot_id|>"
        '<|start_header_id|>ipython<|end_header_id|>\n\n{"temperature_c": 3}<|eot_id|>'
        "<|start_header_id|>assistant<|end_header_id|>\n\n3 °C.<|eot_id|>"
    )


def test_it_writes_tool_definitions_into_the_llama3_system_turn():
    assert render(LLAMA3, [HI], tools=TOOLS) == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou have access to the following "
        "functions. To call a function, please respond with JSON for a function call. Respond in the format "
        '{"name": function name, "parameters": dictionary of argument name and its value}. Do not use variables.'
        '\n\n{\n    "type": "function",\n    "function": {\n        "name": "get_weather",\n        "parameters": '
        '{\n            "type": "object"\n        }\n    }\n}<|eot_id|>'
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
    )


def test_it_refuses_two_tool_calls_in_one_llama3_turn():
    turn = {**CALL, "tool_calls": CALL["tool_calls"] * 2}

    with pytest.raises(TemplateProblem, match="one tool call per assistant turn"):
        render(LLAMA3, [HI, turn])


def test_it_renders_mistral_single_turn():
    assert render(MISTRAL, [HI, HELLO]) == "<s>[INST] Hi [/INST] Hello!</s>"


def test_it_renders_mistral_multi_turn_with_the_system_prompt_in_the_first_user_turn():
    assert render(MISTRAL, [SYSTEM, HI, HELLO, SUM, FOUR]) == (
        "<s>[INST] Be brief.\n\nHi [/INST] Hello!</s>[INST] 2+2? [/INST] 4</s>"
    )


def test_it_renders_a_mistral_prompt_ending_with_the_instruction():
    assert (
        render(MISTRAL, [HI, HELLO, SUM], add_generation_prompt=True)
        == "<s>[INST] Hi [/INST] Hello!</s>[INST] 2+2? [/INST]"
    )


def test_the_mistral_template_itself_refuses_turns_that_do_not_alternate():
    with pytest.raises(TemplateProblem, match="must alternate"):
        render(MISTRAL, [HI, SUM])


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_compiles_as_a_users_template_would(name):
    builtin = BUILTIN[name]
    compiled = compile_template(
        name,
        builtin.source,
        special_tokens=builtin.special_tokens,
        alternation=builtin.alternation,
        bos_token=builtin.bos_token,
        eos_token=builtin.eos_token,
    )

    assert compiled == builtin


# render_split


@pytest.mark.parametrize(
    ("name", "prompt", "completion"),
    [
        ("chatml", [HI], [HELLO]),
        ("chatml", [SYSTEM, HI, HELLO, SUM], [FOUR]),
        ("chatml", WEATHER[:2], [CALL]),
        ("chatml", WEATHER[:4], WEATHER[4:]),
        ("llama3", [SYSTEM, HI, HELLO, SUM], [FOUR]),
        ("llama3", WEATHER[:2], [CALL]),
        ("llama3", WEATHER[:4], WEATHER[4:]),
        ("mistral", [SYSTEM, HI], [HELLO]),
        ("mistral", [HI, HELLO, SUM], [FOUR]),
    ],
)
def test_render_split_gives_the_generation_prompt_and_the_rest_of_the_conversation(name, prompt, completion):
    builtin = BUILTIN[name]

    prompt_text, completion_text = render_split(builtin, prompt, completion)

    assert prompt_text == render(builtin, prompt, add_generation_prompt=True)
    assert prompt_text + completion_text == render(builtin, prompt + completion)
    assert completion_text.rstrip("\n").endswith(builtin.eos_token)


def test_render_split_of_chatml_is_the_assistant_text_and_its_end_token():
    assert render_split(CHATML, [HI], [HELLO]) == (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "Hello!<|im_end|>\n",
    )


def test_render_split_refuses_a_template_whose_prompt_is_not_a_prefix():
    thinking = template(
        "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: <think>{% endif %}"
    )

    with pytest.raises(PrefixProblem, match="does not render the prompt as a prefix"):
        render_split(thinking, [HI], [HELLO])


# A user's template


def test_it_compiles_a_users_template_with_its_options():
    mine = template("{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}", special_tokens=["[x]"])

    assert render(mine, [HI, HELLO]) == "[user] Hi\n[assistant] Hello!\n"
    assert mine.special_tokens == ("[x]",)


def test_it_names_the_line_of_a_syntax_error():
    with pytest.raises(TemplateProblem) as caught:
        template("{% for m in messages %}\n{{ m.role }}\n{{ m.content }\n{% endfor %}")

    assert caught.value.line == 3
    assert caught.value.message.startswith("line 3:")


def test_it_refuses_a_template_that_never_reads_the_messages():
    with pytest.raises(TemplateProblem, match="never reads 'messages'"):
        template("<|im_start|>assistant\n")


def test_it_refuses_a_template_over_64_kib():
    with pytest.raises(TemplateProblem, match="at most 65536"):
        template("{{ messages }}" + "x" * 65536)


def test_rendering_compiles_nothing(monkeypatch):
    mine = template("{% for m in messages %}{{ m.content }}{% endfor %}")

    def compile_again(source):
        raise AssertionError("compiled again")

    monkeypatch.setattr(chat_templates._environment, "from_string", compile_again)

    assert [render(mine, [HI]) for _ in range(3)] == ["Hi"] * 3


def test_tojson_writes_text_as_hugging_face_does_without_html_escapes():
    mine = template("{{ messages[0].content | tojson }}")

    assert render(mine, [{"role": "user", "content": "<b>'é'</b>"}]) == "\"<b>'é'</b>\""


def test_templates_see_tool_call_arguments_as_objects():
    mine = template("{{ messages[1].tool_calls[0].function.arguments.city }}")

    assert render(mine, [HI, CALL]) == "Oslo"


def test_it_accepts_hugging_face_generation_blocks_and_loop_controls():
    mine = template(
        "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}"
        "{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}"
    )

    assert render(mine, [HI, HELLO]) == "Hi"


# The sandbox


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}{{ messages }}",
        "{{ messages.__class__ }}",
        "{{ messages.append(1) }}",
        "{{ raise_exception.__globals__ }}{{ messages }}",
    ],
)
def test_it_refuses_a_sandbox_escape(source):
    with pytest.raises(TemplateProblem, match="not allowed"):
        render(template(source), [HI])


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(1000000) %}{% endfor %}{{ messages }}",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}{{ messages }}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}{{ messages }}",
        "{% set s = namespace(t='xxxxxxxx') %}{% for i in range(40) %}{% set s.t = s.t ~ s.t %}{% endfor %}"
        "{{ messages }}",
        "{% set t = 'xxxxxxxxxxxxxxxx' %}" + "{% set t = t ~ t %}" * 40 + "{{ messages }}",
        "{{ 'x' * 1000000000 }}{{ messages }}",
        "{{ 2 ** 100000000 }}{{ messages }}",
        "{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}{{ messages }}",
        "{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}",
    ],
)
def test_it_stops_a_runaway_template(source):
    with pytest.raises(TemplateProblem):
        render(template(source), [HI])


def test_a_runtime_error_names_the_template_and_the_line():
    with pytest.raises(TemplateProblem) as caught:
        render(template("{% for m in messages %}\n{{ m.content + 1 }}\n{% endfor %}"), [HI])

    assert caught.value.line == 2
    assert caught.value.message.startswith("the mine template failed on line 2:")


def test_raise_exception_refuses_the_conversation_with_the_templates_message():
    with pytest.raises(TemplateProblem, match="the mine template refused the conversation: no system turns"):
        render(template("{{ raise_exception('no system turns') }}{{ messages }}"), [HI])


# check_messages


def test_a_clean_conversation_has_no_problem():
    assert check_messages(CHATML, WEATHER) is None


@pytest.mark.parametrize("content", ["", "  \n", None])
def test_it_finds_an_empty_turn(content):
    assert check_messages(None, [HI, {"role": "assistant", "content": content}]) == Problem(
        "empty_turn", "turn 2 (assistant) is empty"
    )


def test_a_turn_without_content_is_empty():
    assert check_messages(None, [{"role": "user"}, HELLO]) == Problem("empty_turn", "turn 1 (user) is empty")


def test_an_assistant_turn_that_only_calls_tools_is_not_empty():
    assert check_messages(None, WEATHER) is None


def test_an_empty_tool_result_is_empty():
    assert check_messages(None, [HI, CALL, {**RESULT, "content": ""}]) == Problem(
        "empty_turn", "turn 3 (tool) is empty"
    )


def test_it_finds_a_system_turn_after_the_first():
    assert check_messages(None, [HI, HELLO, SYSTEM, SUM]) == Problem(
        "system_not_first", "turn 3 is a system turn; a system turn may only come first"
    )


def test_an_empty_turn_is_reported_before_a_misplaced_system_turn():
    problem = check_messages(None, [HI, SYSTEM, {"role": "assistant", "content": ""}])

    assert problem is not None and problem.reason == "empty_turn"


def test_without_a_template_roles_and_special_tokens_are_not_checked():
    assert check_messages(None, [HI, SUM, {"role": "assistant", "content": "<|im_end|>"}]) is None


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([HELLO, HI], "turn 1 is an assistant turn where the mistral template needs a user turn"),
        ([SYSTEM, HI, SUM], "turn 3 is a user turn where the mistral template needs an assistant turn"),
        ([HI, CALL], "turn 2 calls tools, which the mistral template does not support"),
        ([HI, HELLO, RESULT], "turn 3 is a tool turn, which the mistral template does not support"),
    ],
)
def test_it_finds_roles_the_mistral_template_cannot_take(messages, message):
    problem = check_messages(MISTRAL, messages)

    assert problem is not None
    assert (problem.reason, problem.message.startswith(message)) == ("roles", True)


def test_it_finds_a_system_turn_a_template_does_not_support():
    no_system = template("{{ messages }}", system=False)

    assert check_messages(no_system, [SYSTEM, HI]) == Problem(
        "roles", "turn 1 is a system turn, which the mine template does not support"
    )


def test_it_finds_a_special_token_in_content():
    assert check_messages(CHATML, [HI, {"role": "assistant", "content": "Done.<|im_end|>"}]) == Problem(
        "special_tokens", "turn 2 (assistant) contains '<|im_end|>', a special token of the chatml template"
    )


def test_it_finds_a_special_token_in_tool_call_arguments():
    call = {**CALL, "tool_calls": [{"function": {"name": "run", "arguments": '{"code": "<|python_tag|>x"}'}}]}

    assert check_messages(LLAMA3, [HI, call]) == Problem(
        "special_tokens",
        "turn 2 (assistant) calls a tool with '<|python_tag|>', a special token of the llama3 template",
    )


def test_it_finds_a_special_token_in_tool_call_arguments_given_as_an_object():
    call = {**CALL, "tool_calls": [{"function": {"name": "run", "arguments": {"code": "[INST]"}}}]}
    no_alternation = ChatTemplate("loose", MISTRAL.source, MISTRAL.special_tokens)

    problem = check_messages(no_alternation, [HI, call])

    assert problem is not None and problem.reason == "special_tokens"


def test_roles_are_reported_before_special_tokens():
    problem = check_messages(MISTRAL, [{"role": "user", "content": "[INST]"}, SUM])

    assert problem is not None and problem.reason == "roles"


def test_a_special_token_problem_names_the_token_not_the_whole_arguments():
    # The message names the token, not the whole arguments, which may be long.
    call = {**CALL, "tool_calls": [{"function": {"name": "f", "arguments": json.dumps({"a": "x" * 500 + "<s>"})}}]}

    problem = check_messages(ChatTemplate("loose", "", ("<s>",)), [HI, call])

    assert problem is not None and len(problem.message) < 200
