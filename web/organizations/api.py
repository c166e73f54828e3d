"""Organisation API: an organisation admin creates, lists and revokes the organisation's API tokens."""
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import request_ip
from core.pagination import IdCursorPagination
from organizations.models import ApiToken
from organizations.permissions import IsOrganizationAdmin
from organizations.services import create_api_token, revoke_api_token


class TokenOut(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at",
                  "is_active"]


class TokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiToken.Scope.choices), min_length=1)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must be in the future.")
        return value


class TokenCreated(TokenOut):
    key = serializers.CharField(read_only=True, help_text="The key, shown only in this response: store it now.")

    class Meta(TokenOut.Meta):
        fields = [*TokenOut.Meta.fields, "key"]


TOKEN_EXAMPLE = {"id": 4, "name": "training-pipeline", "prefix": "a1b2c3d4", "scopes": ["datasets:read"],
                 "created_at": "2025-06-01T08:00:00+07:00", "expires_at": None, "revoked_at": None,
                 "last_used_at": "2025-06-02T10:00:00+07:00", "is_active": True}


@extend_schema(tags=["tokens"])
class TokenList(generics.ListCreateAPIView):
    permission_classes = [IsOrganizationAdmin]
    serializer_class = TokenOut
    pagination_class = IdCursorPagination

    def get_queryset(self):
        return ApiToken.objects.filter(organization=self.request.organization)

    @extend_schema(summary="List the organisation's API tokens (never their keys)", examples=[OpenApiExample(
        "A page", response_only=True, value={"next": None, "previous": None, "results": [TOKEN_EXAMPLE]})])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create an API token",
        description="The key (`<prefix>.<secret>`) is returned once; only a SHA-256 of the secret is stored. "
        "Send it as `Authorization: Token <key>`.",
        request=TokenIn, responses={201: TokenCreated},
        examples=[
            OpenApiExample("Read-only token for a training pipeline", request_only=True, value={
                "name": "training-pipeline", "scopes": ["datasets:read"], "expires_at": "2026-01-01T00:00:00Z"}),
            OpenApiExample("Created", response_only=True, status_codes=["201"], value={
                "id": 4, "name": "training-pipeline", "prefix": "a1b2c3d4", "scopes": ["datasets:read"],
                "created_at": "2025-06-01T08:00:00+07:00", "expires_at": "2026-01-01T07:00:00+07:00",
                "revoked_at": None, "last_used_at": None, "is_active": True,
                "key": "a1b2c3d4.Zk3...secret...Q"}),
        ],
    )
    def post(self, request, *args, **kwargs):
        data = TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = create_api_token(organization=request.organization, created_by=request.user,
                                      ip=request_ip(request), **data.validated_data)
        body = TokenCreated(token).data
        body["key"] = key
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["tokens"])
class TokenDetail(APIView):
    permission_classes = [IsOrganizationAdmin]

    @extend_schema(summary="One API token", responses=TokenOut,
                   examples=[OpenApiExample("Token", value=TOKEN_EXAMPLE, response_only=True)])
    def get(self, request, token_id: int):
        return Response(TokenOut(self._token(token_id)).data)

    @extend_schema(summary="Revoke an API token (takes effect immediately)",
                   responses={204: None, 404: OpenApiResponse(description="Not a token of your organisation")})
    def delete(self, request, token_id: int):
        revoke_api_token(token=self._token(token_id), by=request.user, ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _token(self, token_id: int) -> ApiToken:
        return get_object_or_404(ApiToken, pk=token_id, organization=self.request.organization)
