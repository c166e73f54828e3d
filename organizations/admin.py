from django.contrib import admin, messages

from .models import ApiToken, Membership, Organization
from .services import create_api_token, revoke_api_token


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
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
        messages.warning(request, f"Copy this key now, it will not be shown again: {key}")

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_api_token(token=token)
