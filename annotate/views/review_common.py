"""What the reviewers' pages share: how answers are shown, and the queue's filters and position as they travel in
page addresses (``?question=…&annotator=…&key=…&value=…&show=…``, the examples browser's ``q``, ``shape``,
``status`` and ``answer`` (to the queue's question), ``min`` (the least disagreement), and ``after``/``before``
for the keyset)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django import forms
from django.core.cache import cache
from django.urls import reverse

from annotate import metadata, review_queue, search
from annotate.models import Example, Membership, Project, Question
from annotate.services.summaries import reviewable_questions
from annotate.shapes import SHAPES
from annotate.templatetags.winnow import letter

if TYPE_CHECKING:
    from django.http import QueryDict

CASES_PER_PAGE = 50
# Metadata keys offered as filters come from a sample of examples: reading every example's metadata on each page
# view would scan the whole project.
METADATA_SAMPLE = 250
PREFERENCE_SHOWN = {"a": "A", "b": "B", "tie": "tie"}


# Showing answers ---------------------------------------------------------------------------------------------


def shown(question: Question, value: Any) -> str:
    """An answer as a reviewer reads it: labels as they are, preferences and rankings by response letter."""
    if value is None:
        return "—"
    if question.kind == "multi_label" and isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    if question.kind == "preference":
        return PREFERENCE_SHOWN.get(value, str(value))
    if question.kind == "ranking" and isinstance(value, list) and all(isinstance(i, int) for i in value):
        return " > ".join(letter(i + 1) for i in value)
    return str(value)


def preview(content: Any, limit: int = 160) -> str:
    """One line to recognise an example by in a list: its prompt, its text or its first user turn."""
    first: Any = None
    if isinstance(content, dict):
        first = next((content[key] for key in ("prompt", "text", "messages") if key in content), None)
    if isinstance(first, list):
        turns = [turn for turn in first if isinstance(turn, dict)]
        user = [turn for turn in turns if turn.get("role") == "user" and turn.get("content")]
        first = (user or turns or [{}])[0].get("content")
    # Only as much of a long text as the line shows is looked at.
    line = " ".join(str(first or "")[: limit * 4].split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _same(value: Any) -> Hashable:
    return tuple(value) if isinstance(value, list) else value


def tally(question: Question, values: list[Any]) -> list[tuple[str, int]]:
    """The distinct answers given, most common first, as (shown answer, how many gave it)."""
    counts = Counter(_same(value) for value in values)
    first_seen: dict[Hashable, Any] = {}
    for value in values:
        first_seen.setdefault(_same(value), value)
    return [(shown(question, first_seen[key]), count) for key, count in counts.most_common()]


# The queue's filters -----------------------------------------------------------------------------------------


def metadata_keys(project: Project) -> list[str]:
    """The metadata keys of a sample of the project's examples (the first and last by id in the project's unique
    index on external ids, which every lookup by project uses), remembered for a minute."""
    cache_key = f"winnow:metadata-keys:{project.pk}:{project.created_at.timestamp()}"
    keys: list[str] | None = cache.get(cache_key)
    if keys is None:
        seen: set[str] = set()
        examples = Example.objects.for_project(project)
        for order in ("external_id", "-external_id"):
            for values in examples.order_by(order).values_list("metadata", flat=True)[:METADATA_SAMPLE]:
                if isinstance(values, dict):
                    seen.update(values)
        keys = sorted(key for key in seen if metadata.filterable_key(key))
        cache.set(cache_key, keys, timeout=60)
    return keys


class QueueForm(forms.Form):
    """The queue's filters, read from the query string. A bad value is reported and ignored, never an error page."""

    question = forms.ChoiceField(required=False)
    annotator = forms.ChoiceField(required=False)
    key = forms.ChoiceField(required=False)
    value = forms.CharField(required=False, max_length=500)
    show = forms.ChoiceField(required=False, choices=[("unresolved", "unresolved only"), ("all", "all cases")])
    q = forms.CharField(required=False, max_length=search.MAX_QUERY)
    shape = forms.ChoiceField(required=False, choices=[("", "any"), *((name, name) for name in SHAPES)])
    status = forms.ChoiceField(
        required=False, choices=[("", "any"), *((name, name.replace("_", " ")) for name in search.STATUSES)]
    )
    answer = forms.CharField(required=False, max_length=search.MAX_VALUE)
    min = forms.ChoiceField(
        required=False, choices=[("", "any"), ("0.25", "≥ 25%"), ("0.5", "≥ 50%"), ("0.75", "≥ 75%"), ("1", "100%")]
    )

    def clean_q(self) -> str:
        try:
            return search.parse_q(self.cleaned_data.get("q") or "")
        except search.FilterError as error:
            raise forms.ValidationError(error.message) from None

    def __init__(self, data: QueryDict, *, questions: list[Question], annotators: list[str], keys: list[str]):
        super().__init__(data)
        self._choice_field("question").choices = [(q.name, q.name) for q in questions]
        self._choice_field("annotator").choices = [("", "anyone"), *((name, name) for name in annotators)]
        self._choice_field("key").choices = [("", "any key"), *((key, key) for key in keys)]

    def _choice_field(self, name: str) -> forms.ChoiceField:
        # self.fields holds copies of the fields declared above, typed only as Field; these are ChoiceFields.
        return cast("forms.ChoiceField", self.fields[name])


@dataclass(frozen=True)
class QueueParams:
    """The filters as the page's address carries them."""

    question: Question
    annotator: str = ""
    key: str = ""
    value: str = ""
    show: str = "unresolved"
    q: str = ""
    shape: str = ""
    status: str = ""
    answer: search.Answer | None = None
    min: str = ""

    @property
    def params(self) -> dict[str, str]:
        given = {
            "annotator": self.annotator,
            "key": self.key,
            "value": self.value,
            "q": self.q,
            "shape": self.shape,
            "status": self.status,
            "answer": self.answer_text,
            "min": self.min,
        }
        return {"question": self.question.name, **{k: v for k, v in given.items() if v}, "show": self.show}

    @property
    def answer_text(self) -> str:
        return "" if self.answer is None else str(self.answer.value)

    @property
    def any_filter(self) -> bool:
        """Whether anything narrows the queue beyond its question and what it shows."""
        return any((self.annotator, self.key, self.value, self.q, self.shape, self.status, self.answer, self.min))

    @property
    def query(self) -> str:
        return urlencode(self.params)

    def filters(self) -> review_queue.Filters:
        annotator, nobody = review_queue.annotator_named(self.annotator)
        return review_queue.Filters(
            question=self.question,
            annotator=annotator,
            no_such_annotator=nobody,
            metadata={self.key: self.value} if self.key and self.value else {},
            resolved=False if self.show == "unresolved" else None,
            minimum=float(self.min or 0),
            examples=search.ExampleFilters(
                q=self.q, shape=self.shape, status=self.status, answers=(self.answer,) if self.answer else ()
            ),
        )


def queue_params(query: QueryDict, project: Project) -> tuple[QueueParams, QueueForm, list[Question]]:
    """The filters asked for (invalid ones dropped), the form that reports what was dropped, and the questions
    (none when the project asks nothing annotators can disagree on: then the params are placeholders)."""
    questions = reviewable_questions(project)
    if not questions:
        return QueueParams(question=Question(name="")), QueueForm(query, questions=[], annotators=[], keys=[]), []
    annotators = list(
        Membership.objects.filter(project=project).order_by("user__username").values_list("user__username", flat=True)
    )
    form = QueueForm(query, questions=questions, annotators=annotators, keys=metadata_keys(project))
    form.is_valid()
    cleaned = form.cleaned_data  # holds only the fields that were valid
    by_name = {q.name: q for q in questions}
    question = by_name.get(cleaned.get("question") or "", questions[0])
    answer = None
    if given := (cleaned.get("answer") or "").strip():
        try:
            answer = search.parse_answer(by_name, question.name, given, "answer")
        except search.FilterError as error:
            form.add_error("answer", error.message)
    params = QueueParams(
        question=question,
        annotator=cleaned.get("annotator") or "",
        key=cleaned.get("key") or "",
        value=(cleaned.get("value") or "").strip(),
        show=cleaned.get("show") or "unresolved",
        q=cleaned.get("q") or "",
        shape=cleaned.get("shape") or "",
        status=cleaned.get("status") or "",
        answer=answer,
        min=cleaned.get("min") or "",
    )
    return params, form, questions


# Positions in addresses --------------------------------------------------------------------------------------


def position_param(position: review_queue.Position) -> str:
    return f"{position.disagreement!r}_{position.example_id}"


def parse_position(raw: str | None) -> review_queue.Position | None:
    """A position from ``after``/``before``; None when absent or not a position (the page then starts at the top)."""
    if not raw:
        return None
    disagreement, _, example_id = raw.partition("_")
    try:
        position = review_queue.Position(float(disagreement), int(example_id))
    except ValueError:
        return None
    valid = 0 <= position.disagreement <= 1 and 0 < position.example_id < 2**63
    return position if valid else None


def review_url(project: Project, example_id: int, params: QueueParams) -> str:
    return f"{reverse('annotate:review_example', args=[project.pk, example_id])}?{params.query}"


def queue_url(project: Project, params: QueueParams, **position: review_queue.Position | None) -> str:
    """The queue page with these filters, starting ``after`` or ending ``before`` a position (else at the top)."""
    extra = {name: position_param(where) for name, where in position.items() if where is not None}
    query = params.query + (f"&{urlencode(extra)}" if extra else "")
    return f"{reverse('annotate:review_queue', args=[project.pk])}?{query}"
