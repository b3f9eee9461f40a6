"""The export tests' data (the ``labelled`` fixture, registered in tests/conftest.py): a project with every shape,
a preference and a rating question, labels from three annotators, and a version that keeps everything."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from annotate.models import Annotation, Membership, Resolution
from annotate.services.queue import work_items_create
from curation.models import DatasetVersion, VersionMember
from tests.factories import ExampleFactory, QuestionFactory, UserFactory


@dataclass
class Labelled:
    project: object
    version: DatasetVersion
    ids: dict[str, int]
    annotators: list = field(default_factory=list)

    def label(self, name: str, annotator: int, guideline_version: int = 1, **answers) -> None:
        Annotation.objects.create(
            example_id=self.ids[name],
            project=self.project,
            annotator=self.annotators[annotator],
            answers=answers,
            guideline_version=guideline_version,
            round=1,
            submitted_at=timezone.now(),
            duration_ms=1000 + annotator,
        )

    def resolve(self, name: str, question: str, value) -> None:
        Resolution.objects.create(
            project=self.project,
            example_id=self.ids[name],
            question=self.project.questions.get(name=question),
            value=value,
            method="reviewer",
        )


CONTENTS = {
    "instruction": {"prompt": "Name a prime number.", "response": "Seven."},
    "with_system": {"system": "Be brief.", "prompt": "Capital of France?", "response": "Paris."},
    "chat": {
        "messages": [
            {"role": "user", "content": "Hi, can you add 2 and 3?"},
            {"role": "assistant", "content": "Sure: 5."},
            {"role": "user", "content": "And times 4?"},
            {"role": "assistant", "content": "20."},
        ]
    },
    "text": {"text": "Plain pretraining text."},
    "pair": {"prompt": "Say hello.", "chosen": "Hello!", "rejected": "Go away."},
    "cands_a": {"prompt": "Explain rain.", "responses": ["Water condenses and falls.", "Sky crying."]},
    "cands_tie": {"prompt": "Explain snow.", "responses": ["Frozen rain.", "Cold fluff."]},
    "cands_resolved": {"prompt": "Explain hail.", "responses": ["Balls of ice.", "Ice lumps from storms."]},
    "cands_none": {"prompt": "Explain fog.", "responses": ["Low cloud.", "Mist."]},
}


@pytest.fixture
def labelled(project) -> Labelled:
    QuestionFactory(project=project, name="better", kind="preference", options={}, level="nominal", required=False)
    project.questions.filter(name__in=["quality", "topic"]).update(required=False)
    made = {
        name: ExampleFactory(project=project, external_id=name, content=content) for name, content in CONTENTS.items()
    }
    work_items_create(project=project)
    annotators = [UserFactory(username=f"rater-{n}") for n in range(3)]
    for user in annotators:
        Membership.objects.create(user=user, project=project, role="annotator")
    version = DatasetVersion.objects.create(project=project, status="ready", name="all", counts={"kept": len(made)})
    VersionMember.objects.bulk_create(VersionMember(version=version, example=example) for example in made.values())
    data = Labelled(project, version, {name: e.pk for name, e in made.items()}, annotators)
    for n, choice in enumerate(["a", "a", "b"]):
        data.label("cands_a", n, better=choice)
    for n, choice in enumerate(["a", "b"]):
        data.label("cands_tie", n, better=choice)
    for n, choice in enumerate(["b", "b", "a"]):
        data.label("cands_resolved", n, guideline_version=2, better=choice)
    data.resolve("cands_resolved", "better", "a")
    # Ratings: rater-0 is lenient (+1 on everything), rater-2 severe (−1).
    for name, base in (("instruction", 3), ("with_system", 4), ("chat", 2)):
        for n, offset in enumerate([1, 0, -1]):
            data.label(name, n, quality=base + offset)
    return data
