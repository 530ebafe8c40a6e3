"""Launch state shared by all workers: the state/nonce of each login, launch data, JWKS and tokens.

Redis when REDIS_URL is set (production, several gunicorn workers, several machines); otherwise a file
cache in the instance folder, which every process of the embedded default shares. pylti1p3's
CacheDataStorage keys values by a per-browser session-id cookie only on https; ours always does, so a
captured id_token cannot be replayed from another browser even on plain http.
"""
from __future__ import annotations

import secrets
from typing import Any

from cachelib import BaseCache, FileSystemCache, RedisCache
from flask import Flask, current_app
from pylti1p3.launch_data_storage.cache import CacheDataStorage


def init_app(app: Flask) -> None:
    app.extensions["lti_tool.cache"] = make_cache(app.config)


def make_cache(config: Any) -> BaseCache:
    if config.get("REDIS_URL"):
        import redis

        client = redis.Redis.from_url(config["REDIS_URL"])
        return RedisCache(host=client, key_prefix=config.get("CACHE_KEY_PREFIX") or "cop:")
    return FileSystemCache(config["STATE_CACHE_DIR"], threshold=20000, default_timeout=3600)


def cache() -> BaseCache:
    return current_app.extensions["lti_tool.cache"]


def take(key: str) -> Any:
    """Read and delete a value at once: the second caller gets None (single-use tokens, nonces)."""
    c = cache()
    if isinstance(c, RedisCache):
        raw = c._write_client.getdel(c._get_prefix() + key)
        return c.serializer.loads(raw) if raw is not None else None
    value = c.get(key)
    # FileSystemCache.delete removes the file; only one process can remove it.
    return value if value is not None and c.delete(key) else None


class BrowserBoundStorage(CacheDataStorage):
    """pylti1p3 launch storage on our shared cache, always namespaced by the browser's session-id cookie."""

    _session_cookie_name = "session-id"

    def __init__(self, backend: BaseCache):
        super().__init__()
        self._cache = backend

    def get_session_cookie_name(self) -> str | None:
        return self._session_cookie_name


def new_session_id() -> str:
    return secrets.token_urlsafe(24)
