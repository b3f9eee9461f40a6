import django.db.models.deletion
from django.db import migrations, models


def compress_with_lz4(apps, schema_editor):
    """Store large example content with lz4 where the server supports it: far cheaper to write than pglz."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    if row and row[0]:
        schema_editor.execute(
            "ALTER TABLE annotate_example ALTER COLUMN content SET COMPRESSION lz4, "
            "ALTER COLUMN metadata SET COMPRESSION lz4"
        )


class Migration(migrations.Migration):
    dependencies = [("annotate", "0002_example_immutable_trigger")]

    operations = [
        migrations.AlterField(
            model_name="example",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="examples",
                to="annotate.project",
            ),
        ),
        migrations.RunPython(compress_with_lz4, migrations.RunPython.noop),
    ]
