"""Media jobs: decoding an uploaded video into its frame store (routed to the export queue: long, CPU-bound)."""
from celery import shared_task


@shared_task(acks_late=True)
def extract_video_frames(asset_id: int) -> None:
    from .models import MediaAsset
    from .services import build_frame_store

    asset = MediaAsset.objects.filter(pk=asset_id).first()
    if asset is not None:
        build_frame_store(asset=asset)
