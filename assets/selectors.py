"""Reads for media: short-lived signed URLs, the media of an assignment, recording coverage."""
from __future__ import annotations

import mimetypes

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db.models import Count
from django.urls import reverse

from contributors.models import Region

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
    return out


def recording_for(key: str, *, view: dict) -> MediaAsset | None:
    """The stored recording behind an annotation's key, only if uploaded for this assignment's view."""
    nonce = (view or {}).get("media_nonce")
    if not nonce or f"/{nonce}/" not in key:
        return None
    return MediaAsset.objects.filter(key=key, kind=MediaAsset.Kind.AUDIO).first()


def recording_coverage(campaign) -> dict:
    """Submitted recordings of a campaign per speaker region and province, against its region quotas."""
    from annotations.models import Annotation

    rows = (
        Annotation.objects.filter(campaign=campaign)
        .values("payload__speaker__region", "payload__speaker__province")
        .annotate(n=Count("id"))
        .order_by("payload__speaker__region", "payload__speaker__province")
    )
    accepted = _accepted_by_place(campaign)
    regions: dict[str, dict] = {}
    total = 0
    for row in rows:
        region = row["payload__speaker__region"] or ""
        province = row["payload__speaker__province"] or ""
        entry = regions.setdefault(region, {"region": region, "count": 0, "accepted": 0, "provinces": []})
        entry["count"] += row["n"]
        entry["accepted"] += accepted.get((region, province), 0)
        entry["provinces"].append({"province": province, "count": row["n"],
                                   "accepted": accepted.get((region, province), 0)})
        total += row["n"]
    quotas = campaign.region_quotas or {}
    for region in quotas:
        regions.setdefault(region, {"region": region, "count": 0, "accepted": 0, "provinces": []})
    out = []
    for region, entry in sorted(regions.items()):
        share = 100.0 * entry["count"] / total if total else 0.0
        entry["share"] = round(share, 1)
        entry["quota"] = quotas.get(region)
        entry["label"] = str(Region(region).label) if region in Region.values else region
        entry["below_quota"] = entry["quota"] is not None and share + 1e-9 < entry["quota"]
        out.append(entry)
    return {"total": total, "accepted": sum(accepted.values()), "regions": out}


def _accepted_by_place(campaign) -> dict[tuple[str, str], int]:
    """Recordings of the campaign accepted by its validation campaigns, per (region, province)."""
    from annotations.models import Consensus
    from tasks.models import Campaign

    validations = Campaign.objects.filter(organization_id=campaign.organization_id, task_type="speech_validation",
                                          config__source_campaign=campaign.pk)
    rows = (
        Consensus.objects.filter(campaign__in=validations, state=Consensus.State.FINALISED,
                                 result__decision="accepted")
        .values("item__payload__speaker__region", "item__payload__speaker__province")
        .annotate(n=Count("id"))
    )
    return {(r["item__payload__speaker__region"] or "", r["item__payload__speaker__province"] or ""): r["n"]
            for r in rows}


def open_media(key: str):
    return default_storage.open(check_key(key), "rb")
