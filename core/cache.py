"""A Redis cache that degrades instead of failing when Redis is unreachable.

The cache only holds rate-limit counters and debounce markers: losing them for a while is better
than refusing every page and every submission while Redis is down.
"""
import logging
import os
import threading
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
_last_warning = [0.0]


def _warn(op: str) -> None:
    now = time.monotonic()
    if now - _last_warning[0] > 30:
        _last_warning[0] = now
        logger.warning("cache unavailable during %s; continuing without it", op, exc_info=True)


class _ReusedClients(RedisCacheClient):
    """Django builds a new ``redis.Redis`` object for every cache call (about 0.1 ms of CPU each, measured
    on the queue's hot path); the objects are thread-safe views of a pool, so keep one per pool."""

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(index)
        if client is None:
            client = clients[index] = self._client(connection_pool=self._get_connection_pool(index))
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusedClients

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except _ERRORS:
            _warn("get")
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except _ERRORS:
            _warn("get_many")
            return {}

    def add(self, key, value, timeout=None, version=None):
        try:
            return super().add(key, value, timeout, version)
        except _ERRORS:
            _warn("add")
            return True  # behave as if the key was new: work is done rather than skipped

    def set(self, key, value, timeout=None, version=None):
        try:
            return super().set(key, value, timeout, version)
        except _ERRORS:
            _warn("set")

    def set_many(self, data, timeout=None, version=None):
        try:
            return super().set_many(data, timeout, version)
        except _ERRORS:
            _warn("set_many")
            return list(data)

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except _ERRORS:
            _warn("delete")
            return False

    def delete_many(self, keys, version=None):
        try:
            return super().delete_many(keys, version)
        except _ERRORS:
            _warn("delete_many")

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except _ERRORS:
            _warn("incr")
            return delta

    def touch(self, key, timeout=None, version=None):
        try:
            return super().touch(key, timeout, version)
        except _ERRORS:
            _warn("touch")
            return False

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except _ERRORS:
            _warn("has_key")
            return False


def count_hit(key: str, window_seconds: int) -> int | None:
    """Count one hit on ``key`` in a fixed window and return the count so far; None if the cache is down.

    One INCR (plus an EXPIRE on a window's first hit; the window is in the key, so a lost EXPIRE only leaves
    a dead key) instead of DRF's read-modify-write of a timestamp list: rate limits run on every API
    request, the queue's hottest path included.
    """
    from django.core.cache import cache  # here: this module is the cache backend django.core.cache loads

    client = redis_client()
    if client is not None:
        full_key = cache.make_and_validate_key(key)
        try:
            count = client.incr(full_key)
            if count == 1:  # the window's first hit (a second command once per window and key)
                client.expire(full_key, window_seconds)
            return int(count)
        except _ERRORS:
            _warn("count_hit")
            return None
    cache.add(key, 0, timeout=window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        return 1


def get_and_count(key: str, counter: str, window_seconds: int) -> tuple[object, int] | None:
    """The cache's value at ``key`` (None if absent) and one hit counted on ``counter`` as ``count_hit`` does,
    in one Redis round trip; None without Redis or while it is down (the caller then does both its usual way).
    For the queue's fast lane, which reads a session and counts the user's request on every call."""
    from django.core.cache import caches

    cache = caches["default"]
    client = _client_of(cache)
    if client is None:
        return None
    # make_key, not make_and_validate_key: the validation only warns about keys memcached would refuse, and
    # these (a session key, a user id) never are.
    full_counter = cache.make_key(counter)
    try:
        raw, count = round_trip(client, [("GET", cache.make_key(key)), ("INCR", full_counter)])
        if count == 1:
            client.expire(full_counter, window_seconds)
    except _ERRORS:
        _warn("get_and_count")
        return None
    return (None if raw is None else cache._cache._serializer.loads(raw)), int(count)


def round_trip(client, commands: list[tuple]) -> list:
    """The replies to ``commands`` sent to Redis together, as a pipeline, on a connection of this thread's own.

    For the queue's two or three Redis calls a cycle. redis-py's Pipeline object costs about 25 microseconds
    of CPU a call (buffering, callbacks, retry wrapper), and taking a connection from the pool about 15 more (a
    lock, a fork check and a poll of the socket per call), measured. An error reply raises
    ``redis.ResponseError``. A connection that fails (Redis restarted, the server closed it) is dropped and the
    commands are sent once more on a new one, as the client's own retry does; errors after that propagate.
    """
    pool = client.connection_pool
    conn = getattr(_own, "conn", None)
    if conn is None or _own.pool is not pool or _own.pid != os.getpid():  # first use, another pool, a fork
        conn = pool.make_connection()
        _own.conn, _own.pool, _own.pid = conn, pool, os.getpid()
    for attempt in (1, 2):
        try:
            conn.send_packed_command(conn.pack_commands(commands), check_health=False)
            return [conn.read_response() for _ in commands]
        except (RedisConnectionError, RedisTimeoutError):
            conn.disconnect()  # the next send connects anew
            if attempt == 2:
                raise
        except BaseException:
            conn.disconnect()  # replies may be left unread on this connection: never reuse it
            raise
    raise AssertionError("unreachable")


_own = threading.local()  # round_trip's connection, one per thread (gthread workers run several)


def redis_client():
    """The cache's Redis client (for lists and counters the cache API lacks); None without Redis."""
    from django.core.cache import caches

    return _client_of(caches["default"])  # the object itself: django.core.cache.cache is a proxy


def _client_of(cache):
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(write=True)
