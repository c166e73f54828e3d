"""A deleted MediaAsset (directly, or with its campaign) takes its stored file with it, after commit."""
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import MediaAsset


@receiver(post_delete, sender=MediaAsset, dispatch_uid="assets.delete_stored_file")
def delete_stored_file(sender, instance: MediaAsset, **kwargs) -> None:
    # After commit: a rolled-back deletion must not lose the file its restored row points to.
    key = instance.key
    transaction.on_commit(lambda: default_storage.delete(key))
    if instance.kind == MediaAsset.Kind.VIDEO:  # and a video its frame store
        from .video import delete_frames

        info = instance.info
        transaction.on_commit(lambda: delete_frames(info))
