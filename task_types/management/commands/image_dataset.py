"""``manage.py image_dataset import|export``: move a vision dataset into or out of an image campaign.

    manage.py image_dataset import --campaign 7 --format coco --annotations instances.json --images imgs/
    manage.py image_dataset import --campaign 7 --format yolo --annotations yolo_dir/ --images yolo_dir/images/
    manage.py image_dataset export --campaign 7 --format yolo-detect --out out_dir/

Import is all or nothing (task_types/image/datasets.py); a refusal prints the file and object and exits 1.
"""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.schema import SchemaError
from task_types.image.datasets import EXPORT_FORMATS, IMPORT_FORMATS, export_campaign, import_dataset_folder
from task_types.image.formats import ImportRefused
from tasks.models import Campaign


class Command(BaseCommand):
    help = "Import a COCO/YOLO/CVAT/Label Studio dataset as pre-annotated items, or export the consensus."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("--campaign", type=int, required=True)
        parser.add_argument("--format", required=True, choices=sorted({*IMPORT_FORMATS, *EXPORT_FORMATS}))
        parser.add_argument("--annotations", type=Path)
        parser.add_argument("--images", type=Path)
        parser.add_argument("--out", type=Path)

    def handle(self, *args, action, campaign, format, annotations, images, out, **options):
        found = Campaign.objects.filter(pk=campaign, task_type="image").first()
        if found is None:
            raise CommandError(f"No image campaign {campaign}.")
        try:
            if action == "import":
                if format not in IMPORT_FORMATS or annotations is None or images is None:
                    raise CommandError(f"import needs --annotations, --images and one of {', '.join(IMPORT_FORMATS)}")
                n = import_dataset_folder(campaign=found, fmt=format, annotations=annotations, images_dir=images)
                self.stdout.write(f"{n} items created in campaign {found.pk}.")
            else:
                if format not in EXPORT_FORMATS or out is None:
                    raise CommandError(f"export needs --out and one of {', '.join(EXPORT_FORMATS)}")
                counts = export_campaign(campaign=found, fmt=format, out=out)
                self.stdout.write(f"Exported to {out}: {counts}")
        except (ImportRefused, SchemaError, OSError) as exc:
            raise CommandError(str(exc)) from exc
