"""Authentication backends: Django's and allauth's, with the per-request user load in raw SQL.

Every signed-in request loads its user by primary key; the ORM spent more CPU compiling that one-row
query than PostgreSQL spent running it (README, "The queue"). Everything else is the parents' code.
"""
from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.exceptions import PermissionDenied

from core import login_limit
from core.rawsql import fetch_one


class _RawUserLoad:
    def get_user(self, user_id):
        User = get_user_model()
        try:
            pk = User._meta.pk.to_python(user_id)
        except Exception:  # noqa: BLE001 - a tampered or stale session value: nobody
            return None
        user = fetch_one(User, f"t.{User._meta.pk.column} = %s", [pk])
        return user if user is not None and self.user_can_authenticate(user) else None


class _LoginLimit:
    """Every log-in form goes through authenticate(): refuse while the client is over its failure limit
    (core.login_limit), even with the right password; PermissionDenied stops the other backends too."""

    def authenticate(self, request, **credentials):
        if request is not None and login_limit.is_locked(request, credentials):
            raise PermissionDenied("Too many failed log-in attempts; try again later.")
        user = super().authenticate(request, **credentials)
        if user is not None and request is not None:
            login_limit.record_success(request, credentials)
        return user


class ModelBackend(_LoginLimit, _RawUserLoad, DjangoModelBackend):
    pass


class AuthenticationBackend(_LoginLimit, _RawUserLoad, AllauthBackend):
    pass
