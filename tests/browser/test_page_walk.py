"""Every page the three kinds of user see, at a phone and a laptop viewport, in Vietnamese and English.

The walk loads the demo (web.demo.load_demo: one campaign per task type, a manager, contributors), logs in
once per kind of user and viewport, and visits each page once per language. On every page it checks:

- no text element overflows its box (scrollWidth > clientWidth on an element holding text, unless the
  element is a deliberate scroller, overflow auto/scroll) and the page itself does not scroll sideways;
- no console error and no uncaught script error, with the site's Content-Security-Policy enforced;
- on contributor and review pages, no raw key (``speech_recording``) or raw JSON shown as text;
- axe-core (vendored from npm by tools/vendor/axe/vendor.sh, injected here) finds no serious or critical
  violation.

Every failure on every page is collected and reported together; screenshots go to test-artifacts/walk/.

Adding a page is one line in PAGES: ``Page(who, url_name, args)`` where ``who`` is "contributor",
"manager" or "customer", ``url_name`` is the name given to ``reverse()``, and ``args`` are names looked
up in the walk's context (``campaign``, ``arena_campaign``, ``item``, ``task_type``, ``year``; see ``_context``). A page whose
raw JSON is still being replaced sets ``raw_json_ok=True``, and a data table allowed to scroll sideways
inside its own box on a laptop ``wide_table_ok=True``, each with the reason beside it. Labelling pages
are added for every registered task type automatically.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse

from tests.helpers import wait_for_celery_idle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe" / "axe.min.js"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "laptop": {"width": 1366, "height": 800}}
LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Page:
    who: str  # "contributor", "manager" (reviewer / project manager) or "customer" (the AI team's admin)
    url_name: str
    args: tuple[str, ...] = ()
    raw_json_ok: bool = False  # the page still shows raw JSON on purpose (say why beside it)
    wide_table_ok: bool = False  # a data table may scroll sideways in its own box at 1366 px (say why)

    @property
    def raw_checked(self) -> bool:
        return self.who in ("contributor", "manager") and not self.url_name.startswith("admin:")


PAGES = [
    Page("contributor", "label-home"),
    Page("contributor", "contributor-dashboard"),
    Page("contributor", "contributor-profile"),
    Page("contributor", "contributor-identity"),
    Page("contributor", "contributor-qualifications"),
    Page("contributor", "contributor-qualification", ("task_type",)),
    Page("contributor", "contributor-terms"),
    Page("contributor", "contributor-data"),
    Page("contributor", "contributor-statement"),
    Page("contributor", "contributor-payout"),
    Page("contributor", "contributor-tax-certificate", ("year",)),
    Page("manager", "admin:index"),
    Page("manager", "review:queue"),
    # Answers are shown as JSON until each type's read-only review widgets land (issue #20, first bullet).
    Page("manager", "review:item", ("item",)),
    Page("manager", "review:dataset", ("campaign",)),
    Page("manager", "review:dashboard", ("campaign",)),
    Page("manager", "review:leaderboard", ("arena_campaign",)),
    Page("manager", "admin:tasks_campaign_changelist"),
    Page("manager", "admin:tasks_campaign_add"),
    Page("manager", "admin:tasks_campaign_change", ("campaign",)),
    # Ten columns of item counters: the table scrolls inside its box at 1366 px (issue #20 leaves it so).
    Page("manager", "admin:tasks_item_changelist", wide_table_ok=True),
    Page("manager", "admin:review_reviewdecision_changelist"),
    Page("customer", "admin:index"),
    Page("customer", "admin:tasks_campaign_changelist"),
    Page("customer", "review:dashboard", ("campaign",)),
    Page("customer", "review:dataset", ("campaign",)),
    Page("customer", "admin:exports_export_changelist"),
    Page("customer", "admin:exports_datasetversion_changelist"),
    Page("customer", "admin:organizations_apitoken_changelist"),
]

# Text nodes that are a snake_case key or the start of a JSON object/array: what a person should never read.
RAW_KEY = r"^[a-z]+(_[a-z]+)+$"  # letters only: a pseudonym such as c_60da83a5af432201 is meant to be read
RAW_JSON = r'^[\[{]\s*"'

PROBE = """([rawKey, rawJson, checkRaw, laptop]) => {
  const out = {overflow: [], raw: []};
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const skip = ['SCRIPT', 'STYLE', 'TEMPLATE', 'svg', 'OPTION', 'SELECT', 'TEXTAREA', 'INPUT', 'CANVAS', 'IMG', 'VIDEO', 'AUDIO'];
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    out.overflow.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
  const flagged = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (skip.includes(el.tagName) || !el.textContent.trim() || !visible(el)) continue;
    const style = getComputedStyle(el);
    if (style.display === 'inline' || el.clientWidth <= 1 || style.clip !== 'auto' && style.position === 'absolute') continue;
    // A sideways scroller is fine on a phone (a wide table); on a laptop it hides columns off the right edge.
    const scrolls = ['auto', 'scroll'].includes(style.overflowX) || el.closest('pre');
    if (el.scrollWidth > el.clientWidth + 1 && (!scrolls || laptop && !el.closest('pre')))
      flagged.push(el);
    const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (checkRaw && own && (new RegExp(rawKey).test(own) || new RegExp(rawJson).test(own)))
      out.raw.push(`${describe(el)} "${own.replace(/\\s+/g, ' ').slice(0, 60)}"`);
  }
  // Report the innermost box that overflows: its ancestors overflow only because of it.
  for (const el of flagged)
    if (!flagged.some(other => other !== el && el.contains(other)))
    {
      // Name the descendant that sticks out furthest, which is what to fix.
      const right = el.getBoundingClientRect().right;
      let culprit = null, furthest = right;
      for (const child of el.querySelectorAll('*')) {
        const r = child.getBoundingClientRect().right;
        if (r > furthest + 1 && child.getClientRects().length) { furthest = r; culprit = child; }
      }
      // Django admin's home floats "Recent actions" into the content's right margin on purpose.
      if (culprit && culprit.id === 'content-related') continue;
      const text = el.textContent.replace(/\\s+/g, ' ').trim().slice(0, 40);
      out.overflow.push(`${describe(el)} "${text}" ${el.scrollWidth} > ${el.clientWidth}` +
                        (culprit ? ` (${describe(culprit)} ends ${Math.round(furthest - right)} px past it)` : ''));
    }
  return out;
}"""

# Colours do not change with the viewport: the contrast rule, axe's slowest, runs at the laptop size only.
AXE_RUN = """async (contrast) => {
  const result = await axe.run(document, {resultTypes: ['violations'],
                                         rules: {'color-contrast': {enabled: contrast}}});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
}"""


def _context(org) -> dict:
    """What page arguments name: the demo's moderation campaign and one of its answered items."""
    from django.utils import timezone

    from tasks.models import Campaign

    campaign = Campaign.objects.filter(organization=org, task_type="moderation").order_by("pk").first()
    arena = Campaign.objects.filter(organization=org, task_type="arena").order_by("pk").first()
    return {"campaign": campaign.pk, "arena_campaign": arena.pk, "item": campaign.items.order_by("pk").first().pk,
            "task_type": "moderation", "year": timezone.now().year}


def _answer_some(campaign_ids, contributors):
    """Each demo contributor answers an item of each campaign, so the review pages have answers to show."""
    from tasks.models import Campaign
    from workqueue.lease import lease_next_item
    from workqueue.submit import submit_annotation

    campaign = Campaign.objects.get(pk=campaign_ids["campaign"])
    for user in contributors:
        assignment = lease_next_item(user=user, campaign=campaign)
        submit_annotation(user=user, assignment_id=assignment.pk, payload={"categories": ["safe"]})


def _label_pages(org) -> list[tuple[Page, str]]:
    """The labelling page of the demo's first campaign of every task type."""
    from tasks.models import Campaign

    seen, pages = set(), []
    for campaign in Campaign.objects.filter(organization=org).order_by("pk"):
        if campaign.task_type not in seen:
            seen.add(campaign.task_type)
            path = reverse("label-campaign", args=[campaign.pk])
            pages.append((Page("contributor", "label-campaign"), f"{path}#{campaign.task_type}"))
    return pages


def _customer(org):
    """The AI team's own admin: an organisation admin who is neither a superuser nor a platform manager."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from organizations.models import Membership
    from web.demo import DEMO_PASSWORD

    user = get_user_model().objects.create_user(username="ai@demo.local", email="ai@demo.local",
                                                password=DEMO_PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Membership.objects.create(organization=org, user=user, role=Membership.Role.ADMIN)
    return user


def test_every_page_at_both_viewports_in_both_languages(browser, live_server, eager_tasks, artifacts_dir, settings):
    from web.demo import DEMO_PASSWORD, load_demo

    # Every headless chromium on a machine has one device fingerprint, and the per-device log-in limit
    # (30 an hour, counted in the shared cache) is reached by the suite's other browser logins; the limit
    # has its own test (tests/test_contributors.py).
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_device": "10000/m/key"}

    started = time.monotonic()
    demo = load_demo()
    org = demo["organization"]
    args = _context(org)
    _answer_some(args, demo["contributors"])
    _customer(org)
    users = {"contributor": "an@demo.local", "manager": "pm@demo.local", "customer": "ai@demo.local"}
    walk = [(p, reverse(p.url_name, args=[args[a] for a in p.args])) for p in PAGES] + _label_pages(org)
    axe_source = AXE.read_text()
    spent = {"load": 0.0, "probe": 0.0, "axe": 0.0, "screenshot": 0.0}
    shots = artifacts_dir / "walk"
    shots.mkdir(exist_ok=True)
    problems: list[str] = []
    visits = 0

    only = os.environ.get("PAGE_WALK_ONLY")  # a debugging aid: "manager" walks only the manager's pages
    for who, email in users.items():
        if only and who != only:
            continue
        for size, viewport in VIEWPORTS.items():
            phone = size == "phone"
            context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone, locale="vi-VN")
            page = context.new_page()
            page.set_default_timeout(30000)  # a loaded 2-core CI machine
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("input[name=login]", email)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("form[action*='login'] button[type=submit]")
            try:
                page.wait_for_url(lambda url: "/accounts/login" not in url)
            except Exception as exc:
                page.screenshot(path=str(shots / f"login-failed-{who}-{size}.png"))
                raise AssertionError(f"{who} could not log in at {size}: still on {page.url}") from exc
            for language in LANGUAGES:
                context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
                for spec, path in walk:
                    if spec.who != who:
                        continue
                    errors.clear()
                    where = f"{who} {size} {language} {path}"
                    clock = time.monotonic()
                    response = page.goto(live_server.url + path.split("#")[0])
                    visits += 1
                    if response is None or response.status >= 400:
                        problems.append(f"{where}: HTTP {response and response.status}")
                        continue
                    if "/accounts/login" in page.url:
                        problems.append(f"{where}: sent to the login page")
                        continue
                    _settle(page)
                    clock = _lap(spent, "load", clock)
                    found = page.evaluate(PROBE, [RAW_KEY, RAW_JSON, spec.raw_checked and not spec.raw_json_ok,
                                                  size == "laptop" and not spec.wide_table_ok])
                    clock = _lap(spent, "probe", clock)
                    page.evaluate(axe_source)  # evaluated by the test, outside the page's CSP
                    serious = page.evaluate(AXE_RUN, size == "laptop")
                    clock = _lap(spent, "axe", clock)
                    problems += [f"{where}: overflow {o}" for o in found["overflow"]]
                    problems += [f"{where}: raw text {r}" for r in found["raw"]]
                    problems += [f"{where}: axe {v}" for v in serious]
                    problems += [f"{where}: console {e}" for e in errors]
                    name = re.sub(r"[^a-z0-9]+", "-", f"{who}-{size}-{language}-{path}".lower()).strip("-")
                    page.screenshot(path=str(shots / f"{name}.png"))
                    _lap(spent, "screenshot", clock)
            context.close()

    wait_for_celery_idle()
    elapsed = time.monotonic() - started
    print(f"page walk: {visits} page visits in {elapsed:.0f} s (" +
          ", ".join(f"{k} {v:.0f} s" for k, v in spent.items()) + ")")
    assert not problems, f"{len(problems)} problems on {visits} page visits:\n" + "\n".join(problems)


def _lap(spent: dict, what: str, since: float) -> float:
    now = time.monotonic()
    spent[what] += now - since
    return now


def _settle(page):
    """Wait for the labelling page's own fetch of its item (other pages are whole at "load"), then close the
    first-use instructions so the task itself is what is checked and photographed."""
    if not page.locator("#labeler-config").count():
        return
    try:
        page.wait_for_load_state("networkidle", timeout=3000)
    except Exception:  # noqa: BLE001 - a page still fetching by now is checked as it stands
        pass
    if page.locator("#instructions:not([hidden])").count():
        page.locator("[data-close=instructions]").click()
