"""Full-text search over examples' content, on PostgreSQL: a GIN index over a tsvector of every string value of the
content, in the 'simple' configuration (annotate/search.py explains the choice; ContentDocument writes the same
expression, so that queries use the index).

An expression index rather than a stored generated column: examples are never updated, so either stays right, and
the index is the cheaper of the two to import into, with nothing stored in the table (bench/README.md, "Search",
has the figures; the column would about triple the table's size).

The expression is wrapped in a function for one reason: to tell the planner what it costs. Computing an example's
tsvector means parsing all its text (a tenth of a millisecond or more for a kilobyte); the built-in function claims
to cost next to nothing, and the planner then prefers to compute it row after row over reading the index. A SQL
function with a SET clause is never inlined, so its COST is what the planner sees.

Built CONCURRENTLY (the migration is not atomic): on a large table the build takes minutes, and imports and
annotation go on meanwhile. SQLite has neither: search falls back to substring matching there.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION annotate_example_document(content jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 5000 SET search_path = pg_catalog
    AS $$ SELECT jsonb_to_tsvector('simple'::regconfig, content, '["string"]'::jsonb) $$
"""
INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS example_content_search_idx ON annotate_example "
    "USING gin (annotate_example_document(content))"
)
DROP = [
    "DROP INDEX CONCURRENTLY IF EXISTS example_content_search_idx",
    "DROP FUNCTION IF EXISTS annotate_example_document(jsonb)",
]


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("annotate", "0011_queue_limited_to_a_version")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
