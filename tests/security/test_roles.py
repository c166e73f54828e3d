"""One permission model (organizations.access): every role and every token scope against every write route.

The routes come from the URL configuration: any API view guarded by the organisation permissions is
covered as soon as it is routed, and a route that declares no action fails the guard test.
"""
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from audit.models import AuditEvent
from exports.models import Export, Webhook
from organizations.access import Action, role_allows, token_allows
from organizations.models import ApiToken, Membership
from organizations.permissions import HasOrganization, IsOrganizationAdmin, required_action
from organizations.services import create_api_token
from review.roles import sync_role_groups
from tasks.models import Campaign

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
# POSTs that change nothing (none today): name them here with the reason.
READ_ONLY_POSTS: set[tuple[str, str]] = set()
ROLES = list(Membership.Role)
SCOPE_SETS = [[ApiToken.Scope.READ_DATASETS], [ApiToken.Scope.MANAGE_CAMPAIGNS]]


def org_write_routes():
    """(route, name, view class, method) for every write method of every organisation API route."""
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.name, p.callback
    for route, name, callback in walk(get_resolver().url_patterns):
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if cls is None or not route.startswith("api/v1/"):
            continue
        guards = set(getattr(cls, "permission_classes", ()))
        if not guards & {HasOrganization, IsOrganizationAdmin}:
            continue
        for method in WRITE_METHODS:
            if hasattr(cls, method):
                yield route, name, cls, method


def action_of(cls, method: str) -> Action | None:
    if IsOrganizationAdmin in cls.permission_classes:
        return Action.TOKENS
    return required_action(cls(), SimpleNamespace(method=method.upper()))


@pytest.fixture
def world(org, make_campaign, make_contributor):
    from exports.services import request_export

    sync_role_groups()
    campaign = make_campaign(overlap=2)
    export = request_export(campaign=campaign, fmt="jsonl", layout="raw")
    webhook = Webhook.objects.create(organization=org, url="https://hooks.example.com/x")
    token, _ = create_api_token(organization=org, name="pipeline", scopes=[ApiToken.Scope.READ_DATASETS])
    members = {}
    for role in ROLES:
        user = make_contributor(f"{role}@lab-a.example")
        Membership.objects.create(organization=org, user=user, role=role)
        members[role] = user
    ids = {"campaign_id": campaign.pk, "export_id": export.pk, "webhook_id": webhook.pk, "token_id": token.pk,
           "job_id": 10**9, "version_id": 10**9}
    return SimpleNamespace(campaign=campaign, export=export, webhook=webhook, token=token, members=members, ids=ids)


def path_for(route: str, ids: dict) -> str:
    import re

    def fill(match):
        kwarg = match.group(1)
        assert kwarg in ids, f"route {route} takes {kwarg}: add it to the roles test's ids"
        return str(ids[kwarg])
    return "/" + re.sub(r"<(?:int|str|slug):(\w+)>", fill, route)


def call(client, method, path):
    if method == "delete":
        return client.delete(path)
    return getattr(client, method)(path, data={}, format="json")


def test_every_write_route_declares_a_write_action():
    routes = list(org_write_routes())
    assert len(routes) >= 12
    for route, name, cls, method in routes:
        action = action_of(cls, method)
        assert action is not None, f"{method.upper()} {route} ({name}) declares no action"
        if (name, method) not in READ_ONLY_POSTS:
            assert action != Action.VIEW, f"{method.upper()} {route} ({name}) is a write guarded by the view action"


def _check(client, allowed_for, world):
    failures = []
    for route, _name, cls, method in org_write_routes():
        action = action_of(cls, method)
        res = call(client, method, path_for(route, world.ids))
        allowed = allowed_for(action)
        if not allowed and res.status_code != 403:
            failures.append(f"{method.upper()} {route} ({action}) -> {res.status_code}, expected 403")
        if allowed and res.status_code in (401, 403):
            failures.append(f"{method.upper()} {route} ({action}) -> {res.status_code}, expected to be let through")
        if res.status_code >= 500:
            failures.append(f"{method.upper()} {route} -> {res.status_code}")
    return failures


@pytest.mark.parametrize("role", ROLES)
def test_session_principals_get_exactly_their_roles_actions(world, role):
    client = APIClient()
    client.force_login(world.members[role])
    before = (Export.objects.count(), Webhook.objects.count())
    failures = _check(client, lambda action: role_allows(role, action), world)
    assert not failures, "\n".join(failures)
    if not role_allows(role, Action.MANAGE_CAMPAIGNS):
        assert Campaign.objects.filter(pk=world.campaign.pk, status=Campaign.Status.ACTIVE).exists()
        assert (Export.objects.count(), Webhook.objects.count()) == before


@pytest.mark.parametrize("role", [Membership.Role.REVIEWER, Membership.Role.SUPPORT])
def test_view_only_roles_can_still_read(world, role):
    client = APIClient()
    client.force_login(world.members[role])
    assert client.get(f"/api/v1/campaigns/{world.campaign.pk}/").status_code == 200
    assert client.get(f"/api/v1/exports/{world.export.pk}/").status_code == 200
    # ...but not download the data itself
    assert client.get(f"/api/v1/exports/{world.export.pk}/download/").status_code == 403


@pytest.mark.parametrize("scopes", SCOPE_SETS, ids=lambda s: "+".join(s))
def test_token_principals_get_exactly_their_scopes_actions(world, org, scopes):
    token, key = create_api_token(organization=org, name="t", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    failures = _check(client, lambda action: token_allows(token, action), world)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_admin_export_page_post_follows_the_role(world, role):
    client = Client()
    client.force_login(world.members[role])
    before = Export.objects.count()
    res = client.post(f"/admin/tasks/campaign/{world.campaign.pk}/export/", {"format": "jsonl", "layout": "raw"})
    if role_allows(role, Action.EXPORT):
        assert res.status_code == 302
        assert Export.objects.count() == before + 1
        event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT_REQUESTED, actor=world.members[role])
        assert event.organization_id == world.campaign.organization_id and event.ip == "127.0.0.1"
    else:
        assert res.status_code == 403
        assert Export.objects.count() == before
        page = client.get(f"/admin/tasks/campaign/{world.campaign.pk}/export/")
        assert page.status_code == 200 and b'id="export-form"' not in page.content


@pytest.mark.parametrize("role", ROLES)
def test_console_rescore_and_review_posts_follow_the_role(world, role):
    client = Client()
    client.force_login(world.members[role])
    res = client.post(f"/review/campaigns/{world.campaign.pk}/rescore/")
    # refused: 403, or 404 where the console does not show the campaign to this member at all
    assert (res.status_code == 302) if role_allows(role, Action.RESCORE) else (res.status_code in (403, 404))
    item = world.campaign.items.first()
    res = client.post(f"/review/items/{item.pk}/", {"annotation": "0", "decision": "accept"})
    if not role_allows(role, Action.REVIEW):
        assert res.status_code in (403, 404)


def test_admin_role_groups_are_generated_from_the_table(world):
    reviewer = world.members[Membership.Role.REVIEWER]
    support = world.members[Membership.Role.SUPPORT]
    for user in (reviewer, support):
        assert user.has_perm("tasks.view_campaign")
        assert not user.has_perm("tasks.change_campaign")
        assert not user.has_perm("exports.add_export")
        assert not user.has_perm("exports.view_webhook")
        assert not any(p.startswith("contributors.") for p in user.get_all_permissions())
    manager = world.members[Membership.Role.MANAGER]
    assert manager.has_perm("tasks.change_campaign") and manager.has_perm("exports.add_export")
    assert not manager.has_perm("organizations.add_apitoken")
