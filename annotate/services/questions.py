"""A project's questions: adding them, changing and removing them without losing an answer, and their order.

A question that has answers (an annotation or an earlier revision holds an answer to it, or a reviewer resolved
it) keeps what the answers depend on: ``annotate.questions.change_problems`` says what may change, and it is not
removed, since its answers and resolutions would go with it. The same rules serve the pages and the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Max, Q

from annotate.models import AnnotationRevision, Project, Question, Resolution
from annotate.questions import QuestionSpec, change_problems
from annotate.services import queue
from annotate.services.errors import FieldErrors, ServiceError
from annotate.services.summaries import summaries_rebuild


class QuestionsRefused(FieldErrors):
    """Changes to the questions that cannot be made; ``errors`` maps ``questions[i].field`` to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors, code="conflict")


@dataclass(frozen=True)
class AnswerCount:
    """What depends on one question: current answers, earlier answers kept in the history, and resolutions."""

    answers: int = 0
    earlier: int = 0
    resolutions: int = 0

    @property
    def any(self) -> bool:
        return bool(self.answers or self.earlier or self.resolutions)


def answer_counts(project: Project, questions: Iterable[Question] | None = None) -> dict[int, AnswerCount]:
    """How many answers each question has, by question id: one pass over the project's annotations (and one over
    their history), like the project's own counts."""
    asked = list(project.questions.all() if questions is None else questions)
    if not asked:
        return {}
    keys = {f"q{question.pk}": Count("pk", filter=Q(answers__has_key=question.name)) for question in asked}
    current = project.annotations.aggregate(**keys)
    earlier = AnnotationRevision.objects.filter(annotation__project=project).aggregate(**keys)
    resolved = dict(
        Resolution.objects.filter(project=project)
        .values("question")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("question", "n")
    )
    return {
        question.pk: AnswerCount(
            answers=current[f"q{question.pk}"] or 0,
            earlier=earlier[f"q{question.pk}"] or 0,
            resolutions=resolved.get(question.pk, 0),
        )
        for question in asked
    }


def _lock(project: Project) -> None:
    """The project row (as for its members and guidelines), then every work item of the project: an answer is
    checked against the questions after its work item is locked, so none is being written while they change."""
    Project.objects.select_for_update(no_key=True).filter(pk=project.pk).first()
    queue.questions_changing(project=project)


@transaction.atomic
def questions_add(*, project: Project, specs: list[QuestionSpec]) -> list[Question]:
    """Add questions after the project's last one."""
    taken = set(project.questions.values_list("name", flat=True))
    clash = [spec.name for spec in specs if spec.name in taken]
    if clash:
        raise ServiceError(f"the project already has a question named {clash[0]!r}", field="name", code="conflict")
    start = (project.questions.aggregate(last=Max("position"))["last"] or 0) + 1
    return Question.objects.bulk_create(_new(project, spec, position=start + index) for index, spec in enumerate(specs))


def _new(project: Project, spec: QuestionSpec, *, position: int) -> Question:
    return Question(
        project=project,
        name=spec.name,
        kind=spec.kind,
        options=spec.options,
        required=spec.required,
        level=spec.level,
        help=spec.help,
        position=position,
    )


def _set_spec(question: Question, spec: QuestionSpec) -> None:
    question.name, question.kind, question.options = spec.name, spec.kind, spec.options
    question.required, question.level, question.help = spec.required, spec.level, spec.help


def _rescales(old: QuestionSpec, new: QuestionSpec) -> bool:
    """Whether the stored disagreement of the question's examples depends on what changed (its scale)."""
    return (old.level, old.options) != (new.level, new.options)


@dataclass(frozen=True)
class QuestionEdit:
    """One question as the editor submits it: ``original`` is the id of the question it changes (None: a new
    question)."""

    spec: QuestionSpec
    original: int | None = None


@dataclass(frozen=True)
class _Plan:
    existing: dict[int, Question]  # by id, in order
    changed: list[tuple[Question, QuestionSpec]]
    removed: list[Question]


def _plan(project: Project, edits: list[QuestionEdit]) -> _Plan:
    existing = {question.pk: question for question in project.questions.order_by("position", "id")}
    kept = {edit.original for edit in edits}
    changed = [
        (existing[edit.original], edit.spec)
        for edit in edits
        if edit.original in existing and existing[edit.original].as_spec() != edit.spec
    ]
    return _Plan(existing, changed, [question for pk, question in existing.items() if pk not in kept])


@transaction.atomic
def questions_set(*, project: Project, edits: list[QuestionEdit]) -> list[Question]:
    """Make the project's questions these, in this order: change the existing ones, add the new ones and remove
    those left out. All or nothing: every refusal is named by ``questions[i].<field>`` (``i`` indexes ``edits``),
    or ``removed[<id>]`` for a question left out that cannot be removed."""
    plan = _plan(project, edits)
    counts: dict[int, AnswerCount] = {}
    if plan.changed or plan.removed:
        _lock(project)
        plan = _plan(project, edits)  # as it is now that no one else can change it
        counts = answer_counts(project, [question for question, _ in plan.changed] + plan.removed)
    existing, changed, removed = plan.existing, plan.changed, plan.removed
    errors: dict[str, str] = {}
    for index, edit in enumerate(edits):
        if edit.original is not None and edit.original not in existing:
            errors[f"questions[{index}]"] = "this question is no longer in the project; reload the page"
    names = [edit.spec.name for edit in edits]
    for index, name in enumerate(names):
        if name in names[:index]:
            errors[f"questions[{index}].name"] = f"the name {name!r} is used twice"
    for question in removed:
        count = counts[question.pk]
        if count.any:
            errors[f"removed[{question.pk}]"] = (
                f"{question.name!r} has {describe(count)}: a question with answers is not removed, so that they "
                "are kept; make it optional instead"
            )
    rescaled = False
    for index, edit in enumerate(edits):
        before = existing.get(edit.original) if edit.original is not None else None
        if before is None or before.pk not in counts or not counts[before.pk].any:
            continue
        for field, message in change_problems(before.as_spec(), edit.spec).items():
            errors[f"questions[{index}].{field}"] = message
        rescaled = rescaled or _rescales(before.as_spec(), edit.spec)
    if errors:
        raise QuestionsRefused(errors)

    Question.objects.filter(pk__in=[question.pk for question in removed]).delete()
    # Names are unique in a project: names that move from one question to another pass through a placeholder.
    renamed = [question for question, spec in changed if question.name != spec.name]
    for question in renamed:
        Question.objects.filter(pk=question.pk).update(name=f"~{question.pk}")
    result: list[Question] = []
    for position, edit in enumerate(edits, start=1):
        if edit.original is None:
            result.append(_new(project, edit.spec, position=position))
            continue
        question = existing[edit.original]
        _set_spec(question, edit.spec)
        question.position = position
        result.append(question)
    fields = ["name", "kind", "options", "required", "level", "help", "position"]
    Question.objects.bulk_update([q for q in result if q.pk is not None], fields)
    Question.objects.bulk_create([q for q in result if q.pk is None])
    if rescaled:
        summaries_rebuild(project=project)
    return result


def describe(count: AnswerCount) -> str:
    """``12 answers, 3 earlier answers and 2 resolutions``, naming only what there is."""
    parts = [
        f"{n} {word}{'s' * (n != 1)}"
        for n, word in (
            (count.answers, "answer"),
            (count.earlier, "earlier answer"),
            (count.resolutions, "resolution"),
        )
        if n
    ]
    if not parts:
        return "no answers"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


@transaction.atomic
def question_update(*, project: Project, name: str, spec: QuestionSpec) -> Question:
    """Change one question (found by name), under the rules of ``questions_set``."""
    edits = [QuestionEdit(spec=q.as_spec(), original=q.pk) for q in project.questions.order_by("position", "id")]
    index = next((i for i, edit in enumerate(edits) if edit.spec.name == name), None)
    if index is None:
        raise ServiceError(f"the project has no question named {name!r}", code="not_found")
    edits[index] = QuestionEdit(spec=spec, original=edits[index].original)
    try:
        return questions_set(project=project, edits=edits)[index]
    except QuestionsRefused as exc:
        raise _one(exc, index) from None


@transaction.atomic
def question_remove(*, project: Project, name: str) -> None:
    """Remove one question (found by name); refused while it has answers."""
    questions = list(project.questions.order_by("position", "id"))
    if not any(q.name == name for q in questions):
        raise ServiceError(f"the project has no question named {name!r}", code="not_found")
    edits = [QuestionEdit(spec=q.as_spec(), original=q.pk) for q in questions if q.name != name]
    try:
        questions_set(project=project, edits=edits)
    except QuestionsRefused as exc:
        raise ServiceError(exc.message, code="conflict") from None


def _one(exc: QuestionsRefused, index: int) -> ServiceError:
    """A refusal about one question, with its field named plainly (``labels``, not ``questions[2].labels``)."""
    prefix = f"questions[{index}]."
    field, message = next(((k, v) for k, v in exc.errors.items() if k.startswith(prefix)), (exc.field, exc.message))
    return ServiceError(message, field=(field or "").removeprefix(prefix) or None, code="conflict")
