"""``manage.py video_dataset import|export``: move tracks into or out of a video campaign.

    manage.py video_dataset import --campaign 7 --format cvat --annotations annotations.xml --video <key>
    manage.py video_dataset import --campaign 7 --format mot --annotations seq/gt/gt.txt --video <key>
    manage.py video_dataset export --campaign 7 --format mot --out out_dir/

The video is uploaded first (the campaign media API); import checks every track against its frame store
(task_types/video/datasets.py) and a refusal prints the file and line or track and exits 1.
"""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.schema import SchemaError
from task_types.image.formats import ImportRefused
from task_types.video.datasets import FORMATS, export_campaign, import_tracks
from tasks.models import Campaign


class Command(BaseCommand):
    help = "Import a MOT or CVAT-for-video file as an item's pre-annotated tracks, or export the consensus tracks."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("--campaign", type=int, required=True)
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--annotations", type=Path)
        parser.add_argument("--video", help="storage key of the uploaded video (import)")
        parser.add_argument("--out", type=Path)

    def handle(self, *args, action, campaign, format, annotations, video, out, **options):
        found = Campaign.objects.filter(pk=campaign, task_type="video").first()
        if found is None:
            raise CommandError(f"No video campaign {campaign}.")
        try:
            if action == "import":
                if annotations is None or not video:
                    raise CommandError("import needs --annotations and --video")
                item, skipped = import_tracks(campaign=found, video_key=video, fmt=format, annotations=annotations)
                self.stdout.write(f"Item {item.pk} created with {len(item.payload['pre_tracks'])} tracks.")
                for what in skipped:
                    self.stdout.write(f"  skipped: {what}")
            else:
                if out is None:
                    raise CommandError("export needs --out")
                self.stdout.write(f"Exported to {out}: {export_campaign(campaign=found, fmt=format, out=out)}")
        except (ImportRefused, SchemaError, OSError) as exc:
            raise CommandError(str(exc)) from exc
