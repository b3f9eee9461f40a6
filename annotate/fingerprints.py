"""Examples' normalised fingerprints (models.ExampleFingerprint): read where stored, computed and stored where not.

The normalisation is the one text answers are compared by (annotate.quality.concordance.normalise_text: NFKC,
case folded, runs of white space as one space), applied to the content's JSON text.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

from annotate import labels
from annotate.models import Example, ExampleFingerprint, Project
from annotate.quality.concordance import normalise_text

BATCH = 5_000


def fingerprint(content_text: str) -> str:
    return hashlib.sha256(normalise_text(content_text).encode()).hexdigest()


def normalized_hashes(project: Project, example_ids: npt.NDArray[np.int64]) -> dict[int, str]:
    """The fingerprints of these examples of the project, computing (and storing) those not yet known. The
    project's stored fingerprints are read in one pass (a list of a hundred thousand ids costs more than it saves);
    computing one takes ~20 µs, once per example ever."""
    wanted = np.unique(example_ids).tolist()
    stored = ExampleFingerprint.objects.filter(example__project=project).values_list("example_id", "normalized_hash")
    known: dict[int, str] = {}
    for batch in labels.raw_chunks(stored):
        known.update(batch)
    found = {example_id: known[example_id] for example_id in wanted if example_id in known}
    missing = [example_id for example_id in wanted if example_id not in found]
    for start in range(0, len(missing), BATCH):
        # The JSON text as the driver gives it (canonical on PostgreSQL), not a dict made and dumped again.
        contents = Example.objects.filter(pk__in=missing[start : start + BATCH]).values_list("pk", "content")
        fresh = {
            pk: fingerprint(content if isinstance(content, str) else str(content))
            for batch in labels.raw_chunks(contents, server_side=False)
            for pk, content in batch
        }
        ExampleFingerprint.objects.bulk_create(
            [ExampleFingerprint(example_id=pk, normalized_hash=value) for pk, value in fresh.items()],
            ignore_conflicts=True,  # another request may have stored the same fingerprint meanwhile
        )
        found.update(fresh)
    return found
