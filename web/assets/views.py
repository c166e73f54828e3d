"""Media endpoints: signed-URL serving, an assignment's media URLs, recording and campaign uploads.

Thin: parsing and responses here, decisions in assets.services / assets.selectors.
"""
from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiTypes, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assets import selectors, services
from assets.video import max_video_bytes
from core.api_errors import error_response
from organizations.access import Action
from organizations.permissions import HasOrganization
from organizations.selectors import organizations_for_user
from review.selectors import recording_coverage
from tasks.models import Assignment, Campaign
from web.campaigns.api import IsPersonUser

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_GET
def serve_media(request, token: str):
    """Serve one stored file to the user its signed token was made for (Range requests supported)."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden(_("Sign in to see this media."))
    key = selectors.key_for_token(token, user_id=request.user.pk)
    if key is None:
        return HttpResponseForbidden(_("This media link is invalid or has expired; reload the page."))
    try:
        handle = selectors.open_media(key)
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    size = handle.size
    content_type = selectors.content_type_for(key)
    match = RANGE_RE.match(request.headers.get("Range", ""))
    if match and (match.group(1) or match.group(2)):
        start_s, end_s = match.groups()
        if start_s:
            start, end = int(start_s), min(int(end_s) if end_s else size - 1, size - 1)
        else:
            start, end = max(0, size - int(end_s)), size - 1
        if start > end or start >= size:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        handle.seek(start)
        body = handle.read(end - start + 1)
        handle.close()
        response = HttpResponse(body, status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        response = FileResponse(handle, content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _too_large(request, max_bytes: int, field: str):
    """Refuse an oversized body from its Content-Length, before Django spools it to disk."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_bytes + 64 * 1024:  # room for the multipart envelope and the other fields
        return error_response(413, "too_large", _("The file is too large (at most %(max)d MB).") % {
            "max": max_bytes // (1024 * 1024)}, field=field)
    return None


def _own_open_assignment(request, assignment_id: int) -> Assignment | None:
    return (
        Assignment.objects.select_related("campaign", "item")
        .filter(pk=assignment_id, contributor=request.user, state=Assignment.State.LEASED)
        .first()
    )


class AssignmentMediaView(APIView):
    """Fresh signed URLs for the media of the contributor's own open assignment."""

    permission_classes = [IsPersonUser]

    @extend_schema(
        responses={200: inline_serializer("AssignmentMedia", {"media": serializers.DictField(),
                                                              "frames": serializers.DictField(),
                                                              "expires_in": serializers.IntegerField()})},
        summary="Signed media URLs for an open assignment",
    )
    def get(self, request, assignment_id: int):
        assignment = _own_open_assignment(request, assignment_id)
        if assignment is None:
            return error_response(404, "not_found", "Not found.")
        media = selectors.assignment_media_urls(assignment, user_id=request.user.pk)
        return Response({
            "media": {name: m["url"] for name, m in media.items()},
            # A video's frame store: index and signed chunk URLs (assets.selectors.video_frame_urls).
            "frames": {name: m["frames"] for name, m in media.items() if "frames" in m},
            "expires_in": selectors.media_url_ttl(),
        })


class RecordingIn(serializers.Serializer):
    audio = serializers.FileField(allow_empty_file=True)
    device = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class RecordingUploadView(APIView):
    """Upload the recording for an open speech-recording assignment; returns the key to submit."""

    permission_classes = [IsPersonUser]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": RecordingIn},
        responses={201: OpenApiTypes.OBJECT},
        summary="Upload a recording (validated by decoding: duration, silence, clipping, sample rate)",
    )
    def post(self, request, assignment_id: int):
        assignment = _own_open_assignment(request, assignment_id)
        if assignment is None:
            return error_response(404, "not_found", "Not found.")
        if (refusal := _too_large(request, services.max_audio_bytes(), "audio")) is not None:
            return refusal
        if "audio" not in request.FILES:
            return error_response(400, "invalid", _("No recording was sent (field 'audio')."), field="audio")
        asset = services.store_recording(
            assignment=assignment, upload=request.FILES["audio"], user=request.user,
            device=str(request.data.get("device", ""))[:200], user_agent=request.headers.get("User-Agent", ""),
        )
        info = asset.info
        return Response(
            {"key": asset.key, "duration_s": info["duration_s"], "sample_rate": info["sample_rate"],
             "url": selectors.signed_media_url(asset.key, user_id=request.user.pk)},
            status=201,
        )


class CampaignMediaIn(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class CampaignMediaOut(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    info = serializers.JSONField()


class CampaignMediaUpload(APIView):
    """An organisation uploads the images/audio/videos its items reference (by the returned key)."""

    permission_classes = [HasOrganization]
    required_action = Action.MANAGE_CAMPAIGNS
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": CampaignMediaIn}, responses={201: CampaignMediaOut},
                   summary="Upload an image, audio or video file for a campaign's items")
    def post(self, request, campaign_id: int):
        campaign = Campaign.objects.filter(pk=campaign_id, organization=request.organization).first()
        if campaign is None:
            return error_response(404, "not_found", "Not found.")
        largest = max(services.max_image_bytes(), services.max_audio_bytes(), max_video_bytes())
        if (refusal := _too_large(request, largest, "file")) is not None:
            return refusal
        if "file" not in request.FILES:
            return error_response(400, "invalid", _("No file was sent (field 'file')."), field="file")
        asset = services.store_campaign_media(
            campaign=campaign, upload=request.FILES["file"], name=str(request.data.get("name", "")),
            uploaded_by=request.user if getattr(request.user, "pk", None) else None,
        )
        return Response(CampaignMediaOut(asset).data, status=201)


@login_required
def campaign_coverage(request, campaign_id: int):
    """Recordings per region and province for the campaign's organisation members (others: 404)."""
    campaign = get_object_or_404(
        Campaign, pk=campaign_id, organization__in=organizations_for_user(request.user)
    )
    return render(request, "assets/coverage.html", {
        "campaign": campaign, "coverage": recording_coverage(campaign),
    })
