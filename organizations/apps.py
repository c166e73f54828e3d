from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = _("Organisations")

    def ready(self) -> None:
        from audit.services import describe_platform_roles_with

        from .access import platform_roles_of  # imports models: only once the registry is ready

        describe_platform_roles_with(platform_roles_of)  # audit rows name the actor's platform roles
