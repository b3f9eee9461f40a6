"""The database itself refuses to change an imported example: raw data is immutable."""

from django.db import migrations

POSTGRES_UP = """
CREATE FUNCTION annotate_example_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'examples are immutable: curation writes derived content into a dataset version';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER annotate_example_no_update BEFORE UPDATE ON annotate_example
    FOR EACH ROW EXECUTE FUNCTION annotate_example_immutable();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS annotate_example_no_update ON annotate_example;
DROP FUNCTION IF EXISTS annotate_example_immutable();
"""
SQLITE_UP = """
CREATE TRIGGER annotate_example_no_update BEFORE UPDATE ON annotate_example
BEGIN
    SELECT RAISE(ABORT, 'examples are immutable: curation writes derived content into a dataset version');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS annotate_example_no_update;"


def forwards(apps, schema_editor):
    sql = POSTGRES_UP if schema_editor.connection.vendor == "postgresql" else SQLITE_UP
    schema_editor.execute(sql)


def backwards(apps, schema_editor):
    sql = POSTGRES_DOWN if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN
    schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("annotate", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
