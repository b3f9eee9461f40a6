"""Chunks of a pipeline phase: splitting the input, claiming a chunk, running it, and recording its outcome.

A chunk's outcome (its removals, and either its group keys or the version's members) and its ``done`` mark are
written in one transaction, conditional on the claim still being this worker's: a chunk is either done once or
not at all, whichever worker ran it and however many times it was handed out.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from curation.models import PipelineChunk
from curation.pipeline import store
from curation.pipeline.plan import Plan, RecordPart
from curation.steps import decontaminate
from curation.steps.base import Dropped, Record

logger = logging.getLogger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"


class ChunkLost(Exception):
    """The chunk was handed to another worker (or its run ended) while this one ran it."""


@dataclass
class RunContext:
    """What every chunk of a run needs to know, rebuilt from the job's parameters by whichever worker runs it."""

    job_id: int
    project_id: int
    version_id: int
    parent: int | None
    plan: Plan
    # Filled lazily in each worker: eval indexes by (version, ngram, fields).
    eval_indexes: dict[tuple[Any, ...], Any] = field(default_factory=dict)


def split(job_id: int, phase: int, ids: np.ndarray, *, size: int) -> int:
    """Make the phase's chunks: consecutive slices of the ascending ``ids``."""
    chunks = [
        PipelineChunk(
            job_id=job_id,
            phase=phase,
            index=index,
            ids=ids[start : start + size].astype("<i8").tobytes(),
            size=len(ids[start : start + size]),
        )
        for index, start in enumerate(range(0, len(ids), size))
    ]
    PipelineChunk.objects.bulk_create(chunks, batch_size=500)
    return len(chunks)


def claim(job_id: int, phase: int) -> PipelineChunk | None:
    """Take the next pending chunk of the phase for this worker, or None when none is pending."""
    while True:
        pk = (
            PipelineChunk.objects.filter(job_id=job_id, phase=phase, status=PipelineChunk.Status.PENDING)
            .order_by("index")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        claimed = PipelineChunk.objects.filter(pk=pk, status=PipelineChunk.Status.PENDING).update(
            status=PipelineChunk.Status.RUNNING,
            token=F("token") + 1,
            worker=WORKER,
            claimed_at=timezone.now(),
        )
        if claimed:
            return PipelineChunk.objects.get(pk=pk)
        # Another worker took it between the two statements: try the next one.


def give_back(chunk: PipelineChunk) -> None:
    """Put a chunk this worker could not finish back for another (or the runner) to take."""
    PipelineChunk.objects.filter(pk=chunk.pk, token=chunk.token, status=PipelineChunk.Status.RUNNING).update(
        status=PipelineChunk.Status.PENDING
    )


def release_stale(job_id: int, phase: int, *, older_than: float) -> int:
    """Hand out again the chunks claimed longer ago than ``older_than`` seconds: their worker most likely died."""
    before = timezone.now() - timedelta(seconds=older_than)
    return PipelineChunk.objects.filter(
        job_id=job_id, phase=phase, status=PipelineChunk.Status.RUNNING, claimed_at__lt=before
    ).update(status=PipelineChunk.Status.PENDING)


def _eval_index(run: RunContext, part: RecordPart) -> Any:
    """The n-gram index of the eval version a decontaminate step compares against, built once per worker (a
    version never changes, so it can be kept)."""
    fields = part.options.get("fields")
    key = (part.eval_version, part.options["ngram"], tuple(fields) if fields else None)
    if key not in run.eval_indexes:
        assert part.eval_version is not None
        ids = store.input_ids(project_id=run.project_id, parent=part.eval_version)
        records = [record for batch in store.read_in_batches(ids, parent=part.eval_version) for record in batch]
        run.eval_indexes[key] = decontaminate.build_index(records, part.options["ngram"], fields)
    return run.eval_indexes[key]


def _context(run: RunContext, part: RecordPart, ids: np.ndarray) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if part.label_questions:
        from annotate import gold

        context["labels"] = gold.label_context(run.project_id, sorted(part.label_questions), ids)
    if part.eval_version is not None:
        context["eval_index"] = _eval_index(run, part)
    return context


def replay(records: list[Record], parts: list[RecordPart]) -> list[Record]:
    """Apply again the content changes of earlier phases (their removals are already out of the input)."""
    for part in parts:
        records = part.apply(records, part.options, {}).kept
    return records


def add_stats(stats: dict[str, Any], step: int, **values: Any) -> None:
    entry = stats.setdefault(str(step), {})
    for name, value in values.items():
        if isinstance(value, dict):
            counters = entry.setdefault(name, {})
            for key, count in value.items():
                counters[key] = counters.get(key, 0) + count
        else:
            entry[name] = entry.get(name, 0) + value


def process(chunk: PipelineChunk, run: RunContext) -> None:
    """Run the chunk's phase on its records and record the outcome (see the module's docstring)."""
    plan = run.plan
    phase = plan.phases[chunk.phase]
    ids = np.frombuffer(bytes(chunk.ids), dtype="<i8")
    records, derived = store.read_records(ids, parent=run.parent)
    as_read = {record["id"]: record["content"] for record in records}
    records = replay(records, plan.replayed_before(chunk.phase))
    stats: dict[str, Any] = {}
    removals: list[tuple[int, list[Dropped]]] = []
    for part in phase.record_parts:
        started = time.perf_counter()
        out = part.apply(records, part.options, _context(run, part, ids))
        add_stats(
            stats,
            part.step,
            input=len(records),
            output=len(out.kept),
            changed=out.changed,
            seconds=time.perf_counter() - started,
            counters=out.stats,
        )
        removals.append((part.step, out.dropped))
        records = out.kept
    for record in records:
        content = record["content"]
        if content is not as_read[record["id"]] and content != as_read[record["id"]]:
            derived.add(record["id"])
    output = None
    if phase.group is not None:
        started = time.perf_counter()
        keys = phase.group.keys(records, phase.group.options)
        add_stats(stats, phase.group.step, input=len(records), seconds=time.perf_counter() - started)
        buffer = io.BytesIO()
        np.savez(buffer, **keys)  # type: ignore[arg-type]
        output = buffer.getvalue()
    with transaction.atomic():
        # The done mark first: it locks the chunk's row until commit, so that of two workers holding the same
        # chunk (one thought dead and handed out again) only the one whose claim is current writes anything.
        done = PipelineChunk.objects.filter(pk=chunk.pk, token=chunk.token, status=PipelineChunk.Status.RUNNING).update(
            status=PipelineChunk.Status.DONE, output=output, stats=stats
        )
        if not done:
            raise ChunkLost(f"chunk {chunk.index} of phase {chunk.phase} was handed to another worker")
        for step, dropped in removals:
            store.write_removals(run.version_id, step, dropped)
        if phase.group is None:
            store.write_members(run.version_id, records, derived)


def load_keys(job_id: int, phase: int) -> dict[str, np.ndarray]:
    """The group keys of every chunk of the phase, concatenated in input order."""
    parts: dict[str, list[np.ndarray]] = {}
    rows = PipelineChunk.objects.filter(job_id=job_id, phase=phase).order_by("index").values_list("output", flat=True)
    for output in rows.iterator(chunk_size=20):
        if output is None:
            continue
        with np.load(io.BytesIO(bytes(output))) as keys:
            for name in keys.files:
                parts.setdefault(name, []).append(keys[name])
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}
