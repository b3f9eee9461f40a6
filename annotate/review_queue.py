"""The reviewers' queue: examples whose annotators do not all agree on a question, most disagreement first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.db.models.fields.json import KeyTextTransform, KeyTransform

from annotate.disagreement import disagreement
from annotate.models import Annotation, Example, Project, Question, Resolution


@dataclass
class Case:
    example_id: int
    disagreement: float
    annotations: list[dict[str, Any]] = field(default_factory=list)
    resolution: Resolution | None = None
    example: Example | None = None


def disagreements(
    *,
    project: Project,
    question: Question,
    annotator: str | None = None,
    metadata: dict[str, str] | None = None,
    include_resolved: bool = True,
) -> list[Case]:
    """Examples with two or more current annotations of the question that do not all agree.

    ``annotator`` keeps the examples that annotator labelled this round; ``metadata`` keeps examples whose
    metadata has each key equal to the value given, compared as text (so "2023" matches the number 2023).
    """
    spec = question.as_spec()
    annotations = Annotation.objects.for_project(project).current()
    # Keys are data, not lookup paths: KeyTransform treats "a__b" or "contains" as plain keys.
    for index, (key, value) in enumerate((metadata or {}).items()):
        annotations = annotations.alias(**{f"meta_{index}": KeyTextTransform(key, "example__metadata")}).filter(
            **{f"meta_{index}": value}
        )
    if annotator:
        annotations = annotations.filter(
            example__annotations__annotator__username=annotator,
            example__annotations__round=F("example__work__round"),
        )
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = (
        annotations.annotate(value=KeyTransform(question.name, "answers"))
        .values_list("example_id", "annotator__username", "value", "guideline_version", "submitted_at")
        .order_by("example_id", "submitted_at")
    )
    for example_id, username, value, version, submitted_at in rows.iterator(chunk_size=5000):
        if value is not None:
            grouped[example_id].append(
                {"annotator": username, "value": value, "guideline_version": version, "submitted_at": submitted_at}
            )
    cases = []
    for example_id, given in grouped.items():
        if len(given) < 2:
            continue
        score = disagreement(spec, [entry["value"] for entry in given])
        if score > 0:
            cases.append(Case(example_id=example_id, disagreement=round(score, 6), annotations=given))
    resolutions = {
        r.example_id: r
        for r in Resolution.objects.filter(
            question=question, example_id__in=[c.example_id for c in cases]
        ).select_related("reviewer")
    }
    for case in cases:
        case.resolution = resolutions.get(case.example_id)
    if not include_resolved:
        cases = [case for case in cases if case.resolution is None]
    cases.sort(key=lambda case: (-case.disagreement, case.example_id))
    return cases
