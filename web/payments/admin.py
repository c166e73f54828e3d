"""Payments in the admin console.

Managers (organisation roles with the view action) see what their campaigns cost: per campaign (accepted
answers, pay, fees, cost per accepted answer, budget, held, left) above the list of earnings per answer, scoped
to their organisations by ``OrgScopedAdminMixin``; contributors appear by pseudonym. Payouts, batches and payout
accounts (contributors' bank details) open only to the finance platform role (``Action.FINANCE``).
"""
from __future__ import annotations

import csv
import io
import secrets

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contributors.models import ContributorProfile
from core.schema import SchemaError
from exports.engine import csv_cell
from organizations.access import Action, allows
from payments import bonuses, payouts, selectors
from payments.models import (
    Bonus,
    BonusRule,
    Earning,
    Entry,
    LedgerTransaction,
    Payout,
    PayoutAccount,
    PayoutBatch,
)
from tasks.models import Campaign
from web.console import CampaignListFilter, OrgScopedAdminMixin, organization_ids_for


@admin.register(Earning)
class EarningAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """The manager's cost view: cost per campaign on top, each answer's pay and fee below."""

    change_list_template = "admin/payments/earning/change_list.html"
    list_display = ["annotation_id", "campaign", "contributor", "state", "source", "pay", "fee", "cost",
                    "decided_at"]
    list_filter = ["state", "source", "campaign"]
    list_select_related = ["campaign", "contributor"]
    search_fields = ["=annotation_id"]
    date_hierarchy = "decided_at"

    @admin.display(description=gettext_lazy("cost (pay + fee)"))
    def cost(self, obj):
        return obj.pay + obj.fee

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        campaigns = selectors.campaigns_for_costs(organization_ids_for(request.user))
        extra_context = {**(extra_context or {}), "costs": selectors.campaign_costs(campaigns)}
        return super().changelist_view(request, extra_context)


def csv_response(header: list[str], rows, name: str) -> HttpResponse:
    """A CSV for accounting: UTF-8 with a BOM (spreadsheets read Vietnamese right), every cell through
    exports.engine.csv_cell so that text a spreadsheet would evaluate (=, +, -, @) is neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell("" if v is None else v) for v in row])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _iso(value) -> str:
    return value.isoformat() if value else ""


def parquet_response(columns: list[tuple[str, str]], rows, name: str) -> HttpResponse:
    """The same rows as a Parquet file with a typed schema (int64 đồng, UTC timestamps, strings), for accounting
    tools that read Parquet (pandas, DuckDB, Spark)."""
    import pyarrow as pa  # heavy library: loaded on first use, not in every web process
    import pyarrow.parquet as pq

    types = {"int": pa.int64(), "str": pa.string(), "time": pa.timestamp("us", tz="UTC")}
    schema = pa.schema([(col, types[kind]) for col, kind in columns])
    data = list(zip(*rows, strict=True)) if rows else [[] for _c in columns]
    table = pa.Table.from_arrays([pa.array(list(values), type=schema.field(i).type)
                                  for i, values in enumerate(data)], schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    response = HttpResponse(out.getvalue(), content_type="application/vnd.apache.parquet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def accounting_export(columns: list[tuple[str, str]], rows, name: str, fmt: str) -> HttpResponse:
    """One export, two formats: ``rows`` are typed values (ints, datetimes, text); CSV writes timestamps ISO 8601."""
    rows = list(rows)
    if fmt == "parquet":
        return parquet_response(columns, [[None if v == "" and kind != "str" else v for v, (_c, kind)
                                           in zip(row, columns, strict=True)] for row in rows], f"{name}.parquet")
    return csv_response([c for c, _k in columns],
                        ([_iso(v) if kind == "time" else v for v, (_c, kind) in zip(row, columns, strict=True)]
                         for row in rows), f"{name}.csv")


PAYOUT_COLUMNS = [("batch", "int"), ("batch_state", "str"), ("batch_created_at", "time"),
                  ("reference", "str"), ("contributor_pseudonym", "str"), ("account_name", "str"), ("bank_bin", "str"),
                  ("gross_vnd", "int"), ("tax_vnd", "int"), ("net_vnd", "int"), ("state", "str"),
                  ("requested_at", "time"), ("settled_at", "time"), ("failure_reason", "str"), ("batch_layout", "str")]
ENTRY_COLUMNS = [("transaction", "int"), ("created_at", "time"), ("kind", "str"), ("key", "str"), ("campaign", "int"),
                 ("annotation", "int"), ("payout", "str"), ("memo", "str"), ("entry", "int"), ("account", "int"),
                 ("account_kind", "str"), ("account_owner", "str"), ("amount_vnd", "int")]


class FinanceOnlyMixin:
    """Open to the finance platform role (and superusers) only, whatever Django permissions say."""

    def has_module_permission(self, request):
        return allows(request.user, Action.FINANCE) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return allows(request.user, Action.FINANCE) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return allows(request.user, Action.FINANCE) and super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PayoutAccount)
class PayoutAccountAdmin(FinanceOnlyMixin, admin.ModelAdmin):
    list_display = ["contributor", "bank_bin", "account_number", "account_name", "tax_code", "updated_at"]
    search_fields = ["account_number", "account_name", "tax_code"]
    readonly_fields = ["contributor", "bank_bin", "account_number", "account_name", "tax_code", "updated_at"]

    def has_change_permission(self, request, obj=None):
        return False  # the contributor changes it on their payout page


@admin.register(Payout)
class PayoutAdmin(FinanceOnlyMixin, admin.ModelAdmin):
    list_display = ["reference", "contributor", "state", "gross", "tax", "net", "bank_bin", "account_number",
                    "account_name", "batch", "requested_at", "settled_at"]
    list_filter = ["state"]
    list_select_related = ["contributor", "batch"]
    search_fields = ["reference", "account_number"]
    readonly_fields = [f.name for f in Payout._meta.fields]
    actions = ["approve_batch"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=gettext_lazy("Approve selected requests as one bank batch"), permissions=["change"])
    def approve_batch(self, request, queryset):
        try:
            batch = payouts.approve_batch(user=request.user,
                                          payout_ids=queryset.filter(state=Payout.State.REQUESTED)
                                          .values_list("pk", flat=True))
        except SchemaError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return None
        self.message_user(request, _("Batch %(id)s approved: download its bank file.") % {"id": batch.pk})
        return redirect("admin:payments_payoutbatch_change", batch.pk)


class BankResultForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Bank result file (CSV: reference,status,amount[,reason])"))


@admin.register(PayoutBatch)
class PayoutBatchAdmin(FinanceOnlyMixin, admin.ModelAdmin):
    change_form_template = "admin/payments/payoutbatch/change_form.html"
    list_display = ["id", "state", "approved_by", "created_at", "transfers"]
    list_filter = ["state"]
    readonly_fields = ["state", "approved_by", "created_at"]
    fields = ["state", "layout", "approved_by", "created_at"]
    actions = ["export_csv", "export_parquet"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "layout":
            return forms.ChoiceField(label=db_field.verbose_name, help_text=db_field.help_text, choices=[
                (key, layout.get("label", key)) for key, layout in payouts.bank_layouts().items()])
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        payouts.set_batch_layout(user=request.user, batch=obj, layout=form.cleaned_data["layout"])

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _export(self, queryset, fmt: str):
        rows = (Payout.objects.filter(batch__in=queryset).select_related("batch", "contributor__contributor")
                .order_by("batch_id", "id"))
        return accounting_export(PAYOUT_COLUMNS, (
            [p.batch_id, p.batch.state, p.batch.created_at, p.reference,
             getattr(getattr(p.contributor, "contributor", None), "pseudonym", ""), p.account_name, p.bank_bin,
             p.gross, p.tax, p.net, p.state, p.requested_at, p.settled_at, p.failure_reason, p.batch.layout]
            for p in rows),
            "payout-batches", fmt)

    @admin.action(description=gettext_lazy("Export selected batches as CSV for accounting"), permissions=["view"])
    def export_csv(self, request, queryset):
        return self._export(queryset, "csv")

    @admin.action(description=gettext_lazy("Export selected batches as Parquet for accounting"), permissions=["view"])
    def export_parquet(self, request, queryset):
        return self._export(queryset, "parquet")

    @admin.display(description=gettext_lazy("transfers"))
    def transfers(self, obj):
        return obj.payouts.count()

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:batch_id>/bank.csv", view(self.bank_file_view), name="payments_payoutbatch_bank_file"),
            path("<int:batch_id>/vietqr.csv", view(self.vietqr_view), name="payments_payoutbatch_vietqr"),
            path("<int:batch_id>/import/", view(self.import_view), name="payments_payoutbatch_import"),
            *super().get_urls(),
        ]

    def _batch(self, request, batch_id: int) -> PayoutBatch:
        batch = PayoutBatch.objects.filter(pk=batch_id).first()
        if batch is None or not self.has_view_permission(request, batch):
            raise Http404("No such batch.")
        return batch

    @staticmethod
    def _csv(text: str, name: str) -> HttpResponse:
        response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        return response

    def bank_file_view(self, request, batch_id: int):
        """The batch's bank-transfer file in its layout (or ``?layout=`` another one)."""
        batch = self._batch(request, batch_id)
        layout = request.GET.get("layout") or batch.layout
        if layout not in payouts.bank_layouts():
            raise Http404("No such layout.")
        return self._csv(payouts.bank_file(batch, layout), f"batch-{batch.pk}-bank-{layout}.csv")

    def vietqr_view(self, request, batch_id: int):
        batch = self._batch(request, batch_id)
        lines = ["reference,amount,vietqr"]
        lines += [f"{p.reference},{p.net},{payouts.vietqr_payload(p)}" for p in batch.payouts.order_by("id")]
        return self._csv("\n".join(lines) + "\n", f"batch-{batch.pk}-vietqr.csv")

    def import_view(self, request, batch_id: int):
        batch = self._batch(request, batch_id)
        if not self.has_change_permission(request, batch):
            raise Http404("No such batch.")
        form = BankResultForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                done = payouts.import_bank_result(user=request.user, batch=batch,
                                                  content=form.cleaned_data["file"].read())
            except SchemaError as exc:
                form.add_error("file", f"{exc.field}: {exc.message}")
            else:
                self.message_user(request, _("Bank result imported: %(paid)s paid, %(failed)s failed.")
                                  % {"paid": done.paid, "failed": done.failed})
                return redirect("admin:payments_payoutbatch_change", batch.pk)
        return TemplateResponse(request, "admin/payments/payoutbatch/import.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "original": batch, "form": form,
            "title": _("Import the bank result of batch %(id)s") % {"id": batch.pk},
        })

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if batch is not None:
            extra["payouts"] = batch.payouts.order_by("id")
            extra["links"] = {name: reverse(f"admin:payments_payoutbatch_{name}", args=[batch.pk])
                              for name in ("bank_file", "vietqr", "import")}
        return super().change_view(request, object_id, form_url, extra)


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(FinanceOnlyMixin, admin.ModelAdmin):
    """The ledger, read-only: every balanced transaction with its entries."""

    list_display = ["created_at", "kind", "key", "campaign", "annotation_id", "payout", "memo"]
    list_filter = ["kind"]
    search_fields = ["key", "=annotation_id"]
    readonly_fields = ["key", "kind", "campaign", "annotation_id", "payout", "memo", "created_at"]
    actions = ["export_entries_csv", "export_entries_parquet"]

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _export(self, queryset, fmt: str):
        rows = (Entry.objects.filter(transaction__in=queryset)
                .select_related("transaction__payout", "account__contributor__contributor", "account__campaign")
                .order_by("transaction_id", "id"))

        def owner(account) -> str:
            if account.contributor_id:
                profile = getattr(account.contributor, "contributor", None)
                return f"contributor:{profile.pseudonym if profile else account.contributor_id}"
            return f"campaign:{account.campaign_id}" if account.campaign_id else "platform"

        return accounting_export(ENTRY_COLUMNS, (
            [e.transaction_id, e.transaction.created_at, e.transaction.kind, e.transaction.key,
             e.transaction.campaign_id, e.transaction.annotation_id,
             e.transaction.payout.reference if e.transaction.payout_id else "", e.transaction.memo, e.pk,
             e.account_id, e.account.kind, owner(e.account), e.amount] for e in rows), "ledger-entries", fmt)

    @admin.action(description=gettext_lazy("Export the entries of selected transactions as CSV"),
                  permissions=["view"])
    def export_entries_csv(self, request, queryset):
        return self._export(queryset, "csv")

    @admin.action(description=gettext_lazy("Export the entries of selected transactions as Parquet"),
                  permissions=["view"])
    def export_entries_parquet(self, request, queryset):
        return self._export(queryset, "parquet")


@admin.register(BonusRule)
class BonusRuleAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """A campaign's bonuses (per answer, milestone, quality tiers); its managers set them."""

    list_display = ["campaign", "per_answer", "milestone_every", "milestone_amount", "tiers"]
    list_select_related = ["campaign"]

    def save_model(self, request, obj, form, change):
        if not allows(request.user, Action.MANAGE_CAMPAIGNS, obj.campaign.organization_id):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


class ManualBonusForm(forms.Form):
    campaign = forms.ModelChoiceField(label=gettext_lazy("campaign"), queryset=Campaign.objects.none())
    pseudonym = forms.CharField(label=gettext_lazy("contributor (pseudonym)"), max_length=40)
    amount = forms.CharField(label=gettext_lazy("amount (đồng)"), max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    reason = forms.CharField(label=gettext_lazy("reason (the contributor sees it)"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}))
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        managed = [org for org in (organization_ids_for(user) or
                                   Campaign.objects.values_list("organization_id", flat=True).distinct())
                   if allows(user, Action.MANAGE_CAMPAIGNS, org)]
        self.fields["campaign"].queryset = Campaign.objects.filter(organization_id__in=managed).order_by("-id")


@admin.register(Bonus)
class BonusAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """Every bonus decision of the manager's campaigns, posted or not and why; a manager's one-off grant."""

    list_display = ["created_at", "campaign", "contributor", "kind", "amount", "state", "reason", "refusal"]
    list_filter = ["state", "kind", CampaignListFilter]
    list_select_related = ["campaign", "contributor"]
    readonly_fields = [f.name for f in Bonus._meta.fields]
    actions = ["retry_refused"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=gettext_lazy("Retry the refused bonuses of these campaigns (after a top-up)"),
                  permissions=["add"])
    def retry_refused(self, request, queryset):
        n = 0
        for campaign in Campaign.objects.filter(pk__in=queryset.values("campaign_id")):
            if allows(request.user, Action.MANAGE_CAMPAIGNS, campaign.organization_id):
                n += bonuses.retry_refused(campaign=campaign, by=request.user)
        self.message_user(request, _("%(n)s refused bonus(es) posted.") % {"n": n})

    def add_view(self, request, form_url="", extra_context=None):
        """Grant a one-off bonus: a campaign the user manages, a contributor who worked in it, an amount, a reason."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ManualBonusForm(request.POST or None, user=request.user,
                               initial={"token": secrets.token_urlsafe(16)})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            person = ContributorProfile.objects.filter(pseudonym=data["pseudonym"].strip()).select_related("user").first()
            try:
                if person is None:
                    raise SchemaError("pseudonym", _("No contributor has this pseudonym."))
                bonus = bonuses.grant_manual(campaign=data["campaign"], contributor=person.user, amount=data["amount"],
                                             reason=data["reason"], by=request.user, token=data["token"])
            except SchemaError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                if bonus.state == Bonus.State.PAID:
                    self.message_user(request, _("Bonus of %(amount)s đồng posted.") % {"amount": bonus.amount})
                else:
                    self.message_user(request, bonus.refusal, messages.WARNING)
                return redirect("admin:payments_bonus_changelist")
        return TemplateResponse(request, "admin/payments/bonus/grant.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": _("Grant a bonus"),
        })
