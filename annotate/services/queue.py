"""The annotation queue: handing examples to annotators, k-fold and blind, and taking them back.

Every change to WorkItem and Assignment rows is made here. Guarantees, held by the database under any number of
concurrent requests:
- no example is held or done by more than its target number of annotators in a round (the WorkItem row lock,
  and ``live <= target`` as a constraint);
- no annotator gets the same example twice in a round, nor ever again after skipping it;
- an annotator holds at most one example of a project at a time (a partial unique index).

Lock order. Every transaction here takes its row locks in this order, so no two of them can wait on each other
in a cycle (PostgreSQL's "deadlock detected"):

    Project (FOR NO KEY UPDATE, membership changes only)
    → Membership (KEY SHARE by claims and answers, so that a removal waits for them and they for it)
    → WorkItem (FOR UPDATE; several always in primary-key order)
    → that example's Assignments → its Annotations, Resolutions and label summaries.

A claim never waits on a WorkItem lock (SKIP LOCKED): annotators never queue behind each other. SQLite runs one
write transaction at a time (IMMEDIATE), which gives the same results.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from annotate.models import Assignment, Example, Membership, Project, WorkItem
from annotate.models.project import CURRENT_GUIDELINE_VERSION_SQL
from annotate.services.errors import NotAssigned, ServiceError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# How often a claim looks again when every example left for the annotator is being claimed by others.
CLAIM_ATTEMPTS = 20
# Work items locked per statement by lock_items_by_id.
LOCK_CHUNK = 10_000
# Knuth's multiplicative hash: a fixed, well-spread pseudo-random order of example ids.
SHUFFLE_SQL = "(e.id * 2654435761) %% 2147483647"


class NoLongerMember(ServiceError):
    """The user was removed from the project while their request was on its way."""

    def __init__(self) -> None:
        super().__init__("No such project.", code="not_found")


# Putting examples in the queue -------------------------------------------------------------------------------


# Knuth's multiplier and modulus of SHUFFLE_SQL, for the rows the queue makes from ids alone (work_items_copy).
SHUFFLE_MULTIPLIER, SHUFFLE_MODULUS = 2654435761, 2147483647
# A work item in PostgreSQL's binary COPY format, as numpy lays it out: the field count, then each field's length
# and value, in the order of WORK_ITEMS_COPY_SQL's columns. Big-endian throughout, as the format wants.
_WORK_ITEM_ROW = np.dtype(
    [("fields", ">i2")]
    + [
        item
        for name, kind in (
            ("example_id", ">i8"),
            ("shuffle", ">i8"),
            ("project_id", ">i8"),
            ("round", ">i4"),
            ("target", ">i4"),
            ("extra", ">i4"),
            ("live", ">i4"),
            ("done", ">i4"),
            ("open", "u1"),
            ("in_scope", "u1"),
        )
        for item in ((f"{name}_length", ">i4"), (name, kind))
    ]
)
WORK_ITEMS_COPY_SQL = (
    "COPY annotate_workitem (example_id, shuffle, project_id, round, target, extra, live, done, open, in_scope) "
    "FROM STDIN (FORMAT binary)"
)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_COPY_TRAILER = b"\xff\xff"


def work_items_create(*, project: Project, id_ranges: Sequence[tuple[int, int]] | None = None) -> int:
    """Put the project's examples that are not in the queue yet into it (called by import, in its transaction).

    ``id_ranges`` (PostgreSQL): the caller has just written exactly the examples with these ids (inclusive
    ranges), none of them queued yet, so their rows are made from the ids alone, reading neither table
    (``work_items_copy``). A bulk import's next statement must not depend on table statistics the import itself
    has just made stale: an anti-join over a million rows planned on them can take minutes instead of seconds.
    """
    # While the queue is limited to a dataset version, new examples (in no version yet) wait outside it.
    limited = Project.objects.filter(pk=project.pk, queue_version__isnull=False).exists()
    if id_ranges is not None:
        return work_items_copy(project=project, id_ranges=id_ranges, in_scope=not limited)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO annotate_workitem (example_id, project_id, round, target, extra, live, done, open, in_scope, "
            f"shuffle) SELECT e.id, e.project_id, 1, %s, 0, 0, 0, %s, %s, {SHUFFLE_SQL} FROM annotate_example e "
            "WHERE e.project_id = %s AND NOT EXISTS (SELECT 1 FROM annotate_workitem w WHERE w.example_id = e.id)",
            [project.overlap, True, not limited, project.pk],
        )
        inserted: int = cursor.rowcount
        return inserted


def work_items_copy(*, project: Project, id_ranges: Sequence[tuple[int, int]], in_scope: bool) -> int:
    """Write the work items of the examples with these ids (inclusive ranges) with one binary COPY; return how
    many (PostgreSQL).

    Why not INSERT … SELECT from generate_series: at a million rows COPY took 4.6 s of the server's time against
    6.2–8.7 s (it writes a page of rows at a time). numpy lays the rows out, so there is no Python per row.
    """
    if not id_ranges:
        return 0
    ids = np.concatenate([np.arange(first, last + 1, dtype=np.int64) for first, last in id_ranges])
    rows = np.zeros(len(ids), dtype=_WORK_ITEM_ROW)
    rows["fields"] = 10
    for name in ("example_id", "shuffle", "project_id"):
        rows[f"{name}_length"] = 8
    for name in ("round", "target", "extra", "live", "done"):
        rows[f"{name}_length"] = 4
    rows["open_length"] = rows["in_scope_length"] = 1
    rows["example_id"], rows["shuffle"] = ids, ids * SHUFFLE_MULTIPLIER % SHUFFLE_MODULUS  # < 2**63 below 3.4e9
    rows["project_id"], rows["round"], rows["target"] = project.pk, 1, project.overlap
    rows["open"], rows["in_scope"] = 1, int(in_scope)
    data = io.BytesIO(b"".join((_COPY_HEADER, rows.tobytes(), _COPY_TRAILER)))
    with connection.cursor() as cursor:
        cursor.copy_expert(WORK_ITEMS_COPY_SQL, data, size=1 << 20)
    return len(ids)


# The rules the queue's reads share ---------------------------------------------------------------------------


def seen(annotator: User | OuterRef, example: OuterRef | int, round_: OuterRef | F | int) -> QuerySet[Assignment]:
    """The assignments by which an annotator has *seen* an example: had it in this round, or ever skipped it.
    An example they have seen is never handed to them again, nor counted as one they could take."""
    # django-stubs 5.2 checks a lookup's value against a union member by member and rejects the OuterRef
    # (typeddjango/django-stubs#837, fixed in 6.x).
    return Assignment.objects.filter(example_id=example, annotator=annotator).filter(  # type: ignore[misc]
        Q(round=round_) | Q(status=Assignment.Status.SKIPPED)
    )


def answerable() -> QuerySet[Assignment]:
    """Assignments whose annotator's answers the example takes now: held or done in the example's current round,
    or released for idling while nobody took the place, so that late answers still count."""
    return (
        Assignment.objects.filter(round=F("example__work__round"))
        .exclude(status=Assignment.Status.SKIPPED)
        .filter(Q(status__in=Assignment.LIVE) | Q(example__work__live__lt=F("example__work__target")))
    )


def takes_answer(item: WorkItem, assignment: Assignment) -> bool:
    """``answerable`` for one assignment and its example's work item already in hand (and locked): the same rule,
    without a query. tests/annotate/test_queue.py checks that the two agree on every combination."""
    if assignment.round != item.round or assignment.status == Assignment.Status.SKIPPED:
        return False
    return assignment.status in Assignment.LIVE or item.live < item.target


def open_for(*, project: Project, annotator: User) -> QuerySet[WorkItem]:
    """Open examples this annotator has not seen, in the order they are handed out."""
    unseen = ~Exists(seen(annotator, OuterRef("pk"), OuterRef("round")))
    return (
        WorkItem.objects.filter(project=project, open=True, in_scope=True).filter(unseen).order_by("-live", "shuffle")
    )


def could_take(*, project: Project, item: WorkItem) -> int:
    """How many members could still be handed the example this round (one more tie-breaker needs one)."""
    who_saw = seen(OuterRef("user"), item.pk, item.round)
    return Membership.objects.filter(project=project).exclude(Exists(who_saw)).count()


# Locks -------------------------------------------------------------------------------------------------------


def _lock_membership(project: Project, user: User) -> None:
    """Hold the member's row (KEY SHARE) until the transaction ends: a removal of this member waits for it, and
    once they are removed, their claims and answers are refused instead of landing after the removal."""
    if user.is_staff or connection.vendor != "postgresql":
        return  # staff act in every project without a membership; SQLite serialises whole transactions
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM annotate_membership WHERE project_id = %s AND user_id = %s FOR KEY SHARE",
            [project.pk, user.pk],
        )
        if cursor.fetchone() is None:
            raise NoLongerMember()


def lock_items(project: Project, example_ids: Iterable[int]) -> list[WorkItem]:
    """Lock the project's work items of these examples, in primary-key order (waiting for other holders). Writes to
    an example's annotations, resolutions and label summaries take this first, as the lock order says."""
    return list(WorkItem.objects.select_for_update().filter(project=project, pk__in=list(example_ids)).order_by("pk"))


def lock_items_by_id(project: Project, example_ids: Iterable[int]) -> dict[int, WorkItem]:
    """``lock_items`` for any number of examples (a bulk import of labels), by example id: a chunk of ascending
    ids at a time, so that the locks are still taken in primary-key order."""
    ids = sorted(set(example_ids))
    items: dict[int, WorkItem] = {}
    for start in range(0, len(ids), LOCK_CHUNK):
        items.update((item.pk, item) for item in lock_items(project, ids[start : start + LOCK_CHUNK]))
    return items


def _lock_project_items(project: Project) -> None:
    """Lock every work item of the project, in primary-key order, for a change to all of them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT example_id FROM annotate_workitem WHERE project_id = %s ORDER BY example_id FOR UPDATE",
            [project.pk],
        )


# Changes to live and done ------------------------------------------------------------------------------------


def _one_more_live() -> dict[str, Any]:
    """Update fields for a WorkItem that gains a live assignment (SQL sees the old values on the right)."""
    return {
        "live": F("live") + 1,
        "open": Case(When(live__lt=F("target") - 1, then=Value(True)), default=Value(False)),
    }


def _release(items: Iterable[int], *, status: str, also: Q | None = None) -> int:
    """Take back the active assignments of these work items (locked by the caller), each marked ``status``
    (released or skipped), and give each item its places back. ``also`` narrows which assignments."""
    active = Assignment.objects.filter(example_id__in=list(items), status=Assignment.Status.ACTIVE)
    if also is not None:
        active = active.filter(also)
    taken = list(active.select_for_update().values_list("pk", "example_id"))
    if not taken:
        return 0
    Assignment.objects.filter(pk__in=[pk for pk, _ in taken]).update(status=status, finished_at=timezone.now())
    for example_id, count in Counter(example_id for _, example_id in taken).items():
        WorkItem.objects.filter(pk=example_id).update(live=F("live") - count, open=Value(True))
    return len(taken)


# Handing out work --------------------------------------------------------------------------------------------


def release_idle(*, project: Project) -> int:
    """Release assignments held longer than the project allows, so others can take the examples."""
    cutoff = timezone.now() - timedelta(seconds=project.assignment_timeout)
    idle = Assignment.objects.filter(project=project, status=Assignment.Status.ACTIVE, assigned_at__lt=cutoff)
    # Every `next` calls this: one indexed look first, and a transaction only when there is something to release.
    held = list(idle.values_list("example_id", flat=True)[:100])
    if not held:
        return 0
    with transaction.atomic():
        # Items someone else is changing this instant are left for the next look rather than waited for.
        items = WorkItem.objects.select_for_update(skip_locked=True).filter(pk__in=held).order_by("pk")
        locked = list(items.values_list("pk", flat=True))
        return _release(locked, status=Assignment.Status.RELEASED, also=Q(assigned_at__lt=cutoff))


def held_by(*, project: Project, annotator: User) -> Assignment | None:
    # At most one row can match (a partial unique index); unordered, so the planner reads that index instead of
    # walking the primary key in order as `.first()` would ask it to.
    held = (
        Assignment.objects.filter(project=project, annotator=annotator, status=Assignment.Status.ACTIVE)
        .select_related("example")
        .order_by()[:1]
    )
    return next(iter(held), None)


def next_assignment(*, project: Project, annotator: User) -> Assignment | None:
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
        if not open_for(project=project, annotator=annotator).exists():
            return None
        time.sleep(0.005 * (attempt + 1))
    return None


@transaction.atomic
def _claim(*, project: Project, annotator: User) -> Assignment | None:
    _lock_membership(project, annotator)
    # One ordered walk of the claim index, stopping at the first example this annotator has not seen: usually one
    # step. Its cost grows with the examples the annotator has done that still wait for others, which stays small
    # while annotators keep pace.
    item = open_for(project=project, annotator=annotator).select_for_update(skip_locked=True, of=("self",)).first()
    if item is None:
        return None
    assignment = Assignment.objects.create(example_id=item.pk, project=project, annotator=annotator, round=item.round)
    WorkItem.objects.filter(pk=item.pk).update(**_one_more_live())
    assignment.example = Example.objects.get(pk=item.pk)
    return assignment


@transaction.atomic
def skip(*, project: Project, annotator: User, example_id: int) -> None:
    """Give the example back for others; this annotator is never offered it again."""
    lock_items(project, [example_id])
    released = _release([example_id], status=Assignment.Status.SKIPPED, also=Q(annotator=annotator))
    if not released:
        raise NotAssigned("you do not hold this example, so there is nothing to skip")


# Answers -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerSlot:
    """An example locked for one annotator's answer, and their assignment to it this round; with what the answer is
    checked against and stored with, read in the same statement as the lock: the example's content and the
    project's current guideline version (None before the first)."""

    item: WorkItem
    assignment: Assignment
    content: dict[str, Any]
    guideline_version: int | None


# What lock_for_answer reads, in the models' field order (as Model.from_db takes values): all of a WorkItem, and
# an Assignment but its times (which an answer does not read). Numbers and text, which need no conversion from
# what the driver gives (SQLite gives the two booleans as 1 and 0).
ITEM_COLUMNS = tuple(field.column for field in WorkItem._meta.concrete_fields)
ASSIGNMENT_COLUMNS = ("id", "example_id", "project_id", "annotator_id", "round", "status")


def lock_for_answer(*, project: Project, annotator: User, example_id: int) -> AnswerSlot:
    """Lock the example and the annotator's assignment to it (in the queue's lock order) for an answer; raises
    NotAssigned unless the example takes their answer now (``answerable``). Call inside a transaction.

    Plain SQL, as every statement of a submit: run once per answer, they cost less than the ORM takes to build them
    (bench/submit_profile.py). Only the work item is locked, not the example (examples never change)."""
    _lock_membership(project, annotator)
    postgresql = connection.vendor == "postgresql"  # SQLite has no row locks: its write transactions take turns
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'w.{column}' for column in ITEM_COLUMNS)}, e.content, "
            f"({CURRENT_GUIDELINE_VERSION_SQL}) "
            "FROM annotate_workitem w JOIN annotate_example e ON e.id = w.example_id WHERE w.example_id = %s"
            + (" FOR UPDATE OF w" if postgresql else ""),
            [project.pk, example_id],
        )
        row = cursor.fetchone()
        if row is None:
            raise NotAssigned()
        *columns, content, guideline_version = row
        item = WorkItem.from_db(connection.alias, ITEM_COLUMNS, columns)
        if item.project_id != project.pk:
            raise NotAssigned()
        cursor.execute(
            f"SELECT {', '.join(ASSIGNMENT_COLUMNS)} FROM annotate_assignment "
            "WHERE example_id = %s AND annotator_id = %s AND round = %s AND status <> %s"
            + (" FOR UPDATE" if postgresql else ""),
            [example_id, annotator.pk, item.round, Assignment.Status.SKIPPED],
        )
        row = cursor.fetchone()  # at most one: an assignment per example, annotator and round
    if row is None:
        raise NotAssigned()
    assignment = Assignment.from_db(connection.alias, ASSIGNMENT_COLUMNS, row)
    if not takes_answer(item, assignment):
        raise NotAssigned("you held this example too long and it went to someone else; get the next one")
    return AnswerSlot(
        item=item,
        assignment=assignment,
        content=json.loads(content) if isinstance(content, str) else content,
        guideline_version=guideline_version,
    )


def answer_recorded(slot: AnswerSlot) -> int:
    """The annotator's answer is stored: their assignment is done (an edit of a done one changes nothing here).
    Returns how many answers the example has this round, this one included: exact, as the item is locked."""
    assignment = slot.assignment
    if assignment.status == Assignment.Status.SUBMITTED:
        return slot.item.done
    revived = assignment.status == Assignment.Status.RELEASED  # a late answer takes back the free place
    assignment.status = Assignment.Status.SUBMITTED
    assignment.finished_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotate_assignment SET status = %s, finished_at = %s WHERE id = %s",
            [assignment.status, connection.ops.adapt_datetimefield_value(assignment.finished_at), assignment.pk],
        )
        if not revived:
            cursor.execute("UPDATE annotate_workitem SET done = done + 1 WHERE example_id = %s", [slot.item.pk])
    if revived:  # rare: the place it takes back is counted by _one_more_live's rule
        WorkItem.objects.filter(pk=slot.item.pk).update(done=F("done") + 1, **_one_more_live())
    return slot.item.done + 1


def labels_imported(*, project: Project, items: Mapping[int, WorkItem], pairs: Sequence[tuple[int, int]]) -> None:
    """Labels made elsewhere are answers: the annotator of each (example id, annotator id) pair has done that
    example in its current round. Their assignment is made submitted (a held, skipped or released one becomes
    submitted), so the queue never hands them the example again; the example counts it in ``done`` and ``live``,
    and a ``target`` that the labels go past grows to ``live`` (nothing is dropped: a target never falls below
    ``live``, as when the overlap is lowered).

    ``items``: the examples' work items, locked by the caller (``lock_items_by_id``) until the transaction ends,
    so that a large import can come in several calls. No pair may already have an annotation.
    """
    if not pairs:
        return
    now = timezone.now()
    example_ids = sorted({example_id for example_id, _ in pairs})
    wanted = set(pairs)
    earlier = Assignment.objects.filter(example_id__in=example_ids, annotator_id__in={a for _, a in pairs})
    found = {
        (example_id, annotator_id): (pk, status)
        for pk, example_id, annotator_id, round_, status in earlier.values_list(
            "pk", "example_id", "annotator_id", "round", "status"
        )
        if (example_id, annotator_id) in wanted and round_ == items[example_id].round
    }
    new: list[Assignment] = []
    revived: list[int] = []
    live: Counter[int] = Counter()
    done: Counter[int] = Counter()
    for example_id, annotator_id in pairs:
        pk, status = found.get((example_id, annotator_id), (None, None))
        if status == Assignment.Status.SUBMITTED:
            continue  # counted already
        if pk is None:
            new.append(
                Assignment(
                    example_id=example_id,
                    project=project,
                    annotator_id=annotator_id,
                    round=items[example_id].round,
                    status=Assignment.Status.SUBMITTED,
                    finished_at=now,
                )
            )
        else:
            revived.append(pk)
        live[example_id] += status not in Assignment.LIVE  # a held one is live already
        done[example_id] += 1
    Assignment.objects.bulk_create(new, batch_size=5_000)
    Assignment.objects.filter(pk__in=revived).update(status=Assignment.Status.SUBMITTED, finished_at=now)
    # One UPDATE per distinct change, not per example: an import has few (a label or three more per example).
    by_change: dict[tuple[int, int], list[int]] = {}
    for example_id in done:
        by_change.setdefault((live[example_id], done[example_id]), []).append(example_id)
    for (more_live, more_done), changed in by_change.items():
        new_live = F("live") + more_live  # SQL reads the row's old values on the right of every SET
        WorkItem.objects.filter(pk__in=changed).update(
            live=new_live,
            done=F("done") + more_done,
            target=Greatest("target", new_live),
            open=Case(When(target__gt=new_live, then=Value(True)), default=Value(False)),
        )


def annotation_editable(*, example_id: int, annotator_id: int) -> bool:
    """Whether the example takes this annotator's changed answers now (the rule ``lock_for_answer`` enforces)."""
    return answerable().filter(example_id=example_id, annotator_id=annotator_id).exists()


# Changes reviewers and managers make -------------------------------------------------------------------------


def member_released(*, project: Project, user: User) -> int:
    """A member leaves (the caller deletes the membership in the same transaction): what they hold goes back to
    the queue at once rather than at the idle timeout."""
    held = Assignment.objects.filter(project=project, annotator=user, status=Assignment.Status.ACTIVE)
    items = lock_items(project, held.values_list("example_id", flat=True))
    return _release([item.pk for item in items], status=Assignment.Status.RELEASED, also=Q(annotator=user))


def questions_changing(*, project: Project) -> None:
    """Lock every work item of the project while its questions change: an answer is checked against the questions
    after its work item is locked, so none is checked against the old ones and stored under the new ones."""
    _lock_project_items(project)


def overlap_changed(*, project: Project, overlap: int) -> int:
    """Apply a project's new overlap to every example in the queue. An example already handed to more
    annotators than the new overlap keeps them (its target never drops below ``live``)."""
    _lock_project_items(project)
    target = Value(overlap) + F("extra")
    return WorkItem.objects.filter(project=project).update(
        target=Case(When(live__gt=target, then=F("live")), default=target),
        open=Case(When(live__lt=target, then=Value(True)), default=Value(False)),
    )


def tiebreak(*, project: Project, example_ids: list[int]) -> int:
    """Offer each example to one more annotator beyond the overlap. Refused, for all of them, when an example
    has no member left who could take it."""
    items = lock_items(project, example_ids)
    for item in items:
        if could_take(project=project, item=item) == 0:
            raise ServiceError(
                f"example {item.pk} has no member left who has not labelled or skipped it; add an annotator first",
                field="examples",
                code="conflict",
            )
    return WorkItem.objects.filter(pk__in=[item.pk for item in items]).update(
        extra=F("extra") + 1, target=F("target") + 1, open=Value(True)
    )


def reopen(*, project: Project, example_ids: list[int]) -> list[int]:
    """Start a new round for each example: examples in hand are taken back, and each needs ``overlap`` fresh
    annotations (anyone may take it, its earlier annotators too; earlier tie-breakers are dropped). Returns the
    ids of the examples reopened, whose items are locked until the caller's transaction ends."""
    items = lock_items(project, example_ids)
    ids = [item.pk for item in items]
    _release(ids, status=Assignment.Status.RELEASED)
    WorkItem.objects.filter(pk__in=ids).update(
        round=F("round") + 1, live=0, done=0, extra=0, target=project.overlap, open=Value(True)
    )
    return ids


# Limiting the queue to a dataset version -------------------------------------------------------------------------


@transaction.atomic
def queue_limit(*, project: Project, example_ids: Iterable[int] | None, version: int | None, label: str = "") -> int:
    """Hand out only these examples (a dataset version's, named ``version``/``label``), or all again (None).

    Nothing else about the queue changes: examples already held or answered keep their assignments and answers,
    and lifting the limit puts the others back where they were. Returns how many examples the queue now offers
    from. Only WorkItem rows are updated (never waited on by a claim, which skips locked rows)."""
    items = WorkItem.objects.filter(project=project)
    if example_ids is None:
        items.filter(in_scope=False).update(in_scope=True)
        Project.objects.filter(pk=project.pk).update(queue_version=None, queue_version_label="")
        return items.count()
    ids = sorted({int(pk) for pk in example_ids})
    items.filter(in_scope=True).update(in_scope=False)
    for start in range(0, len(ids), LOCK_CHUNK):
        items.filter(pk__in=ids[start : start + LOCK_CHUNK]).update(in_scope=True)
    Project.objects.filter(pk=project.pk).update(queue_version=version, queue_version_label=label[:220])
    return items.filter(in_scope=True).count()
