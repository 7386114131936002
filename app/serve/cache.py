"""Where results are kept: in this process, or in Redis shared by all replicas.

A result is kept as the worker encoded it (:class:`Encoded`: the JSON bytes and
their gzip), so a hit re-validates and re-encodes nothing: the API sends the
bytes as they are, and only pages decode the JSON they show. Both caches map a
request key (see engine.make_job) to an :class:`Encoded` and have the same two
async methods. With one server the in-memory cache is the default and needs
nothing else; a class spread over several replicas behind a load balancer
shares one Redis, so a result computed by one replica is a hit on the others. A
cache that cannot be reached is never fatal: the request is computed as if it
were a miss.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import orjson
from cachetools import LRUCache

log = logging.getLogger(__name__)

# Level 1: on a 20-term polynomial's answer (92 KB of JSON and SVG) 17 KB in
# 0.5 ms, where level 6 gave 13.8 KB in 1.6 ms. A new computation is a few
# milliseconds, so the millisecond counts for more than 3 KB on a school's network.
GZIP_LEVEL = 1


@dataclass(frozen=True)
class Encoded:
    """A body as it is sent (a result's UTF-8 JSON, or a page's HTML), and its gzip."""

    body: bytes
    gzip: bytes

    @classmethod
    def of(cls, data: Any) -> Encoded:
        """Compact UTF-8 JSON (orjson: a tenth of the standard library's time on a
        large answer). A float that is not finite would be written as null; results
        have none (values.finite turns them into strings first)."""
        raw = orjson.dumps(data)
        return cls(raw, gzip.compress(raw, GZIP_LEVEL, mtime=0))

    @classmethod
    def of_text(cls, text: str) -> Encoded:
        """A text body (a page's HTML, as UTF-8) and its gzip."""
        raw = text.encode()
        return cls(raw, gzip.compress(raw, GZIP_LEVEL, mtime=0))

    @classmethod
    def from_gzip(cls, packed: bytes) -> Encoded:
        return cls(gzip.decompress(packed), packed)

    def data(self) -> Any:
        return orjson.loads(self.body)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzip)


class Cache(Protocol):
    async def get(self, key: str) -> Encoded | None: ...

    async def put(self, key: str, value: Encoded) -> None: ...


V = TypeVar("V")


class MemoryCache(Generic[V]):
    """A map bounded in bytes: past ``max_bytes``, the least recently used go first.

    ``size_of`` tells what a value costs (by default ``value.size``, the bytes of
    an :class:`Encoded`); an entry costs that and its key's length. An entry
    larger than the whole cache is not kept. cachetools' LRUCache does the
    bookkeeping, with ``maxsize`` in bytes. Only the event loop touches it, so it
    takes no lock.
    """

    def __init__(self, max_bytes: int, size_of: Callable[[V], int] | None = None):
        self.max_bytes = max_bytes
        self.size_of: Callable[[V], int] = size_of or (lambda value: value.size)  # type: ignore[attr-defined]
        # key -> (value, the entry's bytes)
        self._items: LRUCache[str, tuple[V, int]] = LRUCache(
            max_bytes, getsizeof=lambda item: item[1]
        )
        self.flights = SingleFlight()  # for misses being made right now

    @property
    def bytes(self) -> int:
        """The bytes of the entries kept now."""
        return int(self._items.currsize)

    async def get(self, key: str) -> V | None:
        item = self._items.get(key)
        return None if item is None else item[0]

    async def put(self, key: str, value: V) -> None:
        size = self.size_of(value) + len(key)
        self._items.pop(key, None)  # a replaced entry counts its new size only
        if size <= self.max_bytes:
            self._items[key] = (value, size)

    def __len__(self) -> int:
        return len(self._items)


T = TypeVar("T")


class SingleFlight:
    """Identical work asked for at once is done once; the others await its answer.

    A class opening one link at the same moment would otherwise render the same
    page 200 times before the first copy reached the cache. The work runs as a
    task of the flight's own, not inside the request that started it: a caller
    that goes away (a closed tab, a timeout) leaves the others their answer, and
    the work is cancelled only once every caller has gone.
    """

    def __init__(self) -> None:
        self._inflight: dict[str, _Flight] = {}

    def running(self, key: str) -> bool:
        """Whether work for ``key`` is under way (a ``run`` now would share it)."""
        return key in self._inflight

    def waiting(self, key: str) -> int:
        """How many callers await the work for ``key`` now."""
        flight = self._inflight.get(key)
        return 0 if flight is None else flight.waiters

    async def run(self, key: str, make: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """``make()``'s answer, and whether it was shared with a call already under way."""
        flight = self._inflight.get(key)
        shared = flight is not None
        if flight is None:
            flight = self._inflight[key] = _Flight(asyncio.ensure_future(make()))
            flight.task.add_done_callback(lambda _: self._forget(key, flight))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task), shared
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                self._forget(key, flight)  # a request arriving now starts afresh
                flight.task.cancel()

    def _forget(self, key: str, flight: _Flight) -> None:
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        if flight.task.done() and not flight.task.cancelled():
            flight.task.exception()  # retrieved: no warning when every caller had gone


@dataclass
class _Flight:
    task: asyncio.Future
    waiters: int = 0


class RedisCache:
    """Results as gzipped JSON in Redis, with a time to live; Redis's maxmemory bounds it."""

    PREFIX = "playground:result:"

    def __init__(self, url: str, ttl_seconds: int):
        import redis.asyncio as redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.ttl = ttl_seconds
        self._warned = False

    async def get(self, key: str) -> Encoded | None:
        try:
            raw = await self.client.get(self.PREFIX + key)
        except Exception as exc:  # any failure of the cache is a miss
            self._warn(exc)
            return None
        if not raw:
            return None
        try:
            return Encoded.from_gzip(raw)
        except (OSError, EOFError, zlib.error) as exc:  # not ours, or cut short: a miss
            self._warn(exc)
            return None

    async def put(self, key: str, value: Encoded) -> None:
        try:
            await self.client.set(self.PREFIX + key, value.gzip, ex=self.ttl)
        except Exception as exc:  # a result not kept is only a later miss
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("Redis cache unavailable, computing without it: %s", exc)
            self._warned = True

    async def close(self) -> None:
        await self.client.aclose()
