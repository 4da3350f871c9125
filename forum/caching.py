"""A Redis cache that a Redis outage cannot break: every cache call that fails is a miss.

The cache only ever holds what can be rebuilt (rendered threads, list counts), so with Redis
gone the site reads and posts as before, just without the shortcut, and picks Redis up again
by itself when it is back. A warning is logged at most once a minute while it is away."""

from __future__ import annotations

import logging
import time

from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
_last_warning = 0.0


def _warn(error: Exception) -> None:
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        log.warning("Cache unavailable, serving without it: %s", error)


def _fail_soft(name: str, default):
    method = getattr(RedisCache, name)

    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except RedisError as error:
            _warn(error)
            return default(*args) if callable(default) else default

    call.__name__ = name
    return call


class ResilientRedisCache(RedisCache):
    """Flask-Caching's RedisCache, with each operation a miss (or a no-op) when Redis fails."""

    get = _fail_soft("get", None)
    get_many = _fail_soft("get_many", lambda *keys: [None] * len(keys))  # a miss for each key
    get_dict = _fail_soft("get_dict", lambda *_keys: {})
    has = _fail_soft("has", False)
    set = _fail_soft("set", False)
    add = _fail_soft("add", False)
    set_many = _fail_soft("set_many", lambda *_args: [])
    delete = _fail_soft("delete", False)
    delete_many = _fail_soft("delete_many", lambda *_keys: [])
    clear = _fail_soft("clear", False)
    inc = _fail_soft("inc", None)
    dec = _fail_soft("dec", None)
