"""TrustScore.open_flags: the authenticity app's count of open flags, kept on the trust row so the contributors
app computes trust without reading the authenticity app's tables (the layer order)."""
from django.db import migrations, models


def count_open_flags(apps, schema_editor):
    TrustScore = apps.get_model("contributors", "TrustScore")
    AuthenticityScore = apps.get_model("authenticity", "AuthenticityScore")
    rows = (AuthenticityScore.objects.filter(flagged=True).exclude(review_decision="human")
            .values_list("contributor_id", "campaign__task_type"))
    counts: dict[tuple[int, str], int] = {}
    for user_id, task_type in rows.iterator(chunk_size=5000):
        counts[(user_id, task_type)] = counts.get((user_id, task_type), 0) + 1
    for (user_id, task_type), n in counts.items():
        TrustScore.objects.filter(contributor__user_id=user_id, task_type=task_type).update(open_flags=n)


class Migration(migrations.Migration):
    dependencies = [
        ("contributors", "0002_qualifications_trust_identity_fraud"),
        ("authenticity", "0001_initial"),
    ]

    operations = [
        migrations.AddField(model_name="trustscore", name="open_flags", field=models.PositiveIntegerField(default=0)),
        migrations.RunPython(count_open_flags, migrations.RunPython.noop),
    ]
