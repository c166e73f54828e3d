"""The one predicate for "which items this contributor may be given", written once as SQL.

The PostgreSQL pick (lease.py) puts it into its statement; the portable pick (SQLite, the embedded demo) and
``remaining_for`` apply the same text to an ``Item`` queryset (``candidates``), so the three cannot drift
apart again (they did: ``remaining_for`` once counted items whose source was the contributor). README.md
explains each clause; tests/test_queue_predicate.py runs the rule on both databases.
"""
from __future__ import annotations

import re

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from tasks.models import Assignment, Item

_ASSIGNMENTS = Assignment._meta.db_table


def predicate_sql(item: str, *, gold: bool) -> str:
    """SQL true for a row of ``tasks_item`` named ``item`` that the contributor ``%(user)s`` may be given now in
    the campaign ``%(campaign)s`` (``%(gold)s`` is ``gold``): a regular item with an open slot (or, with ``gold``, any gold item), that the
    contributor did not provide themselves (a speech recording is not validated by its speaker), and that they
    never held in any state (answered, skipped, reported, expired: each item at most once per contributor)."""
    clauses = [f"{item}.campaign_id = %(campaign)s", f"{item}.is_gold = %(gold)s"]
    if not gold:  # gold items are served to every contributor once, whatever their counters say
        clauses.append(f"{item}.open_slots > 0")
    return " AND ".join((
        *clauses,
        f"({item}.source_contributor_id IS NULL OR {item}.source_contributor_id <> %(user)s)",
        f"NOT EXISTS (SELECT 1 FROM {_ASSIGNMENTS} mine WHERE mine.item_id = {item}.id"
        f" AND mine.contributor_id = %(user)s)",
    ))


_NAMED = re.compile(r"%\((\w+)\)s")


def candidates(*, campaign_id: int, user_id: int, gold: bool = False) -> QuerySet[Item]:
    """The items ``predicate_sql`` admits, as a queryset (the same SQL, its named parameters made positional)."""
    names: list[str] = []

    def positional(match: re.Match) -> str:
        names.append(match.group(1))
        return "%s"

    sql = _NAMED.sub(positional, predicate_sql(connection.ops.quote_name(Item._meta.db_table), gold=gold))
    values = {"campaign": campaign_id, "user": user_id, "gold": gold}
    return Item.objects.filter(RawSQL(sql, [values[name] for name in names], output_field=BooleanField()))
