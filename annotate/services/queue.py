"""The annotation queue: handing examples to annotators, k-fold and blind, and taking them back.

Guarantees, held by the database under any number of concurrent requests:
- no example is held or done by more than its target number of annotators in a round (row lock on the
  WorkItem, taken with SKIP LOCKED on PostgreSQL so annotators never wait on each other; SQLite runs every
  write transaction one at a time, which gives the same result);
- no annotator gets the same example twice in a round, nor ever again after skipping it;
- an annotator holds at most one example of a project at a time (a partial unique index).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from annotate.models import Assignment, Example, Project, WorkItem
from annotate.services.errors import NotAssigned

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# How often a claim looks again when every example left for the annotator is being claimed by others.
CLAIM_ATTEMPTS = 20
# Knuth's multiplicative hash: a fixed, well-spread pseudo-random order of example ids.
SHUFFLE_SQL = "(e.id * 2654435761) %% 2147483647"


def work_items_create(*, project: Project, id_ranges: Sequence[tuple[int, int]] | None = None) -> int:
    """Put the project's examples that are not in the queue yet into it (called by import, in its transaction).

    ``id_ranges`` (PostgreSQL): the caller has just written exactly the examples with these ids (inclusive
    ranges), none of them queued yet, so their rows are made from the ids alone, reading neither table. A bulk
    import's next statement must not depend on table statistics the import itself has just made stale: an
    anti-join over a million rows planned on them can take minutes instead of seconds.
    """
    with connection.cursor() as cursor:
        if id_ranges is not None:
            if not id_ranges:
                return 0
            cursor.execute(
                "INSERT INTO annotate_workitem (example_id, project_id, round, target, extra, live, done, open, "
                f"shuffle) SELECT g, %s, 1, %s, 0, 0, 0, %s, {SHUFFLE_SQL.replace('e.id', 'g')} "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS r(lo, hi), generate_series(r.lo, r.hi) AS g",
                [project.pk, project.overlap, True, [lo for lo, _ in id_ranges], [hi for _, hi in id_ranges]],
            )
            return cursor.rowcount
        cursor.execute(
            "INSERT INTO annotate_workitem (example_id, project_id, round, target, extra, live, done, open, shuffle) "
            f"SELECT e.id, e.project_id, 1, %s, 0, 0, 0, %s, {SHUFFLE_SQL} FROM annotate_example e "
            "WHERE e.project_id = %s AND NOT EXISTS (SELECT 1 FROM annotate_workitem w WHERE w.example_id = e.id)",
            [project.overlap, True, project.pk],
        )
        return cursor.rowcount


def one_more_live() -> dict[str, object]:
    """Update fields for a WorkItem that gains a live assignment (SQL sees the old values on the right)."""
    return {
        "live": F("live") + 1,
        "open": Case(When(live__lt=F("target") - 1, then=Value(True)), default=Value(False)),
    }


def one_less_live() -> dict[str, object]:
    return {"live": F("live") - 1, "open": Value(True)}


def release_idle(*, project: Project) -> int:
    """Release assignments held longer than the project allows, so others can take the examples."""
    cutoff = timezone.now() - timedelta(seconds=project.assignment_timeout)
    idle = Assignment.objects.filter(project=project, status=Assignment.Status.ACTIVE, assigned_at__lt=cutoff)
    # Every `next` calls this: one indexed look first, and a transaction only when there is something to release.
    if not idle.exists():
        return 0
    released = 0
    with transaction.atomic():
        locked = list(idle.select_for_update(skip_locked=True).values_list("pk", "example_id", "round"))
        for pk, example_id, round_ in locked:
            Assignment.objects.filter(pk=pk).update(status=Assignment.Status.RELEASED, finished_at=timezone.now())
            WorkItem.objects.filter(pk=example_id, round=round_).update(**one_less_live())
            released += 1
    return released


def held_by(*, project: Project, annotator: AbstractBaseUser) -> Assignment | None:
    # At most one row can match (a partial unique index); unordered, so the planner reads that index instead of
    # walking the primary key in order as `.first()` would ask it to.
    held = (
        Assignment.objects.filter(project=project, annotator=annotator, status=Assignment.Status.ACTIVE)
        .select_related("example")
        .order_by()[:1]
    )
    return next(iter(held), None)


def next_assignment(*, project: Project, annotator: AbstractBaseUser) -> Assignment | None:
    """The example the annotator holds, else a newly claimed one; None when nothing is left for them."""
    release_idle(project=project)
    held = held_by(project=project, annotator=annotator)
    if held is not None:
        return held
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            claimed = _claim(project=project, annotator=annotator)
        except IntegrityError:
            # A concurrent request of the same annotator claimed first (that is the one they hold), or claimed
            # this very example a moment before this request's snapshot: look again.
            held = held_by(project=project, annotator=annotator)
            if held is not None:
                return held
            continue
        if claimed is not None:
            return claimed
        # Every example left for them may be locked by other claims this instant: "nothing left" only when none
        # is. Waiting on those locks instead (FOR UPDATE without SKIP LOCKED) can deadlock: a waiting claim keeps
        # the locks it took on rows it then passed over.
        if not _open_for(project=project, annotator=annotator).exists():
            return None
        time.sleep(0.005 * (attempt + 1))
    return None


def _open_for(*, project: Project, annotator: AbstractBaseUser) -> QuerySet[WorkItem]:
    """Open examples this annotator has not had in this round nor skipped, in the order they are handed out."""
    seen = Assignment.objects.filter(example_id=OuterRef("pk"), annotator=annotator).filter(
        Q(round=OuterRef("round")) | Q(status=Assignment.Status.SKIPPED)
    )
    return WorkItem.objects.filter(project=project, open=True).filter(~Exists(seen)).order_by("-live", "shuffle")


@transaction.atomic
def _claim(*, project: Project, annotator: AbstractBaseUser) -> Assignment | None:
    # One ordered walk of the claim index, stopping at the first example this annotator has not seen: usually one
    # step. Its cost grows with the examples the annotator has done that still wait for others, which stays small
    # while annotators keep pace (a bounded search for one far ahead of the rest is still to be measured).
    item = _open_for(project=project, annotator=annotator).select_for_update(skip_locked=True, of=("self",)).first()
    if item is None:
        return None
    assignment = Assignment.objects.create(example_id=item.pk, project=project, annotator=annotator, round=item.round)
    WorkItem.objects.filter(pk=item.pk).update(**one_more_live())
    assignment.example = Example.objects.get(pk=item.pk)
    return assignment


@transaction.atomic
def skip(*, project: Project, annotator: AbstractBaseUser, example_id: int) -> None:
    """Give the example back for others; this annotator is never offered it again."""
    assignment = (
        Assignment.objects.select_for_update()
        .filter(project=project, annotator=annotator, example_id=example_id, status=Assignment.Status.ACTIVE)
        .first()
    )
    if assignment is None:
        raise NotAssigned("you do not hold this example, so there is nothing to skip")
    assignment.status = Assignment.Status.SKIPPED
    assignment.finished_at = timezone.now()
    assignment.save(update_fields=["status", "finished_at"])
    WorkItem.objects.filter(pk=example_id, round=assignment.round).update(**one_less_live())
