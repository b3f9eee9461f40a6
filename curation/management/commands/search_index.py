"""``manage.py search_index``: queue the search index job again, for a job that did not finish
(``--job ID``: cancelled, or failed because its worker stopped twice) or for a whole project (``--project ID``:
whatever of it is not indexed yet, e.g. examples imported while migration 0014 ran). Examples already indexed are
skipped. A worker runs the job; its page shows how far it got.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from annotate.models import Project
from curation.models import Job
from curation.services.search_index import search_index_project, search_index_rerun


class Command(BaseCommand):
    help = "Queue the search index job of an unfinished index job (--job) or of a whole project (--project)."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--job", type=int, help="a search index job that was cancelled or failed")
        which.add_argument("--project", type=int, help="a project: every example of it not indexed yet")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Only PostgreSQL has a search index; SQLite searches the content itself.")
        if options["job"] is not None:
            job = Job.objects.filter(pk=options["job"], kind=Job.Kind.SEARCH_INDEX).first()
            if job is None:
                raise CommandError(f"No search index job {options['job']}.")
            if not job.is_finished:
                raise CommandError(f"Job {job.pk} is still {job.status}; a worker will finish it.")
            queued = search_index_rerun(job=job)
        else:
            project = Project.objects.filter(pk=options["project"]).first()
            if project is None:
                raise CommandError(f"No project {options['project']}.")
            queued = search_index_project(project=project)
        if queued is None:
            self.stdout.write("Nothing to index.")
        else:
            self.stdout.write(f"Queued search index job {queued.pk} for {queued.params['examples']:,} examples.")
