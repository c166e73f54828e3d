"""First start: the platform admin, an organisation, its first project manager and an API token.

Run after ``migrate``. Non-interactive with flags or environment variables (``BOOTSTRAP_*``, below), asking
for what is missing when a terminal is attached (``--no-input`` never asks). Idempotent: an account, the
organisation, the membership and the token that already exist are kept as they are (passwords are not reset;
an existing token's key cannot be shown again), so it is safe in a start script.
"""
from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify

from organizations.models import ApiToken, Membership, Organization
from organizations.services import create_api_token, save_membership
from review.roles import sync_role_groups

FIELDS = [  # option, environment variable, prompt, secret
    ("admin_email", "BOOTSTRAP_ADMIN_EMAIL", "Platform admin e-mail", False),
    ("admin_password", "BOOTSTRAP_ADMIN_PASSWORD", "Platform admin password", True),
    ("org_name", "BOOTSTRAP_ORG_NAME", "Organisation name", False),
    ("manager_email", "BOOTSTRAP_MANAGER_EMAIL", "Project manager e-mail", False),
    ("manager_password", "BOOTSTRAP_MANAGER_PASSWORD", "Project manager password (empty: set it later)", True),
]


class Command(BaseCommand):
    help = "Create the platform admin, an organisation, its first project manager and an API token (idempotent)."

    def add_arguments(self, parser):
        for option, env, prompt, _secret in FIELDS:
            parser.add_argument(f"--{option.replace('_', '-')}", dest=option, help=f"{prompt} (or {env})")
        parser.add_argument("--org-slug", help="organisation slug (default: from its name; or BOOTSTRAP_ORG_SLUG)")
        parser.add_argument("--token-name", default=os.environ.get("BOOTSTRAP_TOKEN_NAME", "bootstrap"),
                            help="API token name (BOOTSTRAP_TOKEN_NAME); one active token of that name is kept")
        parser.add_argument("--token-scopes", default=os.environ.get(
            "BOOTSTRAP_TOKEN_SCOPES", ",".join(choice for choice, _ in ApiToken.Scope.choices)),
            help="comma-separated scopes (default: all)")
        parser.add_argument("--token-file", default=os.environ.get("BOOTSTRAP_TOKEN_FILE", ""),
                            help="write a new token's key to this file (mode 600) instead of printing it")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                            help="never ask; fail naming what is missing")

    def handle(self, *args, **options):
        values = self._values(options)
        slug = options.get("org_slug") or os.environ.get("BOOTSTRAP_ORG_SLUG") or slugify(values["org_name"])
        if not slug:
            raise CommandError("--org-slug: the organisation name gives no slug; give one")
        scopes = [s.strip() for s in options["token_scopes"].split(",") if s.strip()]
        valid = {choice for choice, _ in ApiToken.Scope.choices}
        if set(scopes) - valid:
            raise CommandError(f"--token-scopes: unknown {sorted(set(scopes) - valid)}; valid: {sorted(valid)}")
        with transaction.atomic():
            sync_role_groups()
            admin, admin_new = _account(values["admin_email"], values["admin_password"], superuser=True)
            org, org_new = Organization.objects.get_or_create(slug=slug, defaults={"name": values["org_name"]})
            manager, manager_new = _account(values["manager_email"], values["manager_password"], superuser=False)
            membership = Membership.objects.filter(organization=org, user=manager).first()
            if membership is None:
                save_membership(membership=Membership(organization=org, user=manager, role=Membership.Role.MANAGER),
                                by=admin)
            token = ApiToken.objects.filter(organization=org, name=options["token_name"], revoked_at=None).first()
            key = None
            if token is None or not token.is_active:
                token, key = create_api_token(organization=org, name=options["token_name"], scopes=scopes,
                                              created_by=manager)
        self._say("platform admin", admin.email, admin_new)
        self._say("organisation", f"{org.name} ({org.slug})", org_new)
        self._say("project manager", manager.email, manager_new)
        if key is None:
            self.stdout.write(f"API token: {token.name} ({token.prefix}…) exists; its key was shown when it was made")
        elif options["token_file"]:
            path = Path(options["token_file"])
            path.touch(mode=0o600, exist_ok=True)
            path.chmod(0o600)
            path.write_text(key + "\n")
            self.stdout.write(f"API token: {token.name} ({token.prefix}…) created; key written to {path}")
        else:
            self.stdout.write(f"API token: {token.name} created; key (shown once): {key}")

    def _values(self, options) -> dict:
        values = {}
        ask = options["interactive"] and sys.stdin.isatty()
        for option, env, prompt, secret in FIELDS:
            value = options.get(option) or os.environ.get(env, "")
            if not value and ask:
                value = getpass.getpass(f"{prompt}: ") if secret else input(f"{prompt}: ").strip()
            if not value and option != "manager_password":
                raise CommandError(f"--{option.replace('_', '-')} (or {env}) is required")
            values[option] = value
        for option in ("admin_email", "manager_email"):
            try:
                validate_email(values[option])
            except ValidationError:
                raise CommandError(f"--{option.replace('_', '-')}: {values[option]!r} is not an e-mail address") from None
        return values

    def _say(self, what: str, name: str, created: bool) -> None:
        self.stdout.write(f"{what}: {name} {'created' if created else 'exists, kept'}")


def _account(email: str, password: str, *, superuser: bool):
    """The account of this e-mail (username = e-mail, as allauth's sign-up makes them), its address verified."""
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).order_by("pk").first()
    created = user is None
    if created:
        user = User(username=email, email=email, is_staff=True, is_superuser=superuser)
        if password:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                option = "admin-password" if superuser else "manager-password"
                raise CommandError(f"--{option}: {' '.join(exc.messages)}") from None
            user.set_password(password)
        else:
            user.set_unusable_password()  # the manager sets one through "forgot password"
        user.save()
    elif superuser and not (user.is_superuser and user.is_staff):
        user.is_superuser = user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
    EmailAddress.objects.get_or_create(user=user, email__iexact=email,
                                       defaults={"email": email, "verified": True, "primary": True})
    return user, created
