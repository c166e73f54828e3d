"""One model row by hand-written SQL, built with Django's own field converters.

For the few one-row reads on every request (the session's user, the campaign, the contributor's
eligibility facts): the ORM spends more CPU compiling such a query than PostgreSQL spends running it,
and a RawQuerySet still maps its columns to fields on every call. This reads the model's concrete
columns in a fixed order and applies the converters the ORM would (JSON decoding, SQLite dates).
"""
from __future__ import annotations

from functools import cache

import orjson
from django.db import connection


def jsonb(value):
    """A jsonb column read by a plain cursor: Django's psycopg setup hands it over as text (decode it); a
    driver that decodes it already passes it through."""
    return orjson.loads(value) if isinstance(value, str) else value


@cache
def _plan(model, vendor: str) -> tuple[str, list[str], list[tuple]]:
    fields = model._meta.concrete_fields
    columns = ", ".join(f"t.{connection.ops.quote_name(f.column)}" for f in fields)
    converters = []
    for f in fields:
        col = f.get_col(model._meta.db_table)
        converters.append((col, connection.ops.get_db_converters(col) + f.get_db_converters(connection)))
    return columns, [f.attname for f in fields], converters


def fetch_one(model, where: str, params, *, extra: dict[str, str] | None = None):
    """``SELECT <model's columns>[, extra expressions] FROM <its table> t WHERE <where>``: the first row as a
    model instance (extra expressions set as attributes, unconverted), or None."""
    columns, names, converters = _plan(model, connection.vendor)
    extra = extra or {}
    extra_sql = "".join(f", {expr} AS {connection.ops.quote_name(name)}" for name, expr in extra.items())
    sql = f"SELECT {columns}{extra_sql} FROM {connection.ops.quote_name(model._meta.db_table)} t WHERE {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (col, convs) in zip(row, converters, strict=False):  # the row may carry extra columns
        for conv in convs:
            value = conv(value, col, connection)
        values.append(value)
    obj = model.from_db(connection.alias, names, values)
    for name, value in zip(extra, row[len(names):], strict=True):
        setattr(obj, name, value)
    return obj
