from django.db import migrations


def rescore_ordered_questions(apps, schema_editor):
    # Ordered questions' stored disagreement changed from the spread of the answers to the item's share of
    # Krippendorff's observed disagreement (the quantity alpha sums); nominal and ranking scores are unchanged.
    # The service, not the historical models, so the scores are computed exactly as the running code does.
    from annotate.models import Project
    from annotate.services.summaries import summaries_rebuild

    # Only the id column is read: later migrations add columns the running model has and this schema lacks.
    ordered = Project.objects.filter(questions__level__in=["ordinal", "interval", "ratio"]).distinct().only("pk")
    for project in ordered:
        summaries_rebuild(project=project)


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0008_order_by_foreign_key_columns"),
    ]

    operations = [migrations.RunPython(rescore_ordered_questions, migrations.RunPython.noop)]
