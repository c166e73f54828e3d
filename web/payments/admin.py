"""Payments in the admin console.

Managers (organisation roles with the view action) see what their campaigns cost: per campaign (accepted
answers, pay, fees, cost per accepted answer, budget, held, left) above the list of earnings per answer, scoped
to their organisations by ``OrgScopedAdminMixin``; contributors appear by pseudonym. Payouts, batches and payout
accounts (contributors' bank details) open only to the finance platform role (``Action.FINANCE``).
"""
from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.schema import SchemaError
from exports.engine import csv_cell
from organizations.access import Action, allows
from payments import payouts, selectors
from payments.models import Earning, Entry, LedgerTransaction, Payout, PayoutAccount, PayoutBatch
from web.console import OrgScopedAdminMixin, organization_ids_for


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
    list_display = ["contributor", "bank_bin", "account_number", "account_name", "updated_at"]
    search_fields = ["account_number", "account_name"]
    readonly_fields = ["contributor", "bank_bin", "account_number", "account_name", "updated_at"]

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
    actions = ["export_csv"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=gettext_lazy("Export selected batches as CSV for accounting"), permissions=["view"])
    def export_csv(self, request, queryset):
        rows = (Payout.objects.filter(batch__in=queryset).select_related("batch", "contributor__contributor")
                .order_by("batch_id", "id"))
        return csv_response(
            ["batch", "batch_state", "batch_created_at", "reference", "contributor_pseudonym", "account_name",
             "bank_bin", "gross_vnd", "tax_vnd", "net_vnd", "state", "requested_at", "settled_at", "failure_reason"],
            ([p.batch_id, p.batch.state, _iso(p.batch.created_at), p.reference,
              getattr(getattr(p.contributor, "contributor", None), "pseudonym", ""), p.account_name, p.bank_bin,
              p.gross, p.tax, p.net, p.state, _iso(p.requested_at), _iso(p.settled_at), p.failure_reason]
             for p in rows), "payout-batches.csv")

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
        batch = self._batch(request, batch_id)
        return self._csv(payouts.bank_file(batch), f"batch-{batch.pk}-bank.csv")

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
    actions = ["export_entries_csv"]

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=gettext_lazy("Export the entries of selected transactions as CSV"),
                  permissions=["view"])
    def export_entries_csv(self, request, queryset):
        rows = (Entry.objects.filter(transaction__in=queryset)
                .select_related("transaction__payout", "account__contributor__contributor", "account__campaign")
                .order_by("transaction_id", "id"))

        def owner(account) -> str:
            if account.contributor_id:
                profile = getattr(account.contributor, "contributor", None)
                return f"contributor:{profile.pseudonym if profile else account.contributor_id}"
            return f"campaign:{account.campaign_id}" if account.campaign_id else "platform"

        return csv_response(
            ["transaction", "created_at", "kind", "key", "campaign", "annotation", "payout", "memo", "entry",
             "account", "account_kind", "account_owner", "amount_vnd"],
            ([e.transaction_id, _iso(e.transaction.created_at), e.transaction.kind, e.transaction.key,
              e.transaction.campaign_id, e.transaction.annotation_id,
              e.transaction.payout.reference if e.transaction.payout_id else "", e.transaction.memo, e.pk,
              e.account_id, e.account.kind, owner(e.account), e.amount] for e in rows), "ledger-entries.csv")
