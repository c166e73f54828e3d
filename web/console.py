"""Building blocks of the managers' console in the admin: organisation scoping and counts that don't scan.

Every ModelAdmin of an organisation's data mixes in ``OrgScopedAdminMixin``: a member sees only the
objects of organisations they belong to (``organizations.Membership``), superusers see everything,
and another organisation's object is a 404 (not a redirect that would confirm it exists).
"""
from __future__ import annotations

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from organizations.models import Membership
from tasks.models import Campaign

# How to reach the Organization from each model the console shows (model label -> lookup path).
ORG_LOOKUPS = {
    "organizations.organization": "",
    "organizations.membership": "organization",
    "organizations.apitoken": "organization",
    "tasks.campaign": "organization",
    "tasks.item": "campaign__organization",
    "tasks.assignment": "campaign__organization",
    "tasks.importjob": "campaign__organization",
    "annotations.annotation": "campaign__organization",
    "annotations.consensus": "campaign__organization",
    "review.reviewdecision": "campaign__organization",
    "review.reviewerappointment": "campaign__organization",
    "exports.export": "campaign__organization",
    "authenticity.authenticityscore": "campaign__organization",
    "payments.earning": "campaign__organization",
    "payments.bonus": "campaign__organization",
    "payments.bonusrule": "campaign__organization",
}


def organization_ids_for(user) -> set[int] | None:
    """Organisations whose data this user may see; None means all (superuser)."""
    if user.is_superuser:
        return None
    cache = getattr(user, "_console_org_ids", None)
    if cache is None:
        cache = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
        user._console_org_ids = cache
    return cache


def campaign_ids_for(user) -> list[int]:
    """The campaigns of the user's organisations (a short list, read once per request)."""
    cache = getattr(user, "_console_campaign_ids", None)
    if cache is None:

        cache = list(Campaign.objects.filter(organization_id__in=organization_ids_for(user) or []).order_by()
                     .values_list("id", flat=True))
        user._console_campaign_ids = cache
    return cache


def scope_to_user(queryset, user, lookup: str | None = None):
    """Filter a queryset to the organisations the user belongs to.

    Rows under campaigns are filtered by ``campaign_id IN (the user's campaigns)`` rather than by a join
    to the campaign table: the big table's own index and statistics answer it, so the planner's row
    estimate (used for the page count) is right and no join is needed.
    """
    if lookup is None:
        lookup = ORG_LOOKUPS[queryset.model._meta.label_lower]
    org_ids = organization_ids_for(user)
    if org_ids is None:
        return queryset
    if lookup.endswith("campaign__organization"):
        prefix = lookup[: -len("campaign__organization")]
        return queryset.filter(**{f"{prefix}campaign_id__in": campaign_ids_for(user)})
    key = f"{lookup}_id__in" if lookup else "pk__in"
    return queryset.filter(**{key: org_ids})


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, counts above ``exact_below`` come from the planner's estimate instead of a scan.

    The admin's paginator otherwise runs ``SELECT COUNT(*)`` over the (filtered) table on every page,
    which takes seconds at a million annotations. Small results keep their exact count.
    """

    exact_below = 20000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[getattr(queryset, "db", "default")]
        if connection.vendor != "postgresql" or not hasattr(queryset, "query"):
            return super().count
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except Exception:  # noqa: BLE001 - EmptyResultSet and friends: let Django count
            return super().count
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        estimate = int(plan[0]["Plan"].get("Plan Rows", 0))
        if estimate < self.exact_below:
            return super().count
        return estimate


def _pseudonym(user) -> str:
    if user is None:
        return "-"
    profile = getattr(user, "contributor", None)
    return profile.pseudonym if profile is not None else f"user {user.pk}"


class OrgScopedAdminMixin:
    """Scope a ModelAdmin's rows, foreign-key choices and object pages to the user's organisations.

    Contributors belong to the platform: a foreign key to a contributor's account (``PERSON_FIELDS``) is
    shown by pseudonym only, never by the account's name (its e-mail), in lists and object pages.
    """

    PERSON_FIELDS = ("contributor", "source_contributor")

    @admin.display(description=_("contributor"))
    def contributor_pseudonym(self, obj):
        return _pseudonym(obj.contributor)

    @admin.display(description=_("source contributor"))
    def source_contributor_pseudonym(self, obj):
        return _pseudonym(obj.source_contributor)

    def _person_fields(self):
        names = {f.name for f in self.model._meta.get_fields()}
        return [n for n in self.PERSON_FIELDS if n in names]

    def get_list_display(self, request):
        person = self._person_fields()
        return [f"{n}_pseudonym" if n in person else n for n in super().get_list_display(request)]

    def get_list_select_related(self, request):
        related = super().get_list_select_related(request)
        if isinstance(related, (list, tuple)):
            related = [*related, *(f"{n}__contributor" for n in self._person_fields() if n in related)]
        return related

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or []), *self._person_fields()]

    def get_readonly_fields(self, request, obj=None):
        person = self._person_fields()
        fields = [f for f in super().get_readonly_fields(request, obj) if f not in person]
        return [*fields, *(f"{n}_pseudonym" for n in person if f"{n}_pseudonym" not in fields)]

    org_lookup: str | None = None  # defaults to ORG_LOOKUPS[model]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_org_lookup(self) -> str:
        return self.org_lookup if self.org_lookup is not None else ORG_LOOKUPS[self.model._meta.label_lower]

    def get_queryset(self, request):
        return scope_to_user(super().get_queryset(request), request.user, self.get_org_lookup())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        lookup = ORG_LOOKUPS.get(db_field.related_model._meta.label_lower)
        if field is not None and lookup is not None and hasattr(field, "queryset"):
            field.queryset = scope_to_user(field.queryset, request.user, lookup)
        return field

    def _object_or_404(self, request, object_id):
        if object_id is not None and self.get_object(request, object_id) is None:
            raise Http404("No such object.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._object_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._object_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._object_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)


class CampaignListFilter(admin.SimpleListFilter):
    """Filter by campaign, listing only the user's organisations' campaigns (read from the small campaign
    table; the stock related filter would scan the million-row table for distinct campaign ids)."""

    title = _("campaign")
    parameter_name = "campaign__id__exact"

    def lookups(self, request, model_admin):

        campaigns = scope_to_user(Campaign.objects.all(), request.user).order_by("-id")[:200]
        return [(str(c.pk), f"{c.name} (#{c.pk})") for c in campaigns.only("id", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(campaign_id=int(value))
        return queryset
