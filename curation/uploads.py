"""Where uploaded import files live between the request that stores them and the job that reads them.

Every stored file belongs to a job: it is named in ``job.params["path"]`` and removed when the job ends, however
it ends (succeeded, failed, cancelled, or failed by the reaper), but kept while a retry is pending. A file whose
job never came to exist (the request failed after storing it) is removed by ``uploads_sweep``.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from curation.models import Job

logger = logging.getLogger(__name__)
# A file younger than this may belong to a request still storing it, or to a job not yet committed.
ORPHAN_GRACE_SECONDS = 15 * 60


def upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def new_upload_path(suffix: str) -> Path:
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{uuid.uuid4().hex}{suffix}"


def upload_path(job: Job) -> Path | None:
    name = (job.params or {}).get("path")
    # Only a bare file name is ever stored; anything else is not a path this module made.
    if not isinstance(name, str) or not name or Path(name).name != name:
        return None
    return upload_dir() / name


def discard_upload(job: Job) -> None:
    """Remove the job's uploaded file, if it still has one."""
    path = upload_path(job)
    if path is not None:
        path.unlink(missing_ok=True)


def stored_uploads() -> list[Path]:
    directory = upload_dir()
    if not directory.is_dir():
        return []
    return [path for path in directory.iterdir() if path.is_file()]
