"""Items carry their text in search form (core.vietnamese.search_key) for the dataset view's search.

Existing items are filled in batches; on PostgreSQL a trigram GIN index (pg_trgm, a trusted extension a
database owner may create) serves ``search_text LIKE '%...%'``; SQLite scans, which the demo's sizes allow.
"""
from django.db import migrations, models

from core.vietnamese import searchable_text


def fill_search_text(apps, schema_editor):
    Item = apps.get_model("tasks", "Item")
    last = 0
    while True:
        batch = list(Item.objects.filter(pk__gt=last).order_by("pk").only("pk", "payload", "external_id")[:2000])
        if not batch:
            break
        for item in batch:
            item.search_text = searchable_text([item.external_id, item.payload])
        Item.objects.bulk_update(batch, ["search_text"])
        last = batch[-1].pk


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS item_search_trgm_idx ON tasks_item "
                          "USING gin (search_text gin_trgm_ops)")


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS item_search_trgm_idx")


class Migration(migrations.Migration):

    dependencies = [
        ("tasks", "0008_verbose_names_plural"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(trigram_index, drop_trigram_index),
    ]
