"""A project's own chat templates: written by its managers, checked by compiling them in the sandbox, and
previewed on the project's real rows before an export uses them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from annotate.models import Example, Project
from annotate.shapes import shape_of
from curation import chat_templates, formats
from curation.export.service import compiled
from curation.models import ChatTemplate, DatasetVersion, VersionMember

if TYPE_CHECKING:
    from django.contrib.auth.models import User

NAME_MAX = 100
TOKENS_MAX = 50
PREVIEW_MAX = 20
PREVIEW_FORMATS = ("messages", "prompt_completion", "text")


class TemplateRequestError(ValueError):
    def __init__(self, field: str, message: str, *, line: int | None = None):
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.line = field, message, line


@dataclass(frozen=True)
class TemplateFields:
    name: str
    source: str
    special_tokens: tuple[str, ...]
    alternation: bool
    system: bool
    bos_token: str
    eos_token: str


def check_fields(raw: Any, *, current: ChatTemplate | None = None) -> TemplateFields:
    """The template's fields from a request body (PUT may leave fields out: they keep their values)."""
    if not isinstance(raw, dict):
        raise TemplateRequestError("body", "must be an object with name and source")
    unknown = set(raw) - {"name", "source", "special_tokens", "alternation", "system", "bos_token", "eos_token"}
    if unknown:
        raise TemplateRequestError(sorted(unknown)[0], "is not a field of a chat template")

    def given(name: str, default: Any) -> Any:
        return raw[name] if name in raw else (getattr(current, name) if current is not None else default)

    name = given("name", None)
    if not isinstance(name, str) or not name.strip():
        raise TemplateRequestError("name", "is required: a short name such as qwen2 or my-format")
    name = name.strip()
    if len(name) > NAME_MAX:
        raise TemplateRequestError("name", f"is longer than {NAME_MAX} characters")
    if name in chat_templates.BUILTIN:
        raise TemplateRequestError("name", f"{name!r} is a built-in template's name; choose another")
    source = given("source", None)
    if not isinstance(source, str) or not source.strip():
        raise TemplateRequestError("source", "is required: the Jinja text of the template")
    tokens = given("special_tokens", [])
    if not isinstance(tokens, list | tuple) or not all(isinstance(t, str) and t for t in tokens):
        raise TemplateRequestError("special_tokens", "must be a list of non-empty strings")
    if len(tokens) > TOKENS_MAX:
        raise TemplateRequestError("special_tokens", f"at most {TOKENS_MAX} tokens")
    flags = {}
    for flag, default in (("alternation", False), ("system", True)):
        value = given(flag, default)
        if not isinstance(value, bool):
            raise TemplateRequestError(flag, "must be true or false")
        flags[flag] = value
    strings = {}
    for field in ("bos_token", "eos_token"):
        value = given(field, "")
        if not isinstance(value, str) or len(value) > 100:
            raise TemplateRequestError(field, "must be a string of at most 100 characters")
        strings[field] = value
    fields = TemplateFields(name, source, tuple(tokens), flags["alternation"], flags["system"], **strings)
    try:
        chat_templates.compile_template(
            name,
            source,
            special_tokens=fields.special_tokens,
            alternation=fields.alternation,
            system=fields.system,
            bos_token=fields.bos_token,
            eos_token=fields.eos_token,
        )
    except chat_templates.TemplateProblem as exc:
        raise TemplateRequestError("source", exc.message, line=exc.line) from None
    return fields


def template_save(*, project: Project, user: User, raw: Any, template: ChatTemplate | None = None) -> ChatTemplate:
    fields = check_fields(raw, current=template)
    values = {
        "name": fields.name,
        "source": fields.source,
        "special_tokens": list(fields.special_tokens),
        "alternation": fields.alternation,
        "system": fields.system,
        "bos_token": fields.bos_token,
        "eos_token": fields.eos_token,
    }
    try:
        with transaction.atomic():
            if template is None:
                return ChatTemplate.objects.create(project=project, created_by=user, **values)
            for key, value in values.items():
                setattr(template, key, value)
            template.save()
            return template
    except IntegrityError:
        raise TemplateRequestError("name", f"the project already has a template named {fields.name!r}") from None


def preview(
    *, project: Project, raw: Any, version: DatasetVersion | None = None, limit: int = 5, fmt: str = "messages"
) -> dict[str, Any]:
    """Render the template (a built-in's name, a stored one's, or fields of one being written) on the first
    ``limit`` examples of the version (or of the project) that it applies to, with each row's problem if any."""
    if fmt not in PREVIEW_FORMATS:
        raise TemplateRequestError("format", f"must be one of {', '.join(PREVIEW_FORMATS)}")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= PREVIEW_MAX:
        raise TemplateRequestError("limit", f"must be a whole number from 1 to {PREVIEW_MAX}")
    template = _template_of(project, raw)
    options = formats.FormatOptions(format=fmt, template=template)
    rows: list[dict[str, Any]] = []
    checked = 0
    for pk, external_id, content in _examples(project, version):
        if shape_of(content) not in ("instruction", "chat"):
            continue  # the template has nothing to render here (text, candidates, preference records)
        checked += 1
        row = formats.build(content, options, None)
        if isinstance(row, formats.Skipped):
            rows.append(
                {
                    "example": pk,
                    "external_id": external_id,
                    "row": None,
                    "problem": {"reason": row.reason, "message": row.message},
                }
            )
        else:
            rows.append({"example": pk, "external_id": external_id, "row": row, "problem": None})
        if len(rows) >= limit:
            break
    return {"template": template.name, "format": fmt, "rows": rows, "problems": sum(1 for r in rows if r["problem"])}


def _template_of(project: Project, raw: Any) -> chat_templates.ChatTemplate:
    if isinstance(raw, str):
        if raw in chat_templates.BUILTIN:
            return chat_templates.BUILTIN[raw]
        stored = ChatTemplate.objects.filter(project=project, name=raw).first()
        if stored is None:
            raise TemplateRequestError("template", f"no template {raw!r} in this project")
        try:
            return compiled(stored)
        except chat_templates.TemplateProblem as exc:
            raise TemplateRequestError("template", exc.message, line=exc.line) from None
    if not isinstance(raw, dict):
        raise TemplateRequestError("template", "name a template, or give the fields of one (source, …)")
    fields = check_fields({**raw, "name": raw.get("name") or "draft"})
    return chat_templates.compile_template(
        fields.name,
        fields.source,
        special_tokens=fields.special_tokens,
        alternation=fields.alternation,
        system=fields.system,
        bos_token=fields.bos_token,
        eos_token=fields.eos_token,
    )


PREVIEW_SCAN = 500


def _examples(project: Project, version: DatasetVersion | None) -> list[tuple[int, str, dict[str, Any]]]:
    if version is not None:
        members = (
            VersionMember.objects.filter(version=version)
            .order_by("example_id")
            .values_list("example_id", "example__external_id", "content", "example__content")[:PREVIEW_SCAN]
        )
        return [(pk, ext, derived or content) for pk, ext, derived, content in members]
    rows = Example.objects.filter(project=project).order_by("pk").values_list("pk", "external_id", "content")
    return list(rows[:PREVIEW_SCAN])
