"""What the review queue and bulk consensus read: each example's current labels of a question, summarised."""

from __future__ import annotations

from django.db import models

from annotate.models.example import Example
from annotate.models.project import Project, Question


class LabelSummary(models.Model):
    """How the current labels of one question on one example stand: how many, how much they disagree, and what
    most annotators said. Only examples with two or more labels have one.

    Kept in step in the same transaction as the change that moves it (an answer, a resolution, a reopen; see
    annotate/services/summaries.py), so that the review queue is an indexed query with a keyset cursor and never
    reads the project's annotations.
    """

    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+", db_index=False)
    labels = models.PositiveIntegerField(help_text="How many current labels the example has for the question")
    disagreement = models.FloatField(help_text="0 (all agree) to 1 (the most disagreement there can be)")
    consensus = models.JSONField(help_text="The most common answer (a tie: the answer given first)")
    consensus_share = models.FloatField(help_text="The share of labels that gave the consensus answer")
    resolved = models.BooleanField(default=False, help_text="Whether a reviewer or consensus has settled it")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["example", "question"], name="labelsummary_unique_example_question"),
            models.CheckConstraint(condition=models.Q(labels__gte=2), name="labelsummary_two_or_more_labels"),
            models.CheckConstraint(
                condition=models.Q(disagreement__gte=0, disagreement__lte=1), name="labelsummary_disagreement_0_1"
            ),
        ]
        indexes = [
            # The review queue: a question's cases, most disagreement first; the unresolved ones on their own.
            models.Index(
                "question",
                models.F("disagreement").desc(),
                "example",
                name="labelsummary_queue_idx",
                condition=models.Q(disagreement__gt=0),
            ),
            models.Index(
                "question",
                models.F("disagreement").desc(),
                "example",
                name="labelsummary_open_queue_idx",
                condition=models.Q(disagreement__gt=0, resolved=False),
            ),
            # Bulk consensus: a question's unresolved examples by how many agree.
            models.Index(
                "question",
                models.F("consensus_share").desc(),
                name="labelsummary_consensus_idx",
                condition=models.Q(resolved=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id} on example {self.example_id}: {self.labels} labels, {self.disagreement:.2f}"
