"""Contributor task API (session auth from the labelling page): next, submit, skip, report."""
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.services import SubmissionRefused, submit_annotation
from config.api_errors import error_response

from . import services
from .models import Assignment, Campaign


class IsPersonUser(BasePermission):
    """Contributor endpoints need a person (session), not an organisation token."""

    message = "This endpoint is for contributors signed in as a person."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and getattr(request.user, "pk", None))


class AssignmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    task_type = serializers.CharField(source="campaign.task_type")
    item = serializers.SerializerMethodField()
    view = serializers.JSONField()
    expires_at = serializers.DateTimeField()

    def get_item(self, obj) -> dict:
        # is_gold is never sent: honeypots must be indistinguishable.
        return {"id": obj.item_id, "payload": obj.item.payload}


class NoWorkOut(serializers.Serializer):
    assignment = serializers.JSONField(allow_null=True)
    code = serializers.CharField()
    reason = serializers.CharField()


class SubmitIn(serializers.Serializer):
    payload = serializers.JSONField()
    telemetry = serializers.JSONField(required=False)
    time_spent_ms = serializers.IntegerField(required=False, min_value=0, default=0)


class SubmitOut(serializers.Serializer):
    annotation_id = serializers.IntegerField()
    assignment_id = serializers.IntegerField()
    replayed = serializers.BooleanField()


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


def _assignment_out(assignment: Assignment) -> dict:
    return AssignmentOut(assignment).data


class NextTaskView(APIView):
    permission_classes = [IsPersonUser]

    @extend_schema(
        request=None,
        responses={200: AssignmentOut, 204: NoWorkOut},
        summary="Lease the next item of a campaign",
        description="Returns the contributor's open lease if any, else leases a new item. "
        "When nothing fits, returns 200 with assignment=null and the reason.",
    )
    def post(self, request, campaign_id: int):
        campaign = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.ACTIVE).first()
        if campaign is None:
            return error_response(404, "not_found", "Not found.")
        outcome = services.lease_next_item(user=request.user, campaign=campaign)
        if isinstance(outcome, services.NoWork):
            return Response({"assignment": None, "code": outcome.code, "reason": outcome.reason})
        return Response({"assignment": _assignment_out(outcome), "code": "ok", "reason": ""})


class SubmitView(APIView):
    permission_classes = [IsPersonUser]

    @extend_schema(
        request=SubmitIn,
        responses={201: SubmitOut, 200: SubmitOut},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        examples=[OpenApiExample("Moderation", value={"payload": {"categories": ["spam"]}, "time_spent_ms": 5300})],
        summary="Submit an answer (idempotent with Idempotency-Key)",
    )
    def post(self, request, assignment_id: int):
        data = SubmitIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = submit_annotation(
                user=request.user,
                assignment_id=assignment_id,
                payload=data.validated_data["payload"],
                telemetry=data.validated_data.get("telemetry"),
                time_spent_ms=data.validated_data["time_spent_ms"],
                idempotency_key=request.headers.get("Idempotency-Key"),
            )
        except Assignment.DoesNotExist:
            return error_response(404, "not_found", "Not found.")
        except SubmissionRefused as exc:
            return error_response(409, exc.code, exc.message)
        body = {
            "annotation_id": result.annotation.pk,
            "assignment_id": assignment_id,
            "replayed": not result.created,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class _ReleaseView(APIView):
    permission_classes = [IsPersonUser]
    release = staticmethod(services.skip_assignment)

    @extend_schema(request=ReasonIn, responses={200: None})
    def post(self, request, assignment_id: int):
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = Assignment.objects.filter(pk=assignment_id, contributor=request.user).first()
        if assignment is None:
            return error_response(404, "not_found", "Not found.")
        self.release(assignment=assignment, reason=data.validated_data["reason"])
        return Response({"assignment_id": assignment_id, "state": Assignment.objects.get(pk=assignment_id).state})


class SkipView(_ReleaseView):
    """Skip an item, with an optional reason; it goes back to the queue for others."""

    release = staticmethod(services.skip_assignment)


class ReportView(_ReleaseView):
    """Report a problem with an item (reason required)."""

    release = staticmethod(services.report_problem)
