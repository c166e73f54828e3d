"""Writes for media: store a validated file in the media storage and record it as a MediaAsset.

Every upload is decoded before anything is written; a refused upload leaves no file and no row.
"""
from __future__ import annotations

import hashlib
import os
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from contributors.selectors import profile_for

from . import video
from .decoding import MediaRefused, check_file_name, check_key, inspect_audio, inspect_image
from .models import MediaAsset


def campaign_media_key(campaign_id: int, name: str) -> str:
    """The one shape of a campaign's media key (API uploads and zip imports alike):
    ``campaigns/<campaign>/<random>/<name>``; the random segment makes keys unguessable and unique.
    Contributors' recordings are keyed apart (``store_recording``: tied to the lease's nonce)."""
    return f"campaigns/{campaign_id}/{secrets.token_hex(8)}/{name}"


def max_audio_bytes() -> int:
    return int(getattr(settings, "MEDIA_MAX_AUDIO_BYTES", 8 * 1024 * 1024))


def max_image_bytes() -> int:
    return int(getattr(settings, "MEDIA_MAX_IMAGE_BYTES", 20 * 1024 * 1024))


def read_upload(upload, *, field_name: str, max_bytes: int) -> bytes:
    """Read an uploaded file, never more than ``max_bytes`` + 1 into memory."""
    if upload is None:
        raise MediaRefused(field_name, _("No file was sent."))
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise MediaRefused(field_name, _("The file is too large (at most %(max)d MB).") % {
            "max": max_bytes // (1024 * 1024)})
    return data


def store_demo_media(key: str, *, kind: str, build, keep=None) -> MediaAsset:
    """A demo file under a fixed key: kept when its row and file are both there (demo content is deterministic)
    and ``keep(asset)`` (default: always) accepts its info; otherwise replaced. A test database's rollback
    leaves files behind and a deleted file leaves rows, so a fixed key must not simply be stored again.
    ``build()`` returns (data, content_type, info); info is marked ``demo``."""
    existing = MediaAsset.objects.filter(key=key).first()
    if existing is not None and default_storage.exists(key) and (keep is None or keep(existing)):
        return existing
    if existing is not None:
        existing.delete()
    if default_storage.exists(key):
        default_storage.delete(key)
    data, content_type, info = build()
    return store_media(key=key, data=data, kind=kind, content_type=content_type, info={**info, "demo": True})


def store_media(*, key: str, data: bytes, kind: str, content_type: str, info: dict, campaign=None,
                assignment=None, uploaded_by=None) -> MediaAsset:
    """Write the bytes under ``key`` (refusing to overwrite) and record the asset, both or neither."""
    check_key(key)
    if default_storage.exists(key) or MediaAsset.objects.filter(key=key).exists():
        raise MediaRefused("name", _("A file named %(key)s already exists.") % {"key": key})
    saved = default_storage.save(key, ContentFile(data))
    try:
        with transaction.atomic():
            return MediaAsset.objects.create(
                key=saved, kind=kind, content_type=content_type, size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(), campaign=campaign, assignment=assignment,
                uploaded_by=uploaded_by, info=info,
            )
    except Exception:
        default_storage.delete(saved)
        raise


def delete_asset(asset: MediaAsset) -> None:
    """Delete the record; its file goes once the transaction commits (assets.signals)."""
    asset.delete()


def store_campaign_media(*, campaign, upload, name: str = "", uploaded_by=None) -> MediaAsset:
    """A manager's image, audio or video for a campaign's items, stored as ``campaigns/<id>/<random>/<name>``."""
    if name:
        check_file_name(name, "name")
    # The first bytes say whether the video limit applies: anything else is never read past the image/audio one.
    head = upload.read(4096) if upload is not None else b""
    if upload is not None:
        upload.seek(0)
    maybe_video = video.is_playlist(head) or video.has_video_signature(head)
    data = read_upload(upload, field_name="file", max_bytes=max(
        max_image_bytes(), max_audio_bytes(), video.max_video_bytes() if maybe_video else 0))
    if maybe_video and video.looks_like_video(data):
        return store_campaign_video(campaign=campaign, data=data, name=name or getattr(upload, "name", "") or "",
                                    uploaded_by=uploaded_by)
    if len(data) > max(max_image_bytes(), max_audio_bytes()):
        raise MediaRefused("file", _("The file is too large (at most %(max)d MB).") % {
            "max": max(max_image_bytes(), max_audio_bytes()) // (1024 * 1024)})
    try:
        image = inspect_image(data, field_name="file", max_bytes=max_image_bytes())
        kind, content_type, ext, info = "image", image.content_type, image.extension, {
            "width": image.width, "height": image.height, "format": image.format}
    except MediaRefused as image_error:
        try:
            audio = inspect_audio(data, field_name="file", max_bytes=max_audio_bytes(),
                                  max_seconds=float(getattr(settings, "MEDIA_MAX_AUDIO_SECONDS", 600)))
        except MediaRefused as audio_error:
            if not data:
                raise
            raise MediaRefused("file", _("This file is neither a readable image nor a readable audio "
                                         "recording.")) from audio_error
        del image_error
        kind, content_type, ext, info = "audio", audio.content_type, audio.extension, audio.as_dict()
    # An unguessable folder: another organisation cannot name this file in its own items.
    key = campaign_media_key(campaign.pk, name or f"media.{ext}")
    return store_media(key=key, data=data, kind=kind, content_type=content_type, info=info, campaign=campaign,
                       uploaded_by=uploaded_by)


def store_campaign_video(*, campaign, data: bytes, name: str = "", uploaded_by=None) -> MediaAsset:
    """A video: probed now (refused naming the file), stored, then decoded into its frame store by a Celery
    job on the export queue (``assets.tasks.extract_video_frames``) once this transaction commits.
    Until the job has run the asset's ``info["frames"]["state"]`` is ``pending``; items naming it wait."""
    label = name or "video"
    probe = video.inspect_video(data, name=label, field_name="file")
    safe_name = name if name and _is_safe_name(name) else f"video.{probe.extension}"
    key = campaign_media_key(campaign.pk, safe_name)
    asset = store_media(key=key, data=data, kind=MediaAsset.Kind.VIDEO, content_type=probe.content_type,
                        info={**probe.as_dict(), "name": label[:120], "frames": {"state": "pending"}},
                        campaign=campaign, uploaded_by=uploaded_by)
    from .tasks import extract_video_frames

    transaction.on_commit(lambda: extract_video_frames.delay(asset.pk))
    return asset


def _is_safe_name(name: str) -> bool:
    try:
        check_file_name(name, "name")
    except MediaRefused:
        return False
    return True


def build_frame_store(*, asset: MediaAsset) -> MediaAsset:
    """Decode a stored video into its frame store (idempotent: a redelivered job redoes it from scratch).

    Success records the index in ``info["frames"]`` (state ``ready``); a refusal records state ``failed``
    with the message naming the file, and keeps no chunk.
    """
    if asset.kind != MediaAsset.Kind.VIDEO:
        raise MediaRefused("file", _("This file is not a video."))
    video.delete_frames(asset.info)
    path = None
    try:
        with default_storage.open(asset.key, "rb") as handle:
            path = video.spooled_path(handle.read())
        index = video.extract_frames(path, prefix=video.frames_prefix(asset.key),
                                     name=asset.info.get("name") or asset.key)
        frames = {"state": "ready", **index}
    except MediaRefused as exc:
        frames = {"state": "failed", "error": str(exc.message)}
    finally:
        if path:
            os.unlink(path)
    info = {**asset.info, "frames": frames}
    updated = MediaAsset.objects.filter(pk=asset.pk).update(info=info)
    if not updated:  # the asset was deleted meanwhile: its chunks go too
        video.delete_frames(info)
    asset.info = info
    return asset


def speaker_metadata(user) -> dict:
    """What the speaker's profile says about their voice, frozen at recording time."""
    profile = profile_for(user)
    if profile is None:
        return {}
    return {
        "pseudonym": profile.pseudonym,
        "region": profile.region,
        "province": profile.province,
        "dialect": profile.dialect,
        "gender": profile.gender,
        "age_band": profile.age_band,
    }


def store_recording(*, assignment, upload, user, device: str = "", user_agent: str = "") -> MediaAsset:
    """Validate a recording for a leased assignment (decoded, checked by the task type) and store it.

    A new take replaces the assignment's earlier, not yet submitted takes.
    """
    task = assignment.campaign.task
    if not task.accepts_recordings:
        raise MediaRefused("audio", _("This task does not take recordings."))
    if assignment.state != assignment.State.LEASED:
        raise MediaRefused("assignment", _("This task is no longer open."))
    data = read_upload(upload, field_name="audio", max_bytes=max_audio_bytes())
    config = assignment.campaign.config
    audio = inspect_audio(data, field_name="audio", max_bytes=max_audio_bytes(),
                          max_seconds=float(config.get("max_seconds", 30)))
    task.check_recording(audio, item_payload=assignment.item.payload, config=config)
    nonce = (assignment.view or {}).get("media_nonce") or "x"
    profile = profile_for(user)
    info = {
        **audio.as_dict(),
        "speaker": speaker_metadata(user),
        "device": {
            "label": (device or "")[:200],
            "type": getattr(profile, "device_type", "") or "",
            "user_agent": (user_agent or "")[:300],
        },
    }
    key = f"recordings/{assignment.campaign_id}/{nonce}/{secrets.token_hex(12)}.{audio.extension}"
    earlier = list(MediaAsset.objects.filter(assignment=assignment, kind=MediaAsset.Kind.AUDIO))
    asset = store_media(key=key, data=data, kind=MediaAsset.Kind.AUDIO, content_type=audio.content_type,
                        info=info, campaign=assignment.campaign, assignment=assignment, uploaded_by=user)
    for old in earlier:
        delete_asset(old)
    return asset
