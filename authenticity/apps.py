from django.apps import AppConfig


class AuthenticityConfig(AppConfig):
    name = "authenticity"
    verbose_name = "Data authenticity"
