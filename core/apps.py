from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The floor under every app: schema errors, raw SQL, cache and batching helpers, API helpers."""

    name = "core"
