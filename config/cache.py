"""A Redis cache that degrades instead of failing when Redis is unreachable.

The cache only holds rate-limit counters and debounce markers: losing them for a while is better
than refusing every page and every submission while Redis is down.
"""
import logging
import time

from django.core.cache.backends.redis import RedisCache
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


class ResilientRedisCache(RedisCache):
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
