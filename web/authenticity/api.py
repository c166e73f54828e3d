"""Authenticity API: dataset report, per-answer scores, reference LLM texts, policy, and a text check.

Organisation endpoints are scoped like the rest of the organisation API (another organisation's campaign
is 404); the text check is for signed-in contributors (the labelling page's warnings).
"""
import unicodedata

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from authenticity import services
from authenticity.models import AuthenticityPolicy, AuthenticityScore
from authenticity.selectors import dataset_report, policy_for
from authenticity.text import is_mixed_script, scripts
from core.api_errors import error_response
from core.pagination import IdCursorPagination
from core.vietnamese import clean, is_stripped_vietnamese
from organizations.access import Action
from organizations.permissions import HasOrganization
from web.scoping import CampaignScopedMixin

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class CampaignScoped(CampaignScopedMixin):
    permission_classes = [HasOrganization]
    required_action = Action.VIEW


class ReportView(CampaignScoped, APIView):
    @extend_schema(summary="Authenticity and diversity report of a campaign's data", responses=dict)
    def get(self, request, campaign_id: int):
        return Response(dataset_report(self.campaign()))


class ScoreOut(serializers.ModelSerializer):
    item = serializers.IntegerField(source="annotation.item_id")
    contributor = serializers.CharField(source="contributor.contributor.pseudonym", default="")

    class Meta:
        model = AuthenticityScore
        fields = [
            "annotation", "item", "contributor", "score", "flagged", "reasons", "behaviour_evidence",
            "pasted_share", "text_chars", "stripped_vietnamese", "mixed_script", "review_decision",
            "components", "algorithm_version", "updated_at",
        ]


@extend_schema(summary="Human-likeness scores of a campaign's answers (?flagged=1 for the flagged ones)")
class ScoreList(CampaignScoped, generics.ListAPIView):
    serializer_class = ScoreOut
    pagination_class = IdCursorPagination

    def get_queryset(self):
        qs = (
            AuthenticityScore.objects.filter(campaign=self.campaign())
            .select_related("annotation", "contributor__contributor")
            .order_by("id")
        )
        flagged = self.request.query_params.get("flagged")
        if flagged in ("1", "true"):
            qs = qs.filter(flagged=True)
        elif flagged in ("0", "false"):
            qs = qs.filter(flagged=False)
        elif flagged is not None:
            raise serializers.ValidationError({"flagged": [_("Use 1 or 0.")]})
        return qs


class ReferenceIn(serializers.Serializer):
    text = serializers.CharField(max_length=services.MAX_REFERENCE_CHARS, trim_whitespace=True)
    source = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    model = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                  help_text="The model that wrote the text (required with item or external_id).")
    item = serializers.IntegerField(required=False, help_text="An item of this campaign: an LLM answer to its prompt.")
    external_id = serializers.CharField(max_length=200, required=False,
                                        help_text="The item by its external_id, instead of item.")


class ReferencesIn(serializers.Serializer):
    texts = ReferenceIn(many=True, allow_empty=False, max_length=services.MAX_REFERENCE_TEXTS)


class ReferenceUpload(CampaignScoped, APIView):
    required_action = Action.MANAGE_CAMPAIGNS
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        summary="Upload known LLM outputs for a campaign (JSON texts, or a JSONL/CSV/TXT file)",
        request=ReferencesIn, responses=dict,
    )
    def post(self, request, campaign_id: int):
        campaign = self.campaign()
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                return error_response(400, "invalid", _("The file is larger than 20 MB."), field="file")
            try:
                entries = services.parse_reference_file(upload.read(), upload.name or "")
            except services.ReferenceImportError as exc:
                first = exc.errors[0]
                return error_response(
                    400, "invalid", _("Line %(line)d: %(message)s") % first, field="file", lines=exc.errors[:100]
                )
        else:
            data = ReferencesIn(data=request.data)
            data.is_valid(raise_exception=True)
            entries = []
            for i, t in enumerate(data.validated_data["texts"]):
                model = t.pop("model", "")
                entries.append({"line": i + 1, **t, "source": model or t.get("source", "")})
        try:
            entries = services.attach_items(campaign=campaign, entries=entries)
        except services.ReferenceImportError as exc:
            first = exc.errors[0]
            return error_response(400, "invalid", _("Entry %(line)d: %(message)s") % first,
                                  field=f"texts[{first['line'] - 1}]" if upload is None else "file", lines=exc.errors[:100])
        user = request.user if not getattr(request.user, "token", None) else None
        created = services.add_reference_texts(campaign=campaign, entries=entries, uploaded_by=user)
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class PolicySerializer(serializers.ModelSerializer):
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0)
    near_duplicate = serializers.FloatField(min_value=0.05, max_value=1.0)
    reference_match = serializers.FloatField(min_value=0.05, max_value=1.0, required=False)
    text_weight = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)

    class Meta:
        model = AuthenticityPolicy
        fields = ["enabled", "threshold", "near_duplicate", "compare_same_item", "reference_match", "text_signal",
                  "text_weight"]


class PolicyView(CampaignScoped, APIView):
    required_action = Action.MANAGE_CAMPAIGNS

    @extend_schema(summary="A campaign's authenticity policy", responses=PolicySerializer)
    def get(self, request, campaign_id: int):
        return Response(PolicySerializer(policy_for(self.campaign())).data)

    @extend_schema(summary="Change a campaign's authenticity policy (rescores its answers)",
                   request=PolicySerializer, responses=PolicySerializer)
    def patch(self, request, campaign_id: int):
        campaign = self.campaign()
        data = PolicySerializer(policy_for(campaign), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        policy = services.set_policy(campaign=campaign, **data.validated_data)  # rescores on commit
        return Response(PolicySerializer(policy).data)


class TextCheckIn(serializers.Serializer):
    text = serializers.CharField(max_length=20000, trim_whitespace=False, allow_blank=True)


class TextCheck(APIView):
    """Hygiene warnings for the labelling page: diacritics missing, mixed scripts, invisible characters."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Check a text for stripped diacritics and mixed scripts", request=TextCheckIn,
                   responses=dict)
    def post(self, request):
        data = TextCheckIn(data=request.data)
        data.is_valid(raise_exception=True)
        raw = data.validated_data["text"]
        stripped = is_stripped_vietnamese(raw)
        mixed = is_mixed_script(raw)
        warnings = []
        if stripped:
            warnings.append({"code": "stripped_vietnamese", "message": _(
                "This looks like Vietnamese typed without diacritics. Please add the tone marks.")})
        if mixed:
            warnings.append({"code": "mixed_script", "message": _(
                "Some words mix letters from different alphabets (for example Cyrillic letters that look Latin).")})
        return Response({
            "stripped_vietnamese": stripped,
            "mixed_script": mixed,
            "mixed_words": scripts(raw)["mixed_words"],
            # normalize_text = NFC + invisible-character stripping, so the difference after NFC is the latter.
            "invisible_characters_removed": len(unicodedata.normalize("NFC", raw)) - len(clean(raw)),
            "warnings": warnings,
        })
