"""Staff side: status with reasons, identity review, qualification tests, fraud signals, personal data."""
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.services import Action as Audit
from audit.services import record, request_ip
from contributors import selectors, services
from contributors.models import (
    ContributorProfile,
    DeviceSighting,
    FraudSignal,
    IdentityDocument,
    ProfileChange,
    Qualification,
    QualificationAttempt,
    QualificationItem,
    QualificationTest,
    StatusChange,
    TrustScore,
)
from core.schema import SchemaError
from organizations.access import Action, allows
from tasks.types import get_task_type, task_type_choices
from web.contributors import selectors as page_selectors


class PlatformStaffOnly:
    """Contributors are the platform's: these pages open only to platform roles whose actions include
    ``platform_action`` (organizations.access), on top of the role group's Django permissions."""

    platform_action = Action.CONTRIBUTOR_IDENTITY

    def has_module_permission(self, request):
        return allows(request.user, self.platform_action) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return allows(request.user, self.platform_action) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return allows(request.user, self.platform_action) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return allows(request.user, self.platform_action) and super().has_delete_permission(request, obj)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    fk_name = "profile"
    fields = ["created_at", "from_status", "to_status", "reason", "changed_by"]
    readonly_fields = fields


class ProfileChangeInline(ReadOnlyInline):
    model = ProfileChange
    fields = ["created_at", "changes", "changed_by"]
    readonly_fields = fields


class TrustInline(ReadOnlyInline):
    model = TrustScore
    fields = ["task_type", "score", "gold_seen", "gold_correct", "consensus_seen", "consensus_agreed"]
    readonly_fields = fields


class QualificationInline(ReadOnlyInline):
    model = Qualification
    fields = ["task_type", "score", "granted_at", "granted_by"]
    readonly_fields = fields


class FraudSignalInline(ReadOnlyInline):
    model = FraudSignal
    fields = ["kind", "count", "detail", "resolved", "updated_at"]
    readonly_fields = fields


class ProfileStatusForm(forms.ModelForm):
    class Meta:
        model = ContributorProfile
        fields = ["status", "status_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "status" in self.fields:
            self.fields["status"].choices = [
                c for c in ContributorProfile.Status.choices if c[0] != ContributorProfile.Status.ERASED
            ]

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status")
        if status and status != ContributorProfile.Status.ACTIVE and not (cleaned.get("status_reason") or "").strip():
            self.add_error("status_reason", _("Give the contributor a reason."))
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason (the contributor sees it)"), widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(ContributorProfile)
class ContributorProfileAdmin(PlatformStaffOnly, admin.ModelAdmin):
    form = ProfileStatusForm
    list_display = ["pseudonym", "display_name", "email", "region", "province", "status", "identity_verified_at",
                    "open_signals", "erasure_requested_at", "created_at"]
    list_filter = ["status", "region", ("erasure_requested_at", admin.EmptyFieldListFilter),
                   ("identity_verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["pseudonym", "display_name", "user__email"]
    list_select_related = ["user"]
    fieldsets = [
        (_("Status"), {"fields": ["status", "status_reason", "status_changed_at", "level"]}),
        (_("Profile"), {"fields": ["pseudonym", "user", "display_name", "birth_year", "age_band", "gender", "region",
                                   "province", "dialect", "languages", "device_type", "consent_version", "consent_at",
                                   "identity_verified_at", "erasure_requested_at", "created_at"]}),
    ]
    readonly_fields = ["pseudonym", "user", "display_name", "birth_year", "age_band", "gender", "region", "province",
                       "dialect", "languages", "device_type", "consent_version", "consent_at", "identity_verified_at",
                       "erasure_requested_at", "created_at", "status_changed_at", "level"]
    inlines = [StatusChangeInline, FraudSignalInline, TrustInline, QualificationInline, ProfileChangeInline]
    actions = ["suspend", "ban", "reinstate", "export_personal_data", "erase_personal_data"]

    def has_add_permission(self, request):
        return False  # profiles come from sign-up

    @admin.display(description=_("e-mail"), ordering="user__email")
    def email(self, obj):
        return obj.user.email

    @admin.display(description=_("open fraud signals"))
    def open_signals(self, obj):
        return obj.fraud_signals.filter(resolved=False).count()

    @admin.display(description=_("verification level"))
    def level(self, obj):
        return selectors.verification_level(obj.user, obj)

    def get_readonly_fields(self, request, obj=None):
        # Status is moderation (organizations.access: contributors.moderate): a role that may change a profile
        # for another reason (a privacy officer) sees the status, and cannot set it through this form.
        readonly = list(super().get_readonly_fields(request, obj))
        if not self.has_moderate_permission(request):
            readonly += ["status", "status_reason"]
        return readonly

    def save_model(self, request, obj, form, change):
        # Status goes through the service: history, reasons, and a fresh gold window on reinstatement.
        initial = form.initial
        if "status" not in form.cleaned_data:
            return  # the form carries no status for this role: nothing on this page to save
        if form.cleaned_data["status"] != initial.get("status") or form.cleaned_data["status_reason"] != initial.get(
            "status_reason"
        ):
            if not self.has_moderate_permission(request):
                raise PermissionDenied
            fresh = ContributorProfile.objects.get(pk=obj.pk)
            services.change_status(
                profile=fresh, status=form.cleaned_data["status"], reason=form.cleaned_data["status_reason"],
                by=request.user, ip=request_ip(request),
            )

    def has_moderate_permission(self, request):
        return allows(request.user, Action.CONTRIBUTOR_MODERATE) and self.has_change_permission(request)

    def has_privacy_permission(self, request):
        return allows(request.user, Action.CONTRIBUTOR_PRIVACY)

    def _with_reason(self, request, queryset, status, title):
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                for profile in queryset:
                    try:
                        services.change_status(
                            profile=profile, status=status, reason=form.cleaned_data["reason"], by=request.user,
                            ip=request_ip(request),
                        )
                    except services.ContributorError as exc:
                        self.message_user(request, f"{profile}: {exc.message}", messages.ERROR)
                self.message_user(request, _("Done."), messages.SUCCESS)
                return None
        else:
            form = ReasonForm()
        return TemplateResponse(request, "contributors/admin_action.html", {
            **self.admin_site.each_context(request), "title": title, "form": form, "queryset": queryset,
            "action": request.POST.get("action"), "opts": self.model._meta,
        })

    @admin.action(description=_("Suspend (with a reason)"), permissions=["moderate"])
    def suspend(self, request, queryset):
        return self._with_reason(request, queryset, ContributorProfile.Status.SUSPENDED, _("Suspend contributors"))

    @admin.action(description=_("Ban (with a reason)"), permissions=["moderate"])
    def ban(self, request, queryset):
        return self._with_reason(request, queryset, ContributorProfile.Status.BANNED, _("Ban contributors"))

    @admin.action(description=_("Reinstate"), permissions=["moderate"])
    def reinstate(self, request, queryset):
        for profile in queryset.exclude(status=ContributorProfile.Status.ERASED):
            services.change_status(profile=profile, status=ContributorProfile.Status.ACTIVE,
                                   reason=str(_("Reinstated by staff.")), by=request.user, ip=request_ip(request))
        self.message_user(request, _("Reinstated."), messages.SUCCESS)

    @admin.action(description=_("Export personal data (JSON)"), permissions=["privacy"])
    def export_personal_data(self, request, queryset):
        data = {}
        for p in queryset.select_related("user"):
            data[p.pseudonym] = page_selectors.export_personal_data(p)
            record(action=Audit.PERSONAL_DATA_EXPORTED, by=request.user, ip=request_ip(request), subject=p.user,
                   target=f"contributors.contributorprofile:{p.pk}")
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2, default=str),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="personal-data-{timezone.now():%Y%m%d%H%M}.json"'
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.action(description=_("Erase personal data (keeps pseudonymised annotations)"), permissions=["privacy"])
    def erase_personal_data(self, request, queryset):
        if "apply" in request.POST:
            for profile in queryset.exclude(status=ContributorProfile.Status.ERASED):
                services.erase_personal_data(profile=profile, by=request.user)
            self.message_user(request, _("Personal data erased."), messages.SUCCESS)
            return None
        return TemplateResponse(request, "contributors/admin_action.html", {
            **self.admin_site.each_context(request), "title": _("Erase personal data"), "form": None,
            "queryset": queryset, "action": request.POST.get("action"), "opts": self.model._meta,
            "warning": _("E-mail, name, birth year, places, devices and ID documents are erased and the accounts "
                         "closed. Annotations stay, linked to the pseudonym only. This cannot be undone."),
        })


class IdentityReviewForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label=_("Decision"), required=False,
        choices=[("", "—"), ("approve", _("Approve")), ("reject", _("Reject"))],
    )

    class Meta:
        model = IdentityDocument
        fields = ["rejection_reason"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") and self.instance.state != IdentityDocument.State.PENDING:
            raise forms.ValidationError(_("This document was already reviewed."))
        if cleaned.get("decision") == "reject" and not (cleaned.get("rejection_reason") or "").strip():
            self.add_error("rejection_reason", _("Give the contributor a reason for the rejection."))
        return cleaned


@admin.register(IdentityDocument)
class IdentityDocumentAdmin(PlatformStaffOnly, admin.ModelAdmin):
    form = IdentityReviewForm
    list_display = ["profile", "state", "file_kind", "uploaded_at", "reviewed_at", "reviewed_by", "file_deleted_at"]
    list_filter = ["state"]
    list_select_related = ["profile", "reviewed_by"]
    search_fields = ["profile__pseudonym", "profile__user__email"]
    fields = ["profile", "document", "state", "uploaded_at", "decision", "rejection_reason", "reviewed_by",
              "reviewed_at", "file_deleted_at"]
    readonly_fields = ["profile", "document", "state", "uploaded_at", "reviewed_by", "reviewed_at", "file_deleted_at"]
    actions = ["approve"]

    def has_add_permission(self, request):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The page shows the document itself: every opening is in the contributor's access log.
        document = self.get_object(request, object_id)
        if document is not None and self.has_view_permission(request, document):
            record(action=Audit.IDENTITY_VIEWED, by=request.user, ip=request_ip(request),
                   subject=document.profile.user, target=f"contributors.identitydocument:{document.pk}",
                   detail={"purpose": "identity review", "method": request.method})
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("document"))
    def document(self, obj):
        if not obj.file:
            return _("deleted") if obj.file_deleted_at else "—"
        url = reverse("identity-document-file", args=[obj.pk])
        if obj.file_kind == "pdf":
            return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, _("Open the PDF"))
        return format_html('<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="" width="480"></a>', url)

    def save_model(self, request, obj, form, change):
        decision = form.cleaned_data.get("decision")
        if decision:
            services.review_identity_document(
                document=obj, approve=decision == "approve", reason=form.cleaned_data.get("rejection_reason", ""),
                by=request.user,
            )

    @admin.action(description=_("Approve"), permissions=["change"])
    def approve(self, request, queryset):
        for document in queryset.filter(state=IdentityDocument.State.PENDING):
            services.review_identity_document(document=document, approve=True, by=request.user)
        self.message_user(request, _("Approved."), messages.SUCCESS)


class QualificationTestForm(forms.ModelForm):
    task_type = forms.ChoiceField(label=_("task type"), choices=task_type_choices)

    class Meta:
        model = QualificationTest
        fields = ["task_type", "title", "instructions", "config", "pass_mark", "max_attempts", "cooldown_minutes",
                  "is_active"]

    def clean(self):
        cleaned = super().clean()
        if not 0 < (cleaned.get("pass_mark") or 0) <= 1:
            self.add_error("pass_mark", _("The pass mark is a share between 0 and 1."))
        if cleaned.get("max_attempts") == 0:
            self.add_error("max_attempts", _("Allow at least one attempt."))
        if cleaned.get("task_type"):
            try:
                cleaned["config"] = get_task_type(cleaned["task_type"]).validate_config(cleaned.get("config") or {})
            except SchemaError as exc:
                self.add_error("config", f"{exc.field}: {exc.message}" if exc.field else exc.message)
        return cleaned


class QualificationItemFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        test = self.instance
        try:
            task = get_task_type(test.task_type)
        except SchemaError:
            return
        for number, form in enumerate(self.forms, start=1):
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            try:
                payload = task.validate_item(form.cleaned_data["payload"], test.config)
                form.cleaned_data["payload"] = payload
                form.instance.payload = payload
                form.instance.gold_answer = task.validate_gold(form.cleaned_data["gold_answer"], test.config, payload)
            except SchemaError as exc:
                form.add_error(None, _("Question %(n)d: %(message)s") % {
                    "n": number, "message": f"{exc.field}: {exc.message}" if exc.field else exc.message})


class QualificationItemInline(admin.StackedInline):
    model = QualificationItem
    formset = QualificationItemFormSet
    extra = 1


@admin.register(QualificationTest)
class QualificationTestAdmin(PlatformStaffOnly, admin.ModelAdmin):
    platform_action = Action.CONTRIBUTOR_MODERATE

    form = QualificationTestForm
    list_display = ["title", "task_type", "pass_mark", "max_attempts", "cooldown_minutes", "is_active", "n_items"]
    inlines = [QualificationItemInline]

    @admin.display(description=_("questions"))
    def n_items(self, obj):
        return obj.items.count()


@admin.register(QualificationAttempt)
class QualificationAttemptAdmin(PlatformStaffOnly, admin.ModelAdmin):
    platform_action = Action.CONTRIBUTOR_MODERATE

    list_display = ["profile", "test", "number", "state", "correct", "total", "score", "started_at", "submitted_at"]
    list_filter = ["state", "test"]
    list_select_related = ["profile", "test"]
    search_fields = ["profile__pseudonym"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GrantForm(forms.ModelForm):
    task_type = forms.ChoiceField(label=_("task type"), choices=task_type_choices)

    class Meta:
        model = Qualification
        fields = ["profile", "task_type"]


@admin.register(Qualification)
class QualificationAdmin(PlatformStaffOnly, admin.ModelAdmin):
    platform_action = Action.CONTRIBUTOR_MODERATE

    form = GrantForm
    list_display = ["profile", "task_type", "score", "granted_at", "granted_by", "attempt"]
    list_filter = ["task_type"]
    raw_id_fields = ["profile"]
    search_fields = ["profile__pseudonym"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        granted = services.grant_qualification(
            profile=form.cleaned_data["profile"], task_type=form.cleaned_data["task_type"], by=request.user
        )
        obj.pk = granted.pk


@admin.register(FraudSignal)
class FraudSignalAdmin(PlatformStaffOnly, admin.ModelAdmin):
    platform_action = Action.CONTRIBUTOR_MODERATE

    list_display = ["profile", "kind", "count", "resolved", "created_at", "updated_at", "detail"]
    list_filter = ["kind", "resolved"]
    list_select_related = ["profile"]
    search_fields = ["profile__pseudonym"]
    readonly_fields = ["profile", "kind", "count", "detail", "created_at", "updated_at"]
    actions = ["mark_resolved"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Mark as resolved"), permissions=["change"])
    def mark_resolved(self, request, queryset):
        queryset.update(resolved=True)


@admin.register(DeviceSighting)
class DeviceSightingAdmin(PlatformStaffOnly, admin.ModelAdmin):
    list_display = ["user", "event", "ip", "short_fingerprint", "created_at"]
    list_filter = ["event"]
    search_fields = ["ip", "fingerprint", "user__email"]
    list_select_related = ["user"]

    @admin.display(description=_("device"))
    def short_fingerprint(self, obj):
        return obj.fingerprint[:16]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TrustScore)
class TrustScoreAdmin(PlatformStaffOnly, admin.ModelAdmin):
    platform_action = Action.CONTRIBUTOR_MODERATE

    list_display = ["contributor", "task_type", "score", "gold_seen", "gold_correct", "consensus_seen",
                    "consensus_agreed"]
    list_select_related = ["contributor"]
    list_filter = ["task_type"]
    search_fields = ["contributor__pseudonym"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
