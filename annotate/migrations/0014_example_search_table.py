"""Full-text search moves from an expression index on the examples to a table of its own (ExampleSearch), which a
background job fills after each import (curation/services/search_index.py): computing a record's tsvector and
adding its words to the index inside the import's transaction made imports about six times as slow.

On PostgreSQL the table is filled here from the examples already imported, in batches of ids, each its own
statement (the migration is not atomic: nothing holds a lock for long, and a migration that stops part way goes on
where it stopped when run again). Then the GIN index is built on the filled table, which is faster than growing it
row by row, concurrently; then the expression index of migration 0013 is dropped, concurrently. The function
``annotate_example_document`` stays: the index job computes each example's document with it.

On a large table this takes a while (for a million examples of about 1.7 KB, some five minutes of filling, as
long as the index job takes for them, then the index build), and search goes on meanwhile on the old index. Examples imported while it runs, by
workers still on the previous release, may be left out of the table: ``manage.py search_index`` indexes whatever
a project is missing.

SQLite gets the (empty) table and nothing else: search there matches the content itself.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

BATCH = 20_000
FILL_SQL = """
INSERT INTO annotate_examplesearch (example_id, project_id, document)
SELECT e.id, e.project_id, annotate_example_document(e.content)
FROM annotate_example e
WHERE e.id BETWEEN %s AND %s AND NOT EXISTS (SELECT 1 FROM annotate_examplesearch s WHERE s.example_id = e.id)
ON CONFLICT DO NOTHING
"""
DOCUMENT_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS example_search_document_idx ON annotate_examplesearch "
    "USING gin (document)"
)
OLD_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS example_content_search_idx ON annotate_example "
    "USING gin (annotate_example_document(content))"
)


def fill(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM annotate_example")
        low, high = cursor.fetchone()
        if low is not None:
            for first in range(low, high + 1, BATCH):
                cursor.execute(FILL_SQL, [first, min(first + BATCH - 1, high)])
            cursor.execute("ANALYZE annotate_examplesearch")
    schema_editor.execute(DOCUMENT_INDEX)
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS example_content_search_idx")


def unfill(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(OLD_INDEX)
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS example_search_document_idx")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("annotate", "0013_example_search_index")]

    operations = [
        migrations.CreateModel(
            name="ExampleSearch",
            fields=[
                (
                    "example",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="annotate.example",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField()),
                (
                    "project",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="annotate.project",
                    ),
                ),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="examplesearch",
                    index=django.contrib.postgres.indexes.GinIndex(
                        fields=["document"], name="example_search_document_idx"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(fill, unfill, elidable=False)],
        ),
    ]
