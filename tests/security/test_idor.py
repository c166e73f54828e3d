"""IDOR: every route that takes an object id, tried by another organisation and another contributor.

The test walks the URL configuration, so a new route with an id is covered automatically, and it
fails when a route takes an id kind it does not know how to fill (add it to OWNED below).
"""
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from organizations.models import ApiToken, Membership
from organizations.services import create_api_token
from tasks.models import Assignment, Campaign, Item
from workqueue.lease import lease_next_item

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "put", "patch", "delete"]
# Organisation-scoped reads that must answer 404 (never 403, never data) to another organisation's token.
# (token-detail answers 403 to every token before any lookup: tokens are managed by a signed-in org admin.)
STRICT_404_FOR_TOKEN = {
    "campaign-detail", "annotation-list", "consensus-list", "campaign-items", "campaign-exports",
    "campaign-imports", "export-detail", "export-download", "webhook-detail", "webhook-deliveries",
    "import-detail", "import-errors", "campaign-quality", "consensus-jobs",
    "consensus-job-detail", "authenticity-report", "authenticity-scores",
}
# The tax certificate takes a year, not an object id: it shows only the signed-in contributor's own payouts
# (tests/test_payments_tax_exports.py checks that other people's payouts are left out).
SKIPPED_ROUTES = {"serve", "contributor-tax-certificate"}
# Active campaigns are open to every eligible contributor of the platform, whichever organisation
# runs them: these (route, method) pairs are meant to succeed for a person who is not the owner.
OPEN_TO_CONTRIBUTORS = {("label-campaign", "get"), ("task-next", "post")}  # /assets/m/<signed token>/: the id is a signature, covered in the media tests


def id_routes():
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.name
    for route, name in walk(get_resolver().url_patterns):
        if route.startswith("admin/") or name in SKIPPED_ROUTES:
            continue
        kwargs = re.findall(r"<(?:int|str):(\w+)>", route)
        if kwargs:
            yield route, name, kwargs


@pytest.fixture
def victim(make_campaign, make_contributor, org):
    """Objects of organisation A and contributor A."""
    from annotations.models import ConsensusJob
    from exports.models import Webhook
    from exports.services import request_export
    from tasks.import_jobs import start_import_job
    from tasks.services import create_personal_token

    campaign = make_campaign(overlap=2)
    contributor = make_contributor()
    assignment = lease_next_item(user=contributor, campaign=campaign)
    assert isinstance(assignment, Assignment)
    token, _key = create_api_token(organization=org, name="victim", scopes=[ApiToken.Scope.READ_DATASETS])
    personal, _ = create_personal_token(user=contributor, name="victim phone")
    export = request_export(campaign=campaign, fmt="jsonl", layout="raw")
    job = start_import_job(campaign=campaign, file=ContentFile(b'{"text": "xin ch\\u00e0o"}\n', name="a.jsonl"))
    webhook = Webhook.objects.create(organization=org, url="https://hooks.example.com/x")
    consensus_job = ConsensusJob.objects.create(campaign=campaign)
    from exports.models import DatasetVersion

    version = DatasetVersion.objects.create(organization=org, campaign=campaign, export=export, number=1, layout="raw",
                                            format="jsonl", path="versions/x.zip", sha256="0" * 64)
    return {
        "campaign_id": campaign.pk,
        "assignment_id": assignment.pk,
        "item_id": assignment.item_id,
        "export_id": export.pk,
        "webhook_id": webhook.pk,
        "org_token_id": token.pk,
        "personal_token_id": personal.pk,
        "import_job_id": job.pk,
        "consensus_job_id": consensus_job.pk,
        "version_id": version.pk,
        "objects": {"campaign": campaign, "assignment": assignment, "token": token, "webhook": webhook},
        "contributor": contributor,
    }


def fill(name: str, kwarg: str, victim: dict):
    if kwarg == "token_id":
        return victim["personal_token_id"] if name.startswith("personal") else victim["org_token_id"]
    if kwarg == "job_id":
        return victim["consensus_job_id"] if name.startswith("consensus") else victim["import_job_id"]
    if kwarg in ("attempt_id", "document_id", "annotation_id"):
        return 10**9  # the contributor side has no such object of the victim here; ids must still 404
    if kwarg == "task_type":
        return "moderation"
    if kwarg == "number":
        return 0  # the first media of a qualification attempt: the attempt is the victim's or a missing one
    if kwarg in victim:
        return victim[kwarg]
    raise AssertionError(f"route {name!r} takes {kwarg!r}: add it to the IDOR test")


@pytest.fixture
def attackers(other_org, make_contributor):
    token_b = APIClient()
    _t, key = create_api_token(organization=other_org, name="attacker",
                               scopes=[ApiToken.Scope.READ_DATASETS, ApiToken.Scope.MANAGE_CAMPAIGNS])
    token_b.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    contributor_b = Client()
    contributor_b.force_login(make_contributor())
    manager = make_contributor()
    manager.is_staff = True
    manager.save()
    group, _ = Group.objects.get_or_create(name="idor-managers")
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=["tasks", "annotations", "exports"]))
    manager.groups.add(group)
    Membership.objects.create(organization=other_org, user=manager, role=Membership.Role.ADMIN)
    manager_b = Client()
    manager_b.force_login(manager)
    return {"token of another org": token_b, "another contributor": contributor_b, "manager of another org": manager_b}


def test_every_id_route_refuses_other_organisations_and_contributors(victim, attackers):
    routes = list(id_routes())
    assert len(routes) > 20
    failures = []
    for route, name, kwargs in routes:
        path = "/" + route
        for kwarg in kwargs:
            path = re.sub(rf"<(?:int|str|slug):{kwarg}>", str(fill(name, kwarg, victim)), path)
        path = re.sub(r"<slug:task_type>", "moderation", path)
        for who, client in attackers.items():
            for method in METHODS:
                if method in ("get", "delete"):
                    res = getattr(client, method)(path)
                elif isinstance(client, APIClient):
                    res = getattr(client, method)(path, data={}, format="json")
                else:
                    res = getattr(client, method)(path, data="{}", content_type="application/json")
                status = res.status_code
                if who != "token of another org" and (name, method) in OPEN_TO_CONTRIBUTORS:
                    assert status < 500, f"{who} {method} {path} -> {status}"
                    continue
                if status >= 500 or 200 <= status < 300 or (300 <= status < 400 and "login" not in res.get("Location", "")):
                    failures.append(f"{who} {method.upper()} {path} ({name}) -> {status}")
                if who == "token of another org" and method == "get" and name in STRICT_404_FOR_TOKEN and status != 404:
                    failures.append(f"{who} GET {path} ({name}) -> {status}, expected 404")
    assert not failures, "\n".join(failures)
    objs = victim["objects"]
    campaign = Campaign.objects.get(pk=objs["campaign"].pk)
    assert campaign.status == Campaign.Status.ACTIVE and campaign.name == objs["campaign"].name
    assert Assignment.objects.get(pk=objs["assignment"].pk).state == Assignment.State.LEASED
    assert ApiToken.objects.get(pk=objs["token"].pk).revoked_at is None
    assert Item.objects.filter(campaign=campaign).count() == 5
    from exports.models import Webhook

    assert Webhook.objects.filter(pk=objs["webhook"].pk, is_active=True).exists()


