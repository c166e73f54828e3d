from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from audit.services import request_ip
from organizations.models import ApiToken, Membership, Organization
from organizations.services import (
    create_api_token,
    platform_roles_held,
    record_platform_roles_change,
    revoke_api_token,
    save_membership,
    withdraw_membership,
)
from web.console import OrgScopedAdminMixin


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


class MembershipWritesThroughServices:
    """Role grants, changes and withdrawals go through organizations.services (audited)."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        for membership in formset.save(commit=False):
            save_membership(membership=membership, by=request.user, ip=request_ip(request))
        for membership in formset.deleted_objects:
            withdraw_membership(membership=membership, by=request.user, ip=request_ip(request))
        formset.save_m2m()


@admin.register(Organization)
class OrganizationAdmin(MembershipWritesThroughServices, OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    search_fields = ["name", "slug"]

    def has_add_permission(self, request):
        return request.user.is_superuser  # organisations are created by the platform's staff


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    """Granting a role = a membership; the member's groups and admin access follow (review.roles)."""

    list_display = ["user", "organization", "role"]
    list_filter = ["role", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "organization"]
    raw_id_fields = ["user"]
    search_fields = ["user__email", "user__username"]

    def save_model(self, request, obj, form, change):
        save_membership(membership=obj, by=request.user, ip=request_ip(request))

    def delete_model(self, request, obj):
        withdraw_membership(membership=obj, by=request.user, ip=request_ip(request))

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user"):
            withdraw_membership(membership=membership, by=request.user, ip=request_ip(request))


@admin.register(ApiToken)
class ApiTokenAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_select_related = ["organization"]
    fields = ["organization", "name", "scopes", "expires_at", "prefix", "created_at", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "created_at", "revoked_at", "last_used_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, key = create_api_token(
            organization=obj.organization, name=obj.name, scopes=obj.scopes or [], created_by=request.user,
            expires_at=obj.expires_at, ip=request_ip(request),
        )
        obj.pk = token.pk
        obj.prefix = token.prefix
        messages.warning(request, _("Copy this key now, it will not be shown again: %(key)s") % {"key": key})

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_api_token(token=token, by=request.user, ip=request_ip(request))


class PlatformRolesAuditedUserAdmin(UserAdmin):
    """Django's user admin; a change of the account's platform roles (its platform staff groups, superuser)
    is written to the audit log by the save itself (organizations.services.record_platform_roles_change)."""

    def save_model(self, request, obj, form, change):
        request._platform_roles_before = platform_roles_held(obj.pk)  # the groups are saved in save_related
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        record_platform_roles_change(user=form.instance, before=getattr(request, "_platform_roles_before", []),
                                     by=request.user, ip=request_ip(request))


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), PlatformRolesAuditedUserAdmin)
