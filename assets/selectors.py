"""Reads for media: short-lived signed URLs, the media of an assignment, recording coverage."""
from __future__ import annotations

import mimetypes

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.urls import reverse

from .decoding import check_key
from .models import MediaAsset

SIGNING_SALT = "assets.media-url"


def media_url_ttl() -> int:
    return int(getattr(settings, "MEDIA_URL_TTL_SECONDS", 900))


def signed_media_url(key: str, *, user_id: int, ttl: int | None = None) -> str:
    """A URL to one stored file that only this user can open, and only for ``ttl`` seconds.

    On S3 it is the bucket's presigned URL; on the local file system a signed token served by
    ``web.assets.views.serve_media``, which also checks the signed-in user.
    """
    check_key(key)
    ttl = ttl or media_url_ttl()
    if hasattr(default_storage, "bucket_name"):  # django-storages S3Storage
        return default_storage.url(key, expire=ttl)
    token = signing.dumps({"k": key, "u": user_id}, salt=SIGNING_SALT, compress=True)
    return reverse("assets:serve", args=[token])


def key_for_token(token: str, *, user_id: int) -> str | None:
    """The key a token grants to this user, or None when forged, expired or someone else's."""
    try:
        data = signing.loads(token, salt=SIGNING_SALT, max_age=media_url_ttl())
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user_id:
        return None
    try:
        return check_key(data.get("k"))
    except ValueError:
        return None


def content_type_for(key: str) -> str:
    asset = MediaAsset.objects.filter(key=key).only("content_type").first()
    if asset is not None:
        return asset.content_type
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def assignment_media_urls(assignment, *, user_id: int) -> dict[str, str]:
    """Signed URLs for the media named in the assignment's item payload (the type says which)."""
    return media_urls_for(assignment.campaign, assignment.campaign.task.media_keys(assignment.item.payload),
                          user_id=user_id)


def media_urls_for(campaign, keys: dict[str, str], *, user_id: int) -> dict[str, dict]:
    """``{name: {"url", "kind"}}`` for the keys uploaded by the campaign's own organisation (or demo media).

    Never signs an unknown file or another organisation's, whatever an item or answer names.
    """
    assets = {a.key: a for a in MediaAsset.objects.filter(key__in=keys.values()).select_related("campaign")}
    out = {}
    for name, key in keys.items():
        asset = assets.get(key)
        if asset is None or (asset.campaign_id and asset.campaign.organization_id != campaign.organization_id):
            continue
        out[name] = {"url": signed_media_url(key, user_id=user_id), "kind": asset.kind}
        if isinstance(asset.info, dict) and asset.info.get("duration_s"):
            # Decoded at upload: a browser reports a MediaRecorder WebM's duration as Infinity.
            out[name]["duration_s"] = asset.info["duration_s"]
        if asset.kind == MediaAsset.Kind.VIDEO:
            out[name].update(video_frame_urls(asset, user_id=user_id))
    return out


def video_frame_urls(asset: MediaAsset, *, user_id: int) -> dict:
    """A video's frame store as the page reads it: the index (fps, size, chunk boundaries and frame offsets)
    with a signed URL per chunk; signed because the video itself is (the chunks have no rows of their own)."""
    frames = (asset.info or {}).get("frames") or {}
    if frames.get("state") != "ready":
        return {"frames": {"state": frames.get("state", "pending"), "error": frames.get("error", "")}}
    chunks = [{"url": signed_media_url(c["key"], user_id=user_id), "start": c["start"], "count": c["count"],
               "offsets": c["offsets"]} for c in frames["chunks"]]
    return {"frames": {"state": "ready", "fps": frames["fps"], "frame_count": frames["frame_count"],
                       "width": frames["width"], "height": frames["height"],
                       "range": frames.get("range", "full"), "chunks": chunks}}
def platform_media_urls(keys: dict[str, str], *, user_id: int) -> dict[str, str]:
    """Signed URLs for media that belongs to no campaign (the demo's, platform content such as qualification
    tests, which have no organisation): an organisation's file is never signed here, whatever a payload names."""
    assets = {a.key: a for a in MediaAsset.objects.filter(key__in=keys.values(), campaign__isnull=True)}
    return {name: signed_media_url(key, user_id=user_id) for name, key in keys.items() if key in assets}


def platform_video_frames(keys: dict[str, str], *, user_id: int) -> dict[str, dict]:
    """The frame stores of the videos among ``keys`` that belong to no campaign (a qualification test's clip), as
    ``video_frame_urls`` gives them for an assignment: the video page reads frames, never the file."""
    videos = {a.key: a for a in MediaAsset.objects.filter(key__in=keys.values(), campaign__isnull=True,
                                                          kind=MediaAsset.Kind.VIDEO)}
    return {name: video_frame_urls(videos[key], user_id=user_id)["frames"]
            for name, key in keys.items() if key in videos}


def recording_for(key: str, *, view: dict) -> MediaAsset | None:
    """The stored recording behind an annotation's key, only if uploaded for this assignment's view."""
    nonce = (view or {}).get("media_nonce")
    if not nonce or f"/{nonce}/" not in key:
        return None
    return MediaAsset.objects.filter(key=key, kind=MediaAsset.Kind.AUDIO).first()


def open_media(key: str):
    return default_storage.open(check_key(key), "rb")


def stored_video(key: str) -> MediaAsset | None:
    """The uploaded video under ``key`` (its ``info["frames"]`` says whether the frame store is ready)."""
    return MediaAsset.objects.filter(key=key, kind=MediaAsset.Kind.VIDEO).only("key", "info").first()
