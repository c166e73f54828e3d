from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from organizations.models import ApiToken, Membership, Organization
from organizations.services import create_api_token, revoke_api_token
from web.console import OrgScopedAdminMixin


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdminMixin, admin.ModelAdmin):
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
            expires_at=obj.expires_at,
        )
        obj.pk = token.pk
        obj.prefix = token.prefix
        messages.warning(request, _("Copy this key now, it will not be shown again: %(key)s") % {"key": key})

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_api_token(token=token)
