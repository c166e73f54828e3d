"""Contributor API (session auth): own verification state, qualification attempts."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from contributors import selectors, services
from contributors.models import QualificationAttempt, QualificationItem
from core.api_errors import error_response
from web.campaigns.api import IsPersonUser


class ContributorMeOut(serializers.Serializer):
    pseudonym = serializers.CharField()
    level = serializers.IntegerField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    next_step = serializers.CharField()
    qualified_task_types = serializers.ListField(child=serializers.CharField())


class QualificationAttemptOut(serializers.Serializer):
    id = serializers.IntegerField()
    task_type = serializers.CharField(source="test.task_type")
    number = serializers.IntegerField()
    state = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    correct = serializers.IntegerField()
    total = serializers.IntegerField()
    pass_mark = serializers.FloatField(source="test.pass_mark")
    items = serializers.SerializerMethodField()

    def get_items(self, attempt) -> list[dict]:
        # Payloads only: the gold answers never leave the server.
        if attempt.state != QualificationAttempt.State.OPEN:
            return []
        items = {i.pk: i.payload for i in QualificationItem.objects.filter(pk__in=attempt.item_ids)}
        views = attempt.views or [{}] * len(attempt.item_ids)
        return [{"payload": items[i], "view": v} for i, v in zip(attempt.item_ids, views, strict=True) if i in items]


class AttemptAnswersIn(serializers.Serializer):
    answers = serializers.ListField(child=serializers.JSONField(), allow_empty=False)


def _refused(exc: services.ContributorError) -> Response:
    codes = {"already_submitted": 409, "not_found": 404, "suspended": 403, "verification": 403,
             "cooldown": 429, "no_attempts": 403, "qualified": 409, "empty": 409}
    extra = {"field": exc.field} if exc.field else {}
    return error_response(codes.get(exc.code, 400), exc.code, exc.message, **extra)


class MeView(APIView):
    permission_classes = [IsPersonUser]

    @extend_schema(responses={200: ContributorMeOut}, summary="The contributor's verification level, status and next step")
    def get(self, request):
        profile = services.ensure_profile(request.user)
        level = selectors.verification_level(request.user, profile)
        return Response({
            "pseudonym": profile.pseudonym, "level": level, "status": profile.status,
            "status_reason": profile.status_reason,
            "next_step": selectors.next_step(request.user, profile, level)["text"],
            "qualified_task_types": sorted(selectors.qualified_task_types(request.user)),
        })


class StartAttemptView(APIView):
    permission_classes = [IsPersonUser]

    @extend_schema(request=None, responses={201: QualificationAttemptOut}, summary="Start (or resume) a qualification test")
    def post(self, request, task_type: str):
        try:
            attempt = services.start_qualification_attempt(user=request.user, task_type=task_type)
        except services.ContributorError as exc:
            return _refused(exc)
        return Response(QualificationAttemptOut(attempt).data, status=status.HTTP_201_CREATED)


class SubmitAttemptView(APIView):
    permission_classes = [IsPersonUser]

    @extend_schema(request=AttemptAnswersIn, responses={200: QualificationAttemptOut}, summary="Submit all answers of an attempt once")
    def post(self, request, attempt_id: int):
        data = AttemptAnswersIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            attempt = services.submit_qualification_attempt(
                user=request.user, attempt_id=attempt_id, answers=data.validated_data["answers"]
            )
        except QualificationAttempt.DoesNotExist:
            return error_response(404, "not_found", "Not found.")
        except services.ContributorError as exc:
            return _refused(exc)
        return Response(QualificationAttemptOut(attempt).data)
