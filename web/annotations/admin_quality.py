"""Admin pages for consensus re-score jobs and each campaign's quality report (registered via admin.py)."""
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from annotations.models import CampaignQuality, ConsensusJob
from annotations.selectors import campaign_quality_report
from consensus.engine import start_campaign_rescore
from web.console import OrgScopedAdminMixin


@admin.register(ConsensusJob)
class ConsensusJobAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """Progress and figures of campaign re-score jobs (read-only: jobs are started from Campaign quality)."""

    org_lookup = "campaign__organization"
    list_display = ["id", "campaign", "status", "stage", "progress_percent", "method", "n_answers", "n_items",
                    "trigger", "created_at", "finished_at"]
    list_filter = ["status", "trigger"]
    list_select_related = ["campaign"]
    readonly_fields = [f.name for f in ConsensusJob._meta.fields]

    @admin.display(description=_("progress"))
    def progress_percent(self, obj):
        return f"{obj.progress * 100:.0f}%"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _table(headers: list, rows: list) -> str:
    """An escaped HTML table (contributor pseudonyms and class names are data, never markup)."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


@admin.register(CampaignQuality)
class CampaignQualityAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """Each campaign's quality report (Krippendorff's alpha, confusion matrices, contributor accuracy) and
    the on-demand whole-campaign re-score."""

    org_lookup = "organization"
    list_display = ["name", "task_type", "status", "scoring_method", "fitted_at", "last_job"]
    list_filter = ["status", "task_type"]
    search_fields = ["name"]
    actions = ["rescore"]
    fields = ["name", "task_type", "report_summary", "report_questions", "report_contributors"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("scoring")

    @admin.display(description=_("method"))
    def scoring_method(self, obj):
        scoring = getattr(obj, "scoring", None)
        return scoring.method if scoring else "-"

    @admin.display(description=_("last fit"))
    def fitted_at(self, obj):
        scoring = getattr(obj, "scoring", None)
        return scoring.fitted_at if scoring else "-"

    @admin.display(description=_("last job"))
    def last_job(self, obj):
        job = ConsensusJob.objects.filter(campaign=obj).order_by("-id").first()
        return f"{job.get_status_display()} ({job.progress * 100:.0f}%)" if job else "-"

    @admin.action(description=_("Re-score consensus of the selected campaigns now"))
    def rescore(self, request, queryset):
        for campaign in queryset:
            job = start_campaign_rescore(campaign=campaign, trigger="manual", user=request.user)
            self.message_user(request, _("%(campaign)s: consensus job %(job)s is %(status)s.") % {
                "campaign": campaign.name, "job": job.pk, "status": job.get_status_display()}, messages.INFO)

    def _report(self, obj):
        if not hasattr(obj, "_quality_report"):
            obj._quality_report = campaign_quality_report(obj)
        return obj._quality_report

    @admin.display(description=_("summary"))
    def report_summary(self, obj):
        r = self._report(obj)
        rows = [(_("method"), r["method"] or "-"), (_("algorithm version"), r["algorithm_version"] or "-"),
                (_("last fit"), r["fitted_at"] or "-"), (_("answers"), r["n_answers"]),
                (_("mean confidence"), r["mean_confidence"]), (_("mean agreement"), r["mean_agreement"])]
        rows += [(state, n) for state, n in r["states"].items()]
        bias = r.get("position_bias")
        if bias:
            rows.append((_("position bias (left / right)"), f"{bias['left']} / {bias['right']}"))
            rows.append((_("share picking the left response"), bias["share_left"] if bias["n"] else "-"))
            rows.append((_("binomial test p-value"), f"{bias['p_value']:.3g}" if bias["n"] else "-"))
        job = r["last_job"]
        if job:
            rows.append((_("last job"), f"{job['status']} {job['stage']} {job['progress'] * 100:.0f}%"))
        return _table([_("figure"), _("value")], rows)

    @admin.display(description=_("questions"))
    def report_questions(self, obj):
        parts = []
        for name, q in self._report(obj)["questions"].items():
            parts.append(format_html(
                "<h3>{}</h3><p>{}: {} ({}) · {}: {}</p>{}", name, _("Krippendorff's alpha"),
                q["alpha"] if q["alpha"] is not None else "-", q["metric"], _("answers"), q["n_answers"],
                _table([_("consensus \\ answer"), *q["classes"]],
                       [[c, *row] for c, row in zip(q["classes"], q["confusion"], strict=True)]),
            ))
        return format_html_join("", "{}", ((p,) for p in parts)) if parts else "-"

    @admin.display(description=_("contributors"))
    def report_contributors(self, obj):
        rows = [
            (c["contributor"], c["answers"], c["agreement_with_consensus"], c["estimated_accuracy"],
             f"{c['gold_correct']}/{c['gold_seen']}")
            for c in self._report(obj)["contributors"][:200]
        ]
        return _table([_("contributor"), _("answers"), _("agreement with consensus"), _("estimated accuracy"),
                       _("gold")], rows) if rows else "-"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD")  # the page is a report; the action is the only write
