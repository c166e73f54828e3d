"""A schemathesis check (loaded by the CLI through SCHEMATHESIS_HOOKS): the response follows the permission model.

The fuzz test computes, for the principal of this run, what ``organizations.access`` says of every
operation ("METHOD /path/template" -> allowed or not, with the action's name) and hands it over as a JSON
file named by ``AUTHZ_RULES``. This module runs in the schemathesis process and imports nothing of the
project: it only compares answers with that table.

- not allowed: never a 2xx (a refused principal must not act, nor read what its role does not open);
- allowed: never 401 or 403 (the principal's credentials and its role must be accepted);
- an operation without a rule fails: every operation in the schema must be in the model;
- a probe with a method the operation does not have (the coverage phase's TRACE...): never a 2xx, except
  OPTIONS (DRF's description of the route); HEAD on a read follows the read's rule.
"""
from __future__ import annotations

import json
import os

import schemathesis

_RULES: dict | None = None


def _rules() -> dict:
    """{"principal": str, "operations": {"METHOD /template": {"allowed": bool, "action": str}}}"""
    global _RULES
    if _RULES is None:
        with open(os.environ["AUTHZ_RULES"], encoding="utf-8") as handle:
            _RULES = json.load(handle)
    return _RULES


@schemathesis.check
def follows_the_permission_model(ctx, response, case):
    """2xx only where organizations.access allows this principal; no 401/403 where it does."""
    status = response.status_code
    principal = _rules()["principal"]
    label = f"{case.operation.method.upper()} {case.operation.path}"
    method = case.method.upper()
    if method != case.operation.method.upper() and not (method == "HEAD" and label.startswith("GET ")):
        # A probe with a method the operation lacks: OPTIONS is DRF's description of the route (it changes
        # nothing); any other method must be refused.
        if method != "OPTIONS" and 200 <= status < 300:
            raise AssertionError(f"{principal} got {status} for {method} {case.operation.path}")
        return None
    rule = _rules()["operations"].get(label)
    if rule is None:
        raise AssertionError(f"{label}: not in the permission model's table (tests/zz_fuzz/test_api_fuzz.py)")
    if not rule["allowed"] and 200 <= status < 300:
        raise AssertionError(f"{principal} got {status} on {label}, which needs {rule['action']!r} it lacks")
    if rule["allowed"] and status in (401, 403):
        raise AssertionError(f"{principal} was refused ({status}) on {label}, which {rule['action']!r} allows")
    return None
