"""What a version's step saw: the content of examples as the step read it, for the pages that show why an example
was removed (a duplicate beside the example it duplicates, the text a filter measured).

A step reads the parent version's content (or the example's own), changed by the version's earlier steps that
rewrite content (clean, PII redaction). Those steps are deterministic, so their changes are replayed here on the
few examples a page shows, as the runner replays them for its later phases.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from curation.models import DatasetVersion
from curation.pipeline import chunks, store
from curation.pipeline.plan import StepError, compile_plan, validate_steps


def contents_before_step(version: DatasetVersion, step: int, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The content of each example as step ``step`` (from 0) of ``version`` read it, by example id."""
    wanted = np.unique(np.fromiter(ids, dtype=np.int64))
    records, _ = store.read_records(wanted, parent=version.parent_id)
    try:
        earlier = validate_steps(version.steps[:step])
    except StepError:
        earlier = []  # steps this installation can no longer run (an optional extra removed): shown unchanged
    parts = [part for phase in compile_plan(earlier).phases for part in phase.record_parts if part.transforms]
    return {record["id"]: record["content"] for record in chunks.replay(records, parts)}


def contents_in(version_id: int | None, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The content of each example as a version keeps it (its own, or the version's cleaned content); with no
    version, the example's own."""
    records, _ = store.read_records(np.unique(np.fromiter(ids, dtype=np.int64)), parent=version_id)
    return {record["id"]: record["content"] for record in records}
