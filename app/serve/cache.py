"""Where results are kept: in this process, or in Redis shared by all replicas.

Both caches map a request key (see engine.make_job) to the JSON-ready result
and have the same two async methods. With one server the in-memory cache is
the default and needs nothing else; a class spread over several replicas
behind a load balancer shares one Redis, so a result computed by one replica is
a hit on the others. A cache that cannot be reached is never fatal: the
request is computed as if it were a miss.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger("playground.cache")


class Cache(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryCache:
    """A bounded map from request keys to results; the least recently used goes first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def get(self, key: str) -> dict[str, Any] | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    async def put(self, key: str, value: dict[str, Any]) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class RedisCache:
    """Results as JSON in Redis, with a time to live; Redis's maxmemory policy bounds it."""

    PREFIX = "playground:result:"

    def __init__(self, url: str, ttl_seconds: int):
        import redis.asyncio as redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.ttl = ttl_seconds
        self._warned = False

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = await self.client.get(self.PREFIX + key)
        except Exception as exc:  # noqa: BLE001 - any failure of the cache is a miss
            self._warn(exc)
            return None
        return json.loads(raw) if raw else None

    async def put(self, key: str, value: dict[str, Any]) -> None:
        try:
            await self.client.set(self.PREFIX + key, json.dumps(value), ex=self.ttl)
        except Exception as exc:  # noqa: BLE001 - a result not kept is only a later miss
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("Redis cache unavailable, computing without it: %s", exc)
            self._warned = True

    async def close(self) -> None:
        await self.client.aclose()
