"""Chat templates: the built-in ones (ChatML, Llama 3, Mistral), a user's own, checked and compiled once, and
rendering a conversation with one, in a sandbox.

Templates follow the Hugging Face convention: Jinja that reads ``messages``, ``add_generation_prompt``,
``bos_token``, ``eos_token`` and ``tools``, and may call ``raise_exception(message)``; ``tojson`` is Hugging
Face's (no HTML escaping, non-ASCII kept), ``{% break %}``/``{% continue %}`` and ``{% generation %}`` blocks are
accepted. There is no ``strftime_now``, so a template renders the same text on every run.

A tool call's ``function.arguments`` is a JSON string in Winnow's content (OpenAI's form); templates receive it
parsed into an object when it is valid JSON (Hugging Face's form, what ``tool_call.arguments | tojson`` expects).

A user's template is untrusted. It runs in Jinja's immutable sandbox, and a render is bounded: at most
``MAX_RANGE`` items per ``range``, ``MAX_STEPS`` calls and range items in all, no ``*``/``**``/``+``/``~`` result
longer than ``MAX_OUTPUT`` characters, and at most ``MAX_OUTPUT`` characters of output. Filters given huge widths
(``center``, ``indent``…) or ``%``-formatting can still build large strings: run exports under a time limit.

Pure Python; no Django.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.ext import Extension, loopcontrols
from jinja2.meta import find_undeclared_variables
from jinja2.parser import Parser
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from curation.chat_template_builtins import CHATML, LLAMA3, MISTRAL

MAX_SOURCE = 64 * 1024
MAX_OUTPUT = 8 * 1024 * 1024
MAX_RANGE = 10_000
MAX_STEPS = 50_000
Message = dict[str, Any]


class TemplateProblem(Exception):
    """A template that can't be used, or that failed on a conversation; ``message`` says why, ``line`` where."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class PrefixProblem(TemplateProblem):
    """The template does not render a conversation's prompt as a prefix of the whole conversation."""


@dataclass(frozen=True)
class ChatTemplate:
    name: str
    source: str
    special_tokens: tuple[str, ...] = ()
    # After an optional leading system turn, user and assistant turns alternate, starting with user; no tools.
    alternation: bool = False
    system: bool = True
    bos_token: str = ""
    eos_token: str = ""


@dataclass(frozen=True)
class Problem:
    reason: str
    message: str


class _Raised(TemplateError):
    """The template refused the conversation with raise_exception(message)."""


def _raise_exception(message: str) -> None:
    raise _Raised(str(message))


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    # Hugging Face's tojson: chat templates are not HTML, so nothing is escaped.
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class _Budget(threading.local):
    steps = MAX_STEPS


_budget = _Budget()


def _spend(steps: int) -> None:
    _budget.steps -= steps
    if _budget.steps < 0:
        raise SecurityError(f"the template does more than {MAX_STEPS} calls and loop steps on one conversation")


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() of {len(numbers)} items; templates may loop at most {MAX_RANGE} times")
    _spend(len(numbers))
    return numbers


def _check_length(length: int) -> None:
    if length > MAX_OUTPUT:
        raise SecurityError(f"the template builds a value longer than {MAX_OUTPUT} characters")


def _checked_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple):
        _check_length(len(value))
    return value


class _BoundedNamespace(Namespace):
    """namespace() whose attributes can't grow past MAX_OUTPUT (a loop that doubles a string each time)."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _checked_size(value))


class _CodeGenerator(CodeGenerator):
    """Checks the size of every ``~`` concatenation, which no sandbox hook sees."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_size(")
        super().visit_Concat(node, frame)
        self.write(")")


class _Generation(Extension):
    """Hugging Face's ``{% generation %}…{% endgeneration %}`` marks assistant text; here it renders its body."""

    tags = {"generation"}

    def parse(self, parser: Parser) -> list[nodes.Node]:
        next(parser.stream)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


class _Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+"})
    checked_size = staticmethod(_checked_size)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend(1)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    _check_length(len(sequence) * times)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right * math.log2(abs(left)) > 4096:
                raise SecurityError("the template computes a number over 4096 bits long")
        elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            _check_length(len(left) + len(right))
        return super().call_binop(context, operator, left, right)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # The sandbox's default lets an unsafe attribute print as an empty string; refuse it outright instead.
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed")


_environment = _Sandbox(trim_blocks=True, lstrip_blocks=True, autoescape=False, extensions=[loopcontrols, _Generation])
_environment.globals.update(raise_exception=_raise_exception, range=_bounded_range, namespace=_BoundedNamespace)
_environment.filters["tojson"] = _tojson


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """The compiled template of a source: rendering runs once per row, compiling once per source."""
    try:
        return _environment.from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"line {error.lineno}: {error.message}", line=error.lineno) from None


def compile_template(
    name: str,
    source: str,
    *,
    special_tokens: Sequence[str] = (),
    alternation: bool = False,
    system: bool = True,
    bos_token: str = "",
    eos_token: str = "",
) -> ChatTemplate:
    """Check a user's template and compile it; raise TemplateProblem with what to fix."""
    if len(source.encode()) > MAX_SOURCE:
        raise TemplateProblem(f"the template is {len(source.encode())} bytes long; at most {MAX_SOURCE} are allowed")
    try:
        tree = _environment.parse(source)
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"line {error.lineno}: {error.message}", line=error.lineno) from None
    if "messages" not in find_undeclared_variables(tree):
        raise TemplateProblem("the template never reads 'messages', so it would render every conversation the same")
    _compiled(source)
    tokens = tuple(token for token in special_tokens if token)
    return ChatTemplate(name, source, tokens, alternation, system, bos_token, eos_token)


BUILTIN: dict[str, ChatTemplate] = {
    "chatml": ChatTemplate("chatml", CHATML, ("<|im_start|>", "<|im_end|>"), eos_token="<|im_end|>"),
    "llama3": ChatTemplate(
        "llama3",
        LLAMA3,
        ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>"),
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
    ),
    "mistral": ChatTemplate(
        "mistral", MISTRAL, ("<s>", "</s>", "[INST]", "[/INST]"), alternation=True, bos_token="<s>", eos_token="</s>"
    ),
}


def _is_empty(message: Message) -> bool:
    content = message.get("content")
    if isinstance(content, str) and content and not content.isspace():
        return False
    return not (message.get("role") == "assistant" and message.get("tool_calls"))


def _arguments_text(call: Any) -> Iterable[str]:
    function = call.get("function", call) if isinstance(call, dict) else None
    if not isinstance(function, dict):
        return ()
    arguments = function.get("arguments")
    if arguments is None or isinstance(arguments, str):
        texts = (function.get("name"), arguments)
    else:
        texts = (function.get("name"), json.dumps(arguments, ensure_ascii=False))
    return [text for text in texts if isinstance(text, str)]


def _a(word: Any) -> str:
    return "an assistant" if word == "assistant" else f"a {word}"


def _roles_problem(template: ChatTemplate, messages: list[Message]) -> Problem | None:
    start = 1 if messages and messages[0].get("role") == "system" else 0
    if start and not template.system:
        return Problem("roles", f"turn 1 is a system turn, which the {template.name} template does not support")
    if not template.alternation:
        return None
    for index in range(start, len(messages)):
        message, turn = messages[index], index + 1
        role = message.get("role")
        expected = "user" if (index - start) % 2 == 0 else "assistant"
        if role == "tool":
            return Problem("roles", f"turn {turn} is a tool turn, which the {template.name} template does not support")
        if message.get("tool_calls"):
            return Problem("roles", f"turn {turn} calls tools, which the {template.name} template does not support")
        if role != expected:
            return Problem(
                "roles",
                f"turn {turn} is {_a(role)} turn where the {template.name} template needs {_a(expected)} turn (user "
                "and assistant turns must alternate, starting with user)",
            )
    return None


def _special_token_problem(template: ChatTemplate, messages: list[Message]) -> Problem | None:
    tokens = template.special_tokens
    for turn, message in enumerate(messages, 1):
        content = message.get("content")
        if isinstance(content, str):
            for token in tokens:
                if token in content:
                    return Problem(
                        "special_tokens",
                        f"turn {turn} ({message.get('role')}) contains {token!r}, a special token of the "
                        f"{template.name} template",
                    )
        for call in message.get("tool_calls") or ():
            for text in _arguments_text(call):
                for token in tokens:
                    if token in text:
                        return Problem(
                            "special_tokens",
                            f"turn {turn} ({message.get('role')}) calls a tool with {token!r}, a special token of "
                            f"the {template.name} template",
                        )
    return None


def check_messages(template: ChatTemplate | None, messages: list[Message]) -> Problem | None:
    """The first problem that keeps a conversation from being exported (with this template), or None.

    In this order: an empty turn (an assistant turn that only calls tools is not empty), a system turn after the
    first, and with a template: roles the template can't render, and the template's special tokens in any text.
    """
    misplaced_system = None
    for index, message in enumerate(messages):
        if _is_empty(message):
            return Problem("empty_turn", f"turn {index + 1} ({message.get('role')}) is empty")
        if index and misplaced_system is None and message.get("role") == "system":
            misplaced_system = Problem(
                "system_not_first", f"turn {index + 1} is a system turn; a system turn may only come first"
            )
    if misplaced_system is not None:
        return misplaced_system
    if template is None:
        return None
    return _roles_problem(template, messages) or _special_token_problem(template, messages)


def _for_template(messages: list[Message]) -> list[Message]:
    """Messages as templates expect them: tool call arguments parsed into objects (see the module's docstring)."""
    if not any(message.get("tool_calls") for message in messages):
        return messages
    out = []
    for message in messages:
        if message.get("tool_calls"):
            message = {**message, "tool_calls": [_call_for_template(call) for call in message["tool_calls"]]}
        out.append(message)
    return out


def _call_for_template(call: Any) -> Any:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return call
    try:
        arguments = json.loads(function["arguments"])
    except ValueError:
        return call
    return {**call, "function": {**function, "arguments": arguments}}


def _line_of(error: BaseException) -> int | None:
    line, traceback = None, error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def render(
    template: ChatTemplate,
    messages: list[Message],
    *,
    add_generation_prompt: bool = False,
    tools: list[dict[str, Any]] | None = None,
) -> str:
    """The conversation as the template writes it; TemplateProblem if the template fails or runs away."""
    compiled = _compiled(template.source)
    context = {
        "messages": _for_template(messages),
        "add_generation_prompt": add_generation_prompt,
        "bos_token": template.bos_token,
        "eos_token": template.eos_token,
        "tools": tools,
    }
    _budget.steps = MAX_STEPS
    parts, length = [], 0
    try:
        for part in compiled.generate(context):
            length += len(part)
            if length > MAX_OUTPUT:
                raise SecurityError(f"the template writes more than {MAX_OUTPUT} characters for one conversation")
            parts.append(part)
    except _Raised as error:
        raise TemplateProblem(
            f"the {template.name} template refused the conversation: {error}", _line_of(error)
        ) from None
    except Exception as error:
        # A user's template may fail in any way at all; the row is skipped, the export goes on.
        line = _line_of(error)
        where = f" on line {line}" if line else ""
        kind = "refused" if isinstance(error, SecurityError) else "failed"
        raise TemplateProblem(f"the {template.name} template {kind}{where}: {error}", line) from None
    return "".join(parts)


def render_split(
    template: ChatTemplate,
    prompt_messages: list[Message],
    completion_messages: list[Message],
    *,
    tools: list[dict[str, Any]] | None = None,
) -> tuple[str, str]:
    """The prompt (with the generation prompt) and the completion that follows it in the whole conversation."""
    prompt = render(template, prompt_messages, add_generation_prompt=True, tools=tools)
    full = render(template, [*prompt_messages, *completion_messages], tools=tools)
    if not full.startswith(prompt):
        raise PrefixProblem(
            f"the {template.name} template does not render the prompt as a prefix of the conversation, so the "
            "completion can't be split from it"
        )
    return prompt, full[len(prompt) :]
