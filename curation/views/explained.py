"""The rows the version pages show, each removal or change explained: a duplicate beside the example it
duplicates with the words that differ, an example beside the evaluation example it overlaps with the shared
passage marked, a filter's measurements in words, content before and after cleaning.

Only the examples of the page are read (a few queries a page, whatever the version's size); contents are those
the step read (``curation.pipeline.compared``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annotate.access import may_browse_examples, role_in
from annotate.models import Example
from annotate.shapes import shape_of
from curation.explain.content import text_parts
from curation.explain.diff import Diff, Piece, marked, word_diff
from curation.explain.removals import DUPLICATE_RULES, detail_facts, rule_label
from curation.explain.steps import step_name
from curation.models import DatasetVersion, Removal, VersionMember
from curation.pipeline.compared import contents_before_step, contents_in
from curation.steps.dedup import compared_text
from curation.steps.records import text_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


@dataclass(frozen=True)
class Shown:
    """An example as a page shows it: with the content of the moment (a version's, or as a step read it). The
    example templates (``annotate/_example_<shape>.html``) read ``content``."""

    pk: int
    external_id: str
    content: dict[str, Any]
    cleaned: bool = False

    @property
    def shape(self) -> str:
        return shape_of(self.content)

    @classmethod
    def of_member(cls, member: VersionMember) -> Shown:
        """A version's kept example, with the content the version kept (its ``example`` selected with it)."""
        content = member.content if member.content is not None else member.example.content
        return cls(member.example_id, member.example.external_id, content, cleaned=member.content is not None)


@dataclass
class RemovalRow:
    removal: Removal
    example: Shown  # as the step read it
    rule: str
    step: str  # "step 2 · dedup exact"
    facts: list[tuple[str, str]]
    kind: str = "other"  # duplicate, decontaminate or other
    other: Shown | None = None  # the example it duplicates, or the evaluation example
    other_hidden: bool = False  # the evaluation example is in a project the user may not browse
    diff: Diff | None = None
    similarity: str = ""  # how alike a duplicate is, in words
    marked: list[Piece] = field(default_factory=list)  # the removed text, the shared n-gram marked
    marked_other: list[Piece] = field(default_factory=list)
    fields: str = "all text"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def removal_rows(version: DatasetVersion, removals: list[Removal], user: User | AnonymousUser) -> list[RemovalRow]:
    """Each removal of the page, explained."""
    wanted: dict[int, set[int]] = defaultdict(set)  # by step: the examples to read as the step read them
    evals: dict[int, set[int]] = defaultdict(set)  # by eval version: the evaluation examples named
    for removal in removals:
        wanted[removal.step].add(removal.example_id)
        if removal.rule in DUPLICATE_RULES:
            wanted[removal.step] |= {i for i in (_int(removal.detail.get(k)) for k in ("duplicate_of", "via")) if i}
        elif removal.rule == "decontaminate":
            against, eval_id = _against(version, removal.step), _int(removal.detail.get("eval_example"))
            if against and eval_id:
                evals[against].add(eval_id)
    contents = {step: contents_before_step(version, step, ids) for step, ids in wanted.items()}
    visible = _browsable(evals, user)
    eval_contents = {against: contents_in(against, ids) for against, ids in evals.items() if against in visible}
    named = set().union(*wanted.values(), *(ids for against, ids in evals.items() if against in visible))
    names = dict(Example.objects.filter(pk__in=named).values_list("pk", "external_id"))
    return [_row(version, removal, contents[removal.step], names, eval_contents) for removal in removals]


def _against(version: DatasetVersion, step: int) -> int | None:
    options = version.steps[step] if 0 <= step < len(version.steps) else {}
    return _int(options.get("against")) if isinstance(options, dict) else None


def _browsable(evals: dict[int, set[int]], user: User | AnonymousUser) -> set[int]:
    """The eval versions whose examples the user may read (an eval set may be another project's)."""
    projects = dict(DatasetVersion.objects.filter(pk__in=evals).values_list("pk", "project_id"))
    return {pk for pk, project_id in projects.items() if may_browse_examples(role_in(user, project_id))}


def _row(
    version: DatasetVersion,
    removal: Removal,
    contents: dict[int, dict[str, Any]],
    names: dict[int, str],
    eval_contents: dict[int, dict[int, dict[str, Any]]],
) -> RemovalRow:
    options = version.steps[removal.step] if 0 <= removal.step < len(version.steps) else {}
    pk = removal.example_id
    example = Shown(pk, names.get(pk, str(pk)), contents.get(pk, {}))
    fields = ", ".join(options.get("fields") or []) or "all text"
    row = RemovalRow(
        removal=removal,
        example=example,
        rule=rule_label(removal.rule),
        step=f"step {removal.step + 1} · {step_name(options)}",
        facts=detail_facts(removal.rule, removal.detail, names),
        fields=fields,
    )
    detail = removal.detail
    if removal.rule in DUPLICATE_RULES and (other := _int(detail.get("duplicate_of"))) in contents:
        assert other is not None
        row.kind = "duplicate"
        row.other = Shown(other, names.get(other, str(other)), contents[other])
        row.similarity = _similarity(removal.rule, detail, options)
        row.facts = [fact for fact in row.facts if fact[0] not in ("Duplicate of", "Similarity")]
        row.diff = word_diff(
            compared_text(example.content, options),
            compared_text(row.other.content, options),
            labels=("the removed example", row.other.external_id),
        )
    elif removal.rule == "decontaminate":
        row.kind = "decontaminate"
        ngram = str(detail.get("ngram", ""))
        fields_option = options.get("fields")
        row.marked = marked(text_of(example.content, fields_option), ngram)
        against = _against(version, removal.step)
        eval_id = _int(detail.get("eval_example"))
        if against is not None and against in eval_contents and eval_id in eval_contents[against]:
            assert eval_id is not None
            row.other = Shown(eval_id, names.get(eval_id, str(eval_id)), eval_contents[against][eval_id])
            row.marked_other = marked(text_of(row.other.content, fields_option), ngram)
        else:
            row.other_hidden = True
    return row


def _similarity(rule: str, detail: dict[str, Any], options: dict[str, Any]) -> str:
    if rule == "dedup.exact":
        return "Identical once case and spacing are normalised"
    measure = "Jaccard similarity" if rule == "dedup.minhash" else "Cosine similarity"
    value = detail.get("similarity")
    shown = f"{value:.3g}" if isinstance(value, float | int) else "?"
    threshold = options.get("threshold")
    return f"{measure} {shown}" + (f" (threshold {threshold})" if threshold is not None else "")


@dataclass
class ChangedPart:
    label: str
    diff: Diff


@dataclass
class CleanedRow:
    example: Shown  # as the version keeps it
    parts: list[ChangedPart]
    unchanged: int  # pieces of text the steps left as they were


def cleaned_rows(members: Iterable[VersionMember]) -> list[CleanedRow]:
    """Each member whose content a step changed, piece by piece against the example as imported (members with
    ``example`` selected)."""
    rows = []
    for member in members:
        assert member.content is not None
        before = dict(text_parts(member.example.content))
        after = text_parts(member.content)
        parts = []
        for label, text in after:
            original = before.get(label, "")
            if original != text:
                diff = word_diff(original, text, whitespace=True, labels=("the original", "the cleaned text"))
                parts.append(ChangedPart(label, diff))
        shown = Shown(member.example_id, member.example.external_id, member.content, cleaned=True)
        rows.append(CleanedRow(shown, parts, unchanged=len(after) - len(parts)))
    return rows
