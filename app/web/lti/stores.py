"""What LTI keeps, for a while: the exception to "nothing is stored".

A launch's state and nonce (minutes), grading's attempts and tokens (L3's
kinds). Each value is a short string under a ``kind`` and a ``key``, with a time
to live. In one process they live in memory (a cachetools TLRUCache, bounded
in entries); several replicas share Redis (``settings.redis_url``), as the rate
limits do. ``take`` gets and deletes at once, so that a value is used once even
when two replicas race for it.

Unlike the result cache and the rate limiter, which fail open, these checks
fail closed: any failure of the store raises :class:`StoreDown`, and the route
refuses the launch with a 503 sentence.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from cachetools import TLRUCache

from ...serve.settings import Settings

log = logging.getLogger(__name__)

# Bounds on what one entry may be: a key or value past them is a bug, not data.
MAX_KEY_CHARS = 512
MAX_VALUE_CHARS = 16_384


class StoreDown(Exception):
    """The store could not answer; the caller refuses (fails closed)."""


class Store(Protocol):
    async def put(self, kind: str, key: str, value: str, ttl: int) -> None: ...
    async def take(self, kind: str, key: str) -> str | None: ...
    async def get(self, kind: str, key: str) -> str | None: ...
    async def incr(self, kind: str, key: str, ttl: int) -> int: ...
    async def close(self) -> None: ...


def checked(kind: str, key: str, value: str = "", ttl: int = 1) -> str:
    """The entry's name, once kind, key, value and ttl are within bounds."""
    if not kind.isidentifier() or not key or len(key) > MAX_KEY_CHARS:
        raise ValueError(f"bad store key {kind!r}/{key[:40]!r}")
    if len(value) > MAX_VALUE_CHARS or ttl < 1:
        raise ValueError(f"bad store value for {kind!r}: {len(value)} chars, ttl {ttl}")
    return f"{kind}:{key}"


class MemoryStore:
    """The store in this process: at most ``size`` entries, each with its own time to live."""

    def __init__(self, size: int = 100_000, clock: Any = time.monotonic):
        self.clock = clock
        self.entries: TLRUCache[str, tuple[str, float]] = TLRUCache(
            maxsize=size, ttu=lambda _key, value, _now: value[1], timer=clock
        )
        self.writes = 0  # puts and increments, ever (tests check that a refusal writes none)

    async def put(self, kind: str, key: str, value: str, ttl: int) -> None:
        name = checked(kind, key, value, ttl)
        self.writes += 1
        self.entries[name] = (value, self.clock() + ttl)

    async def take(self, kind: str, key: str) -> str | None:
        found = self.entries.pop(checked(kind, key), None)
        return found[0] if found else None

    async def get(self, kind: str, key: str) -> str | None:
        found = self.entries.get(checked(kind, key))
        return found[0] if found else None

    async def incr(self, kind: str, key: str, ttl: int) -> int:
        name = checked(kind, key, ttl=ttl)
        self.writes += 1
        found = self.entries.get(name)
        if found is None:
            self.entries[name] = ("1", self.clock() + ttl)
            return 1
        count = int(found[0]) + 1
        self.entries[name] = (str(count), found[1])  # the first increment's expiry stays
        return count

    async def close(self) -> None:
        self.entries.clear()


class RedisStore:
    """The store in Redis, shared by the replicas; any failure raises StoreDown."""

    PREFIX = "playground:lti:"
    # INCR, and an expiry set by the first increment only (EXPIRE NX needs Redis 7).
    INCR = """
    local n = redis.call('INCR', KEYS[1])
    if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
    return n
    """

    def __init__(self, url: str):
        import redis.asyncio as redis

        self.client = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True
        )
        self._incr = self.client.register_script(self.INCR)

    async def put(self, kind: str, key: str, value: str, ttl: int) -> None:
        name = self.PREFIX + checked(kind, key, value, ttl)
        await self._call(self.client.set(name, value, ex=ttl))

    async def take(self, kind: str, key: str) -> str | None:
        return await self._call(self.client.getdel(self.PREFIX + checked(kind, key)))

    async def get(self, kind: str, key: str) -> str | None:
        return await self._call(self.client.get(self.PREFIX + checked(kind, key)))

    async def incr(self, kind: str, key: str, ttl: int) -> int:
        name = self.PREFIX + checked(kind, key, ttl=ttl)
        return int(await self._call(self._incr(keys=[name], args=[ttl])))

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except Exception as exc:  # fail closed: see the module's docstring
            log.warning("LTI store unavailable, refusing: %r", exc)
            raise StoreDown(str(exc)) from None

    async def close(self) -> None:
        await self.client.aclose()


def build_store(settings: Settings) -> MemoryStore | RedisStore:
    """Redis when the replicas share one (``redis_url``), else this process's memory."""
    return RedisStore(settings.redis_url) if settings.redis_url else MemoryStore()
