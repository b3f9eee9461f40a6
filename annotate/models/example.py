"""Examples: imported records, immutable once in."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Now

from annotate.models.project import Project
from annotate.shapes import shape_of


class ExampleQuerySet(models.QuerySet["Example"]):
    def for_project(self, project: Project) -> ExampleQuerySet:
        return self.filter(project=project)

    def update(self, **kwargs: Any) -> int:
        raise TypeError("Examples are immutable: curation steps write derived content into a dataset version.")


class Example(models.Model):
    """One imported record. Immutable: the database refuses updates (see migration 0002)."""

    # No index of its own: (project, id) below serves lookups by project, and reads them in import order.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="examples", db_index=False)
    external_id = models.CharField(max_length=255)
    content = models.JSONField()
    metadata = models.JSONField(default=dict, blank=True)
    # Not indexed: exact dedup groups a whole version by hash in one pass, and an index of random hashes would
    # make every bulk import pay a random write per row (about a fifth of a million-row import's time).
    content_hash = models.CharField(max_length=64, help_text="sha256 of the content's canonical JSON")
    created_at = models.DateTimeField(db_default=Now())

    objects = ExampleQuerySet.as_manager()

    class Meta:
        # By the columns themselves: ordering by "project" would join the project table into every query.
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="example_unique_project_external_id"),
        ]
        indexes = [
            # A project's examples in id order: the examples browser's pages and its windows of ids (annotate/
            # browse.py), which the search index is intersected with. Ids only grow, so an import appends to it.
            # Built concurrently by migration 0013.
            models.Index(fields=["project", "id"], name="example_project_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.external_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("Examples are immutable once imported.")
        super().save(*args, **kwargs)

    @property
    def shape(self) -> str:
        return shape_of(self.content)


class ExampleFingerprint(models.Model):
    """An example's content, normalised (NFKC, case folded, spaces collapsed) and hashed: examples that differ only
    in case or spacing share it. Computed once, the first time the example is compared (the content never
    changes), rather than at import, where a million examples would pay seconds for it whether compared or not."""

    example = models.OneToOneField(Example, on_delete=models.CASCADE, primary_key=True, related_name="+")
    normalized_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.example_id}:{self.normalized_hash[:12]}"


class ExampleSearch(models.Model):
    """An example's words as full-text search reads them (annotate/search.py): every string value of its content as
    a tsvector in the ``simple`` configuration, computed by the SQL function ``annotate_example_document``
    (migration 0013), under a GIN index. PostgreSQL only: SQLite searches the content itself and leaves this empty.

    Written by a background job once the import has committed (curation/services/search_index.py), never by the
    import: computing each record's tsvector and adding its words to the index made an import about six times as
    slow (bench/README.md). Until its job has run, an example is not found by a search, and the examples page and
    API say how many are waiting. Examples never change, so a row never needs writing twice.

    No foreign-key constraints in the database, as for VersionMember: checking one locks the example's row, so
    indexing a million examples would write every example row again. Rows are written only by the index job, from
    examples it reads in the same statement; deleting an example deletes its row through Django's on_delete (the
    project's examples are deleted with the project, and take their rows with them). A row left behind by a raw
    delete, or by a project deleted while its index job ran, is harmless: search only ever returns ids of the
    project's examples that still exist.
    """

    example = models.OneToOneField(
        Example, primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    # The example's project, so that a search reads this table alone; deleted through the examples, not from here.
    project = models.ForeignKey(
        Project, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    document = SearchVectorField()

    class Meta:
        indexes = [GinIndex(fields=["document"], name="example_search_document_idx")]

    def __str__(self) -> str:
        return f"words of example {self.example_id}"
