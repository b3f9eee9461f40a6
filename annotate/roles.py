"""Roles in a project, and the rules over them: one named predicate per question of who may do what.

Pages, API and tests all ask these (through ``annotate.access``), so a rule cannot drift between them. Pure: no
model is imported here, so models may use the rules too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Role(models.TextChoices):
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    MANAGER = "manager"

    @property
    def rank(self) -> int:
        """Each role may do everything the roles below it may."""
        return ROLE_RANK[self.value]


ROLE_RANK = {Role.ANNOTATOR.value: 1, Role.REVIEWER.value: 2, Role.MANAGER.value: 3}


# The rules --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Who may do one thing: members whose role is at least ``needs``. Called with a role (None: not a member)."""

    name: str
    needs: Role
    doc: str

    def __call__(self, role: Role | None) -> bool:
        return has_role(role, self.needs)


def has_role(role: Role | None, at_least: Role) -> bool:
    return role is not None and role.rank >= at_least.rank


may_annotate = Rule("may_annotate", Role.ANNOTATOR, "get work, answer, skip, read their own annotations")
may_review = Rule(
    "may_review", Role.REVIEWER, "read everyone's annotations and the disagreements, resolve them, ask for tie-breakers"
)
# Sending an example back is part of resolving it, so reviewers may, one at a time or in bulk.
may_reopen = Rule("may_reopen", Role.REVIEWER, "send examples back for re-annotation")
may_manage = Rule(
    "may_manage", Role.MANAGER, "change the project, its members, questions and guidelines; import data; run jobs"
)
# An annotator who saw counts of others' annotations could tell whether others have labelled the example they
# hold, which breaks blind annotation.
may_see_others_work = Rule("may_see_others_work", Role.REVIEWER, "see counts of other people's work")
may_see_members = Rule("may_see_members", Role.REVIEWER, "see who else works on the project")
# Annotators work from the current guideline only.
may_see_guideline_history = Rule(
    "may_see_guideline_history", Role.REVIEWER, "read earlier guideline versions and their differences"
)
may_browse_examples = Rule("may_browse_examples", Role.REVIEWER, "read any example, not only the one in hand")
