"""Contributor task API: next, submit, skip, report; and the contributor's personal tokens.

The labelling page uses its session (with CSRF); other clients (a mobile app, a script) use a
personal token, ``Authorization: Bearer <prefix>.<secret>``, created by the signed-in contributor.
Organisation tokens are refused here: work is done by people.
"""
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.ownership import masked_payload
from core.api_errors import error_response
from organizations.authentication import ApiTokenAuthentication
from tasks import services
from tasks.authentication import PersonalTokenAuthentication
from tasks.models import Assignment, PersonalToken
from tasks.selectors import active_campaign
from workqueue.lease import NoWork, lease_next_item
from workqueue.release import report_problem, skip_assignment
from workqueue.submit import SubmissionRefused, submit_annotation

MAX_IDEMPOTENCY_KEY = 100  # the stored column's length: a longer key would be cut and could collide
CONTRIBUTOR_AUTHENTICATION = [ApiTokenAuthentication, PersonalTokenAuthentication, SessionAuthentication]


class IsPersonUser(BasePermission):
    """Contributor endpoints need a person (session or personal token), not an organisation token."""

    message = "This endpoint is for contributors signed in as a person."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and getattr(request.user, "pk", None))


class ContributorAPIView(APIView):
    authentication_classes = CONTRIBUTOR_AUTHENTICATION
    permission_classes = [IsPersonUser]


class AssignmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    task_type = serializers.CharField(source="campaign.task_type")
    item = serializers.SerializerMethodField()
    view = serializers.JSONField()
    expires_at = serializers.DateTimeField()

    def get_item(self, obj) -> dict:
        # is_gold is never sent: honeypots must be indistinguishable.
        return {"id": obj.item_id, "payload": masked_payload(obj.campaign.task, obj.item.payload)}


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


_DATETIME = serializers.DateTimeField()


def _assignment_out(assignment: Assignment) -> dict:
    """AssignmentOut's shape, built directly: this is on the hottest path of the platform."""
    return {
        "id": assignment.pk,
        "campaign": assignment.campaign_id,
        "task_type": assignment.campaign.task_type,
        # Never is_gold; never storage keys (the page gets signed URLs from web.assets.views.assignment_media).
        "item": {"id": assignment.item_id, "payload": masked_payload(assignment.campaign.task, assignment.item.payload)},
        "view": assignment.view,
        "expires_at": _DATETIME.to_representation(assignment.expires_at),
    }


class NextTaskView(ContributorAPIView):
    @extend_schema(
        request=None,
        responses={200: AssignmentOut, 204: NoWorkOut},
        summary="Lease the next item of a campaign",
        description="Returns the contributor's open lease if any, else leases a new item. "
        "When nothing fits, returns 200 with assignment=null and the reason.",
    )
    def post(self, request, campaign_id: int):
        campaign = active_campaign(campaign_id)
        if campaign is None:
            return error_response(404, "not_found", "Not found.")
        outcome = lease_next_item(user=request.user, campaign=campaign)
        if isinstance(outcome, NoWork):
            return Response({"assignment": None, "code": outcome.code, "reason": outcome.reason})
        return Response({"assignment": _assignment_out(outcome), "code": "ok", "reason": ""})


class SubmitView(ContributorAPIView):
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
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key.strip()) <= MAX_IDEMPOTENCY_KEY:
            return error_response(400, "invalid", f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.",
                                  field="Idempotency-Key")
        try:
            result = submit_annotation(
                user=request.user,
                assignment_id=assignment_id,
                payload=data.validated_data["payload"],
                telemetry=data.validated_data.get("telemetry"),
                time_spent_ms=data.validated_data["time_spent_ms"],
                idempotency_key=key,
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


class _ReleaseView(ContributorAPIView):
    release = staticmethod(skip_assignment)

    @extend_schema(request=ReasonIn, responses={200: None})
    def post(self, request, assignment_id: int):
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = Assignment.objects.filter(pk=assignment_id, contributor=request.user).first()
        if assignment is None:
            return error_response(404, "not_found", "Not found.")
        released = self.release(assignment=assignment, reason=data.validated_data["reason"])
        return Response({"assignment_id": assignment_id, "state": released.state})


class SkipView(_ReleaseView):
    """Skip an item, with an optional reason; it goes back to the queue for others."""

    release = staticmethod(skip_assignment)


class ReportView(_ReleaseView):
    """Report a problem with an item (reason required)."""

    release = staticmethod(report_problem)


class PersonalTokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class PersonalTokenOut(serializers.ModelSerializer):
    class Meta:
        model = PersonalToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]


class PersonalTokenList(ContributorAPIView):
    """The contributor's personal tokens for the task API; a new key is shown once."""

    @extend_schema(responses={200: PersonalTokenOut(many=True)}, summary="List my personal tokens")
    def get(self, request):
        tokens = PersonalToken.objects.filter(user=request.user, revoked_at__isnull=True).order_by("-id")
        return Response(PersonalTokenOut(tokens, many=True).data)

    @extend_schema(request=PersonalTokenIn, responses={201: PersonalTokenOut}, summary="Create a personal token")
    def post(self, request):
        if not isinstance(request.successful_authenticator, SessionAuthentication):
            # A leaked token must not be able to mint more tokens.
            return error_response(403, "session_required", "Sign in to create a token.")
        data = PersonalTokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.create_personal_token(user=request.user, name=data.validated_data["name"])
        return Response({**PersonalTokenOut(token).data, "key": key}, status=status.HTTP_201_CREATED)


class PersonalTokenDetail(ContributorAPIView):
    @extend_schema(request=None, responses={204: None}, summary="Revoke a personal token")
    def delete(self, request, token_id: int):
        token = PersonalToken.objects.filter(pk=token_id, user=request.user, revoked_at__isnull=True).first()
        if token is None:
            return error_response(404, "not_found", "Not found.")
        services.revoke_personal_token(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
