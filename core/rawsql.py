"""One model row by hand-written SQL, built with Django's own field converters.

For the few one-row reads on every request (the session's user, the campaign, the contributor's
eligibility facts): the ORM spends more CPU compiling such a query than PostgreSQL spends running it,
and a RawQuerySet still maps its columns to fields on every call. This reads the model's concrete
columns in a fixed order and applies the converters the ORM would (JSON decoding, SQLite dates).
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import cache, lru_cache

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections


def jsonb(value):
    """A jsonb column read by a plain cursor: Django's psycopg setup hands it over as text (decode it); a
    driver that decodes it already passes it through."""
    return orjson.loads(value) if isinstance(value, str) else value


@contextmanager
def prepared_cursor():
    """Django's cursor, except that on PostgreSQL its statements are bound server-side and prepared: the
    server parses and plans each one once per connection instead of on every request.

    For the few statements every queue request runs; planning the pick took PostgreSQL longer than running it.
    Django leaves prepared statements off by default (for poolers in transaction mode; PgBouncer 1.21+ keeps
    protocol-level prepared statements working, docs/scaling.md), so this asks for them one statement at a time.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _prepared_cursor_class()(connection.connection)
        raw.logged = connection.queries_logged
        cursor = connection._prepare_cursor(raw)
    with cursor:
        yield cursor


def fetch_prepared(sql: str, params) -> tuple | None:
    """The first row of ``sql`` run as ``prepared_cursor`` runs it, for the queue's statements (a handful on
    every request, README "The queue").

    On an open PostgreSQL connection outside the query log (DEBUG, tests), execute wrappers and a broken
    transaction, it skips Django's cursor layers (context manager, wrapper, validation: a third of the
    Python time of a one-row read) and reuses one cursor per connection; database errors are still
    Django's (``wrap_database_errors`` marks the connection for ``close_if_unusable_or_obsolete``).
    Anything else takes ``prepared_cursor``.
    """
    db = connections[DEFAULT_DB_ALIAS]
    raw = db.connection
    if (raw is None or db.vendor != "postgresql" or db.queries_logged or db.execute_wrappers or db.needs_rollback
            or (db.health_check_enabled and not db.health_check_done)):
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    with db.wrap_database_errors:
        cursor = getattr(db, "_queue_cursor", None)
        if cursor is None or cursor.connection is not raw or cursor.closed:
            cursor = db._queue_cursor = _prepared_cursor_class()(raw)
        cursor.execute(sql, params)
        return cursor.fetchone()


@cache
def _prepared_cursor_class():
    from django.db.backends.postgresql.base import (
        ServerBindingCursor,  # PostgreSQL only: SQLite runs lack psycopg's backend
    )

    class PreparedCursor(ServerBindingCursor):
        logged = False

        def execute(self, query, params=None, *, prepare=None, binary=None):
            super().execute(query, params, prepare=True, binary=binary)
            if self.logged and self._query is None:  # psycopg keeps no text of a prepared execution;
                self._query = self._convert_query(query, params)  # Django's query log (DEBUG, tests) reads it
            return self

    return PreparedCursor


@cache
def _plan(model, vendor: str, fields: tuple[str, ...] | None = None) -> tuple[list[str], list[str], list[tuple], int]:
    """The column names, attribute names, converters per column and the primary key's position of the model's
    concrete fields (or of ``fields``, attribute names, in the model's order: the others are left deferred)."""
    fields = [f for f in model._meta.concrete_fields if fields is None or f.attname in fields]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    converters = []
    for f in fields:
        col = f.get_col(model._meta.db_table)
        converters.append((col, connection.ops.get_db_converters(col) + f.get_db_converters(connection)))
    names = [f.attname for f in fields]
    return columns, names, converters, names.index(model._meta.pk.attname)


def _instance(model, plan, raw, db):
    """The model instance built from its columns ``raw``; None when its primary key is NULL (an outer join
    that found nothing)."""
    _columns, names, converters, pk_at = plan
    if raw[pk_at] is None:
        return None
    values = []
    for value, (col, convs) in zip(raw, converters, strict=True):
        for conv in convs:
            value = conv(value, col, db)
        values.append(value)
    return model.from_db(db.alias, names, values)


def fetch_joined(parts: list[tuple], joins: str, params, *, extra: dict[str, str] | None = None) -> tuple:
    """One row of several models: ``parts`` are (model, alias) pairs, ``joins`` the FROM ... WHERE ... text
    naming them by those aliases. Returns one instance (or None, for an outer join's miss) per part, then
    the ``extra`` expressions' values (unconverted); None when no row matches.

    A part may name the fields to read, (model, alias, attribute names with the primary key): the others are
    deferred, as with the ORM's ``only()``, so touching one costs a query of its own."""
    db = connections[DEFAULT_DB_ALIAS]
    parts = tuple(parts)
    sql, plans = _joined_select(parts, joins, tuple(extra.items()) if extra else (), db.vendor)
    row = fetch_prepared(sql, params)
    if row is None:
        return None
    out, offset = [], 0
    for part, plan in zip(parts, plans, strict=True):
        width = len(plan[1])
        out.append(_instance(part[0], plan, row[offset:offset + width], db))
        offset += width
    return (*out, *row[offset:])


@lru_cache(maxsize=256)
def _joined_select(parts: tuple, joins: str, extra: tuple, vendor: str) -> tuple[str, list]:
    """The statement text and the column plans of a ``fetch_joined`` read, built once per shape (the same few
    reads repeat on every queue request)."""
    plans = [_plan(part[0], vendor, *part[2:]) for part in parts]
    select = [f"{part[1]}.{column}" for part, plan in zip(parts, plans, strict=True) for column in plan[0]]
    select += [f"{expr} AS {connection.ops.quote_name(name)}" for name, expr in extra]
    return f"SELECT {', '.join(select)} {joins}", plans


def fetch_one(model, where: str, params, *, extra: dict[str, str] | None = None):
    """``SELECT <model's columns>[, extra expressions] FROM <its table> t WHERE <where>``: the first row as a
    model instance (extra expressions set as attributes, unconverted), or None."""
    extra = extra or {}
    row = fetch_joined([(model, "t")], f"FROM {connection.ops.quote_name(model._meta.db_table)} t WHERE {where}",
                       params, extra=extra)
    if row is None:
        return None
    obj = row[0]
    for name, value in zip(extra, row[1:], strict=True):
        setattr(obj, name, value)
    return obj
