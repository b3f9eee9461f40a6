"""What reviewers do: settle a question for an example, ask for a tie-breaker, send examples back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet

from annotate.answers import AnswerError, applies, check_value
from annotate.models import Example, LabelSummary, Project, Question, Resolution
from annotate.services import queue
from annotate.services.errors import ServiceError
from annotate.services.summaries import summaries_mark_resolved, summaries_refresh

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CONSENSUS_CHUNK = 5_000


def question_named(project: Project, name: Any) -> Question:
    question = project.questions.filter(name=name).first() if isinstance(name, str) else None
    if question is None:
        names = ", ".join(project.questions.values_list("name", flat=True)) or "none"
        raise ServiceError(f"the project has no question named {name!r} (its questions: {names})", field="question")
    return question


def _examples(project: Project, example_ids: Any) -> list[int]:
    if (
        not isinstance(example_ids, list)
        or not example_ids
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in example_ids)
    ):
        raise ServiceError("examples must be a non-empty list of example ids", field="examples")
    found = set(Example.objects.for_project(project).filter(pk__in=example_ids).values_list("pk", flat=True))
    missing = [i for i in example_ids if i not in found]
    if missing:
        raise ServiceError(f"example {missing[0]} is not in this project", field="examples")
    return sorted(found)


@transaction.atomic
def resolution_set(
    *, project: Project, example_id: int, question_name: str, value: Any, reviewer: User, note: str = ""
) -> Resolution:
    """Record the reviewer's gold value (checked like an answer); posting again replaces it."""
    question = question_named(project, question_name)
    example = Example.objects.for_project(project).filter(pk=example_id).first()
    if example is None:
        raise ServiceError(f"example {example_id} is not in this project", field="example")
    queue.lock_items(project, [example.pk])
    spec = question.as_spec()
    if not applies(spec, example.content):
        raise ServiceError(f"{spec.name} does not apply to this example", field="question")
    try:
        value = check_value(spec, value, example.content)
    except AnswerError as exc:
        raise ServiceError(exc.message, field="value") from None
    resolution, _ = Resolution.objects.update_or_create(
        example=example,
        question=question,
        defaults={
            "project": project,
            "value": value,
            "method": Resolution.Method.REVIEWER,
            "reviewer": reviewer,
            "note": note,
        },
    )
    summaries_mark_resolved(question=question, example_ids=[example.pk])
    return resolution


@transaction.atomic
def resolutions_set(
    *, project: Project, example_id: int, values: Mapping[str, Any], reviewer: User, note: str = ""
) -> list[Resolution]:
    """Settle several questions of one example in one pass: ``values`` maps question names to gold values, each
    recorded as ``resolution_set`` records one. All or nothing: a value refused for one question leaves every
    question as it was, and the error names the question."""
    if not values:
        raise ServiceError("choose a decision for at least one question", field="questions")
    resolutions = []
    for name, value in values.items():
        try:
            resolution = resolution_set(
                project=project, example_id=example_id, question_name=name, value=value, reviewer=reviewer, note=note
            )
        except ServiceError as exc:
            field = name if exc.field in ("value", "question") else exc.field
            raise ServiceError(exc.message, field=field) from None
        resolutions.append(resolution)
    return resolutions


def consensus_candidates(
    *, project: Project, question: Question, method: str, threshold: float = 0.5
) -> QuerySet[LabelSummary]:
    """Summaries of the unresolved examples whose current labels qualify for the method, by example.

    unanimous: every annotator (two or more) gave the same answer. majority: more than ``threshold`` of them did.
    """
    if method not in (Resolution.Method.UNANIMOUS, Resolution.Method.MAJORITY):
        raise ServiceError("method must be 'unanimous' or 'majority'", field="method")
    if not 0.5 <= threshold < 1:
        raise ServiceError("threshold must be at least 0.5 and below 1", field="threshold")
    candidates = LabelSummary.objects.filter(question=question, resolved=False)
    if method == Resolution.Method.UNANIMOUS:
        return candidates.filter(consensus_share=1.0).order_by("example_id")
    return candidates.filter(consensus_share__gt=threshold).order_by("example_id")


@transaction.atomic
def resolutions_from_consensus(
    *, project: Project, question_name: str, method: str, threshold: float = 0.5, reviewer: User
) -> int:
    """Resolve in bulk every unresolved example that is unanimous (or has a majority above the threshold)."""
    question = question_named(project, question_name)
    candidates = consensus_candidates(project=project, question=question, method=method, threshold=threshold)
    resolved = 0
    for chunk in _chunks(candidates.values_list("example_id", flat=True).iterator(chunk_size=CONSENSUS_CHUNK)):
        # Locked first (the queue's lock order), then read again: an answer or a reviewer's resolution that came
        # in meanwhile is seen, and a reviewer's resolution stands.
        queue.lock_items(project, chunk)
        chosen = list(
            consensus_candidates(project=project, question=question, method=method, threshold=threshold)
            .filter(example_id__in=chunk)
            .values_list("example_id", "consensus", "consensus_share")
        )
        Resolution.objects.bulk_create(
            [
                Resolution(
                    example_id=example_id,
                    project=project,
                    question=question,
                    value=value,
                    # Applying "majority" also takes the unanimous examples: record them for what they are.
                    method=Resolution.Method.UNANIMOUS if share == 1 else method,
                    reviewer=reviewer,
                    note=f"{share:.0%} of annotators agreed",
                )
                for example_id, value, share in chosen
            ],
            batch_size=2000,
        )
        summaries_mark_resolved(question=question, example_ids=[example_id for example_id, _, _ in chosen])
        resolved += len(chosen)
    return resolved


def _chunks(ids: Iterator[int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    for example_id in ids:
        chunk.append(example_id)
        if len(chunk) == CONSENSUS_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@transaction.atomic
def tiebreak(*, project: Project, example_ids: Any) -> int:
    """Offer each example to one more annotator (one who has not labelled it) beyond the overlap."""
    return queue.tiebreak(project=project, example_ids=_examples(project, example_ids))


@transaction.atomic
def reopen(*, project: Project, example_ids: Any) -> int:
    """Send examples back to annotation, e.g. after the guideline was clarified.

    Each starts a new round needing ``overlap`` fresh annotations; anyone may take it, its earlier annotators
    too, and tie-breakers asked for earlier are dropped. Earlier annotations stay, marked with their round and
    guideline version. Examples in hand are taken back, and the examples' resolutions are removed: they are to
    be decided again.
    """
    ids = queue.reopen(project=project, example_ids=_examples(project, example_ids))
    Resolution.objects.filter(example_id__in=ids).delete()
    summaries_refresh(project=project, example_ids=ids)
    return len(ids)
