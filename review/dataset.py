"""Reads for the dataset view (Argilla's dataset view is the model): a campaign's items filtered by consensus
state, agreement, confidence, authenticity reason, contributor region and gold, searched in Vietnamese with or
without diacritics, sorted. The HTML page, the REST API and the selection actions all filter through
``parse_filters`` + ``dataset_items`` so "all matching" means the same rows everywhere.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import connection
from django.db.models import Exists, F, OuterRef, TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from annotations.models import Annotation, Consensus
from authenticity.models import AuthenticityScore
from authenticity.reasons import REASONS
from contributors.models import ContributorProfile, Region
from core.schema import SchemaError
from core.vietnamese import search_key
from organizations.access import Action, allows
from organizations.models import Membership
from tasks.models import Campaign, Item

from .models import ReviewDecision, ReviewRequest

# Sort keys a request may name → the ORM ordering (consensus figures put items without consensus last).
SORTS = {
    "-id": ["-id"],
    "id": ["id"],
    "agreement": [F("consensus__agreement").asc(nulls_last=True), "id"],
    "-agreement": [F("consensus__agreement").desc(nulls_last=True), "id"],
    "confidence": [F("consensus__confidence").asc(nulls_last=True), "id"],
    "-confidence": [F("consensus__confidence").desc(nulls_last=True), "id"],
    "answers": ["done_count", "id"],
    "-answers": ["-done_count", "id"],
}
NO_CONSENSUS = "none"
MAX_SELECTION = 100_000  # "all matching" beyond this is refused: split the selection with filters
QUERY_MAX = 200


@dataclass(frozen=True)
class DatasetFilters:
    state: str = ""
    min_agreement: float | None = None
    max_agreement: float | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    reason: str = ""
    region: str = ""
    gold: str = ""  # "", "1" (gold only), "0" (no gold)
    q: str = ""
    sort: str = "-id"

    def as_params(self) -> dict:
        """The filters as query parameters (empty ones left out), for links that keep them."""
        return {k: v for k, v in asdict(self).items() if v not in ("", None) and not (k == "sort" and v == "-id")}


def _fraction(params, name: str) -> float | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise SchemaError(name, _("Give a number between 0 and 1.")) from None
    if not 0 <= value <= 1:
        raise SchemaError(name, _("Give a number between 0 and 1."))
    return value


def parse_filters(params) -> DatasetFilters:
    """The dataset filters from query parameters (a QueryDict or dict). A bad value raises SchemaError naming
    the parameter; unknown parameters are ignored (page, selection...)."""
    state = (params.get("state") or "").strip()
    if state and state != NO_CONSENSUS and state not in Consensus.State.values:
        raise SchemaError("state", _("Unknown consensus state."))
    reason = (params.get("reason") or "").strip()
    if reason and reason not in REASONS:
        raise SchemaError("reason", _("Unknown authenticity reason."))
    region = (params.get("region") or "").strip()
    if region and region not in Region.values:
        raise SchemaError("region", _("Unknown region."))
    gold = (params.get("gold") or "").strip()
    if gold not in ("", "0", "1"):
        raise SchemaError("gold", _("Use 1 for gold items only, 0 to leave them out."))
    sort = (params.get("sort") or "-id").strip()
    if sort not in SORTS:
        raise SchemaError("sort", _("Unknown sort order."))
    q = (params.get("q") or "").strip()
    if len(q) > QUERY_MAX:
        raise SchemaError("q", _("The search text is too long."))
    return DatasetFilters(
        state=state, min_agreement=_fraction(params, "min_agreement"), max_agreement=_fraction(params, "max_agreement"),
        min_confidence=_fraction(params, "min_confidence"), max_confidence=_fraction(params, "max_confidence"),
        reason=reason, region=region, gold=gold, q=q, sort=sort,
    )


def dataset_campaigns(user):
    """Campaigns whose dataset this person (or token) may see: those of organisations where the role allows
    ``Action.VIEW`` (the one permission model decides; superusers see every campaign)."""
    if not (user and user.is_authenticated):
        return Campaign.objects.none()
    token = getattr(user, "token", None)
    if token is not None:
        return Campaign.objects.filter(organization_id=token.organization_id) if allows(user, Action.VIEW) else \
            Campaign.objects.none()
    if user.is_superuser:
        return Campaign.objects.all()
    org_ids = [org for org, role in Membership.objects.filter(user=user).values_list("organization_id", "role")
               if allows(user, Action.VIEW, org)]
    return Campaign.objects.filter(organization_id__in=org_ids)


def dataset_items(campaign: Campaign, filters: DatasetFilters):
    """The campaign's items matching the filters, in the requested order, with their consensus joined."""
    items = Item.objects.filter(campaign=campaign).select_related("consensus")
    if filters.state == NO_CONSENSUS:
        items = items.filter(consensus__isnull=True)
    elif filters.state:
        items = items.filter(consensus__state=filters.state)
    for name, lookup in (("min_agreement", "consensus__agreement__gte"), ("max_agreement", "consensus__agreement__lte"),
                         ("min_confidence", "consensus__confidence__gte"),
                         ("max_confidence", "consensus__confidence__lte")):
        value = getattr(filters, name)
        if value is not None:
            items = items.filter(**{lookup: value})
    if filters.gold:
        items = items.filter(is_gold=filters.gold == "1")
    if filters.region:
        # Answers by people of that region, through the profile's user id (no join to the user table): the
        # planner probes each candidate item's few answers against a hashed list of the region's people.
        people = ContributorProfile.objects.filter(region=filters.region).values("user_id")
        items = items.filter(Exists(Annotation.objects.filter(item=OuterRef("pk"), contributor_id__in=people)))
    if filters.reason:
        items = items.filter(pk__in=_items_with_reason(campaign, filters.reason))
    if filters.q:
        key = search_key(filters.q)
        if key:
            # search_text is stored in search_key form: a plain LIKE, served by the trigram index on PostgreSQL.
            items = items.filter(search_text__contains=key)
    return items.order_by(*SORTS[filters.sort])


def _items_with_reason(campaign: Campaign, reason: str):
    """Ids of the campaign's items with an answer whose authenticity reasons include ``reason``. PostgreSQL:
    jsonb containment, served by the GIN index on the reasons (authenticity migration 0004); elsewhere the
    list's JSON text holds each code quoted."""
    scores = AuthenticityScore.objects.filter(campaign=campaign)
    if connection.vendor == "postgresql":
        scores = scores.filter(reasons__contains=[reason])
    else:
        scores = scores.annotate(reason_text=Cast("reasons", TextField())).filter(reason_text__contains=f'"{reason}"')
    return scores.values("annotation__item_id")


def selected_item_ids(campaign: Campaign, *, filters: DatasetFilters, all_matching: bool, ids) -> list[int]:
    """The items a selection action applies to: every matching item, or the ticked ids that belong to the
    campaign (an id from elsewhere is dropped, never acted on). Raises SchemaError when empty or too large."""
    if all_matching:
        chosen = list(dataset_items(campaign, filters).order_by().values_list("id", flat=True)[:MAX_SELECTION + 1])
    else:
        wanted = {int(i) for i in ids if str(i).isdigit()}
        if len(wanted) > MAX_SELECTION:
            raise SchemaError("items", _("Too many items selected."))
        chosen = list(Item.objects.filter(campaign=campaign, pk__in=wanted).values_list("id", flat=True)) \
            if wanted else []
    if not chosen:
        raise SchemaError("items", _("Select at least one item."))
    if len(chosen) > MAX_SELECTION:
        raise SchemaError("items", _("At most %(n)d items per action: narrow the filters.") % {"n": MAX_SELECTION})
    return sorted(chosen)


def page_details(items: list[Item]) -> dict[int, dict]:
    """What a page of rows shows beside each item, in five queries whatever the page size: the answers'
    contributors by pseudonym and region (never an account id or e-mail), authenticity reasons, review state."""
    ids = [item.pk for item in items]
    out: dict[int, dict] = {pk: {"contributors": [], "regions": set(), "reasons": set(), "reviewed": False,
                                 "review_requested": False} for pk in ids}
    if not ids:
        return out
    answers = list(Annotation.objects.filter(item_id__in=ids).values_list("item_id", "contributor_id"))
    profiles = dict(
        (uid, (pseudonym, region)) for uid, pseudonym, region in ContributorProfile.objects.filter(
            user_id__in={uid for _item, uid in answers}).values_list("user_id", "pseudonym", "region"))
    for item_id, uid in answers:
        pseudonym, region = profiles.get(uid, ("", ""))
        out[item_id]["contributors"].append(pseudonym or _("unknown contributor"))
        if region:
            out[item_id]["regions"].add(region)
    for item_id, reasons in AuthenticityScore.objects.filter(annotation__item_id__in=ids).values_list(
            "annotation__item_id", "reasons"):
        out[item_id]["reasons"].update(reasons or [])
    for item_id in ReviewDecision.objects.filter(item_id__in=ids, is_current=True).values_list("item_id", flat=True):
        out[item_id]["reviewed"] = True
    for item_id in ReviewRequest.objects.filter(item_id__in=ids, closed_at__isnull=True).values_list(
            "item_id", flat=True):
        out[item_id]["review_requested"] = True
    for row in out.values():
        row["regions"] = sorted(row["regions"])
        row["reasons"] = sorted(row["reasons"])
    return out


def requested_for_review(items):
    """Narrow a review-queue queryset to the items a manager sent to review and no reviewer has decided yet."""
    return items.filter(Exists(ReviewRequest.objects.filter(item=OuterRef("pk"), closed_at__isnull=True)))

