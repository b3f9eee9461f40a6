"""Full-text search over examples' content, on PostgreSQL: a GIN index over a tsvector of every string value of the
content, in the 'simple' configuration (annotate/search.py explains the choice; ContentDocument writes the same
expression, so that queries use the index). And an index of each project's examples in id order, which the
examples browser reads in windows and intersects the search index with (annotate/browse.py).

An expression index rather than a stored generated column: examples are never updated, so either stays right, and
the index is the cheaper of the two to import into, with nothing stored in the table (bench/README.md, "Search",
has the figures; the column would about triple the table's size).

The expression is wrapped in a function for one reason: to tell the planner what it costs. Computing an example's
tsvector means parsing all its text (a tenth of a millisecond or more for a kilobyte); the built-in function claims
to cost next to nothing, and the planner then prefers to compute it row after row over reading the index. A SQL
function with a SET clause is never inlined, so its COST is what the planner sees.

Both are built CONCURRENTLY (the migration is not atomic): on a large table the build takes minutes, and imports
and annotation go on meanwhile. SQLite has no search index (search falls back to substring matching there).
"""

from django.db import migrations, models

FUNCTION = """
CREATE OR REPLACE FUNCTION annotate_example_document(content jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 5000 SET search_path = pg_catalog
    AS $$ SELECT jsonb_to_tsvector('simple'::regconfig, content, '["string"]'::jsonb) $$
"""
SEARCH_INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS example_content_search_idx ON annotate_example "
    "USING gin (annotate_example_document(content))"
)
PROJECT_INDEX = "CREATE INDEX {concurrently} IF NOT EXISTS example_project_id_idx ON annotate_example (project_id, id)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PROJECT_INDEX.format(concurrently="CONCURRENTLY"))
        schema_editor.execute(FUNCTION)
        schema_editor.execute(SEARCH_INDEX)
    else:
        schema_editor.execute(PROJECT_INDEX.format(concurrently=""))


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS example_content_search_idx")
        schema_editor.execute("DROP FUNCTION IF EXISTS annotate_example_document(jsonb)")
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS example_project_id_idx")
    else:
        schema_editor.execute("DROP INDEX IF EXISTS example_project_id_idx")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("annotate", "0012_question_help_guideline_note")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="example",
                    index=models.Index(fields=["project", "id"], name="example_project_id_idx"),
                ),
            ],
            database_operations=[migrations.RunPython(create, drop, elidable=False)],
        ),
    ]
