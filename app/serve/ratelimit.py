"""Per-client rate limiting: a token bucket per key, and the key to limit by.

:class:`RateLimiter` keeps one token bucket per key (a client address) in
memory. A bucket holds at most ``burst`` tokens and refills at ``per_minute``
tokens a minute; each allowed request takes one token. A full bucket lets a
whole class behind one NAT address open the page at once, and the steady rate
is what that address may then sustain.

:func:`client_address` decides which address a request is limited by. It only
believes ``X-Forwarded-For`` when the direct peer is a proxy we were told to
trust, so a student cannot pick their own key by sending the header.

The limiter's state lives in an instance, never in a module global: each app
(and each test) builds its own. This module imports nothing from the web layer.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Container, Iterable
from typing import NamedTuple

from cachetools import TTLCache

log = logging.getLogger(__name__)

# Floating-point slack when comparing a refilled bucket with one token, so that
# waiting exactly the returned number of seconds is always enough.
_EPSILON = 1e-9


# What one remembered bucket costs in a TTLCache besides its key's own bytes
# (measured with tracemalloc: about 360 bytes for a float pair, its links and
# the cache's maps), rounded up.
BUCKET_BYTES = 400


def bucket_bytes(key: str) -> int:
    """The estimated bytes one bucket kept for ``key`` costs."""
    return sys.getsizeof(key) + BUCKET_BYTES


class _Bucket(NamedTuple):
    tokens: float
    last: float  # time of the last hit
    size: int  # bucket_bytes(key)


class RateLimiter:
    """An in-memory token bucket per key; thread-safe, O(1) per hit, bounded in bytes.

    ``per_minute`` is the steady rate, in requests a minute, for each key;
    ``per_minute <= 0`` means unlimited and keeps no state at all. ``burst`` is
    how many requests a key with a full bucket may make at once; it defaults to
    ``per_minute``. ``clock`` returns seconds (monotonic); tests inject their
    own. The buckets live in a cachetools TTLCache of at most ``max_bytes``
    (each bucket estimated by :func:`bucket_bytes`): a bucket expires once it
    has refilled completely (losing nothing, a new bucket starts full), and
    past ``max_bytes`` the least recently hit bucket is dropped.
    """

    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_bytes: int = 32 * 2**20,
    ) -> None:
        if max_bytes < bucket_bytes(""):
            raise ValueError(f"max_bytes must hold one bucket at least, not {max_bytes}")
        self.per_minute = per_minute
        self.unlimited = per_minute <= 0
        self.burst = per_minute if burst is None else burst
        if not self.unlimited and self.burst < 1:
            raise ValueError(f"burst must be at least 1, not {self.burst}")
        self.max_bytes = max_bytes
        self._clock = clock
        # Tokens per second, and how long an empty bucket takes to fill up.
        self._rate = per_minute / 60.0 if not self.unlimited else math.inf
        full_after = self.burst / self._rate if not self.unlimited else 1.0
        self._buckets: TTLCache[str, _Bucket] = TTLCache(
            max_bytes, full_after, timer=clock, getsizeof=lambda bucket: bucket.size
        )
        self._lock = threading.Lock()

    async def take(self, key: str, cost: int = 1) -> float:
        """The same as :meth:`hit`, in the form the shared (Redis) limiter has."""
        return self.hit(key, cost)

    def hit(self, key: str, cost: int = 1) -> float:
        """Count one request from ``key`` that costs ``cost`` tokens (its route's weight).

        Returns 0.0 when it is allowed (the tokens are taken). Otherwise nothing
        is taken, and the result is the number of seconds until such a request
        from ``key`` would be allowed; round it up (``math.ceil``) for
        Retry-After. A cost above the burst counts as the burst.
        """
        if self.unlimited:
            return 0.0
        need = float(max(1, min(cost, self.burst)))
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                tokens = float(self.burst)
            else:
                elapsed = max(0.0, now - bucket.last)  # a clock going back refills nothing
                tokens = min(float(self.burst), bucket.tokens + elapsed * self._rate)
            if tokens >= need - _EPSILON:
                tokens = max(0.0, tokens - need)
                wait = 0.0
            else:
                wait = (need - tokens) / self._rate
            size = bucket.size if bucket is not None else bucket_bytes(key)
            # Stored again: the most recently hit, and its expiry starts afresh.
            self._buckets[key] = _Bucket(tokens, now, size)
            return wait

    def __len__(self) -> int:
        """How many keys currently have a bucket in memory."""
        with self._lock:
            self._buckets.expire()
            return len(self._buckets)

    @property
    def bytes(self) -> int:
        """The estimated bytes of the buckets kept now."""
        with self._lock:
            self._buckets.expire()
            return int(self._buckets.currsize)


def _normalise(address: str) -> str | None:
    """The canonical text of an IP address, or None when it is not one.

    IPv6 is compressed and lower-cased, and an IPv4-mapped IPv6 address
    (``::ffff:192.0.2.1``) becomes the IPv4 address, so one client has one key.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Container[str]
) -> str:
    """The address to rate-limit a request by.

    ``peer`` is the direct TCP peer, ``forwarded_for`` the X-Forwarded-For
    header (several headers joined with ", "), and ``trusted_proxies`` what
    :func:`parse_trusted_proxies` made of the setting.

    The header is only read when ``peer`` is a trusted proxy. It is then walked
    from the right, skipping trusted proxies; the first other address is the
    client. A malformed entry ends the walk and the peer is used instead: what
    stands left of it was written by whoever we cannot vouch for, so reading
    on would let a client choose its own key. With nothing usable, the result
    is the peer; with no peer at all, ``"unknown"``.
    """
    if peer is None:
        return "unknown"
    peer_ip = _normalise(peer)
    if peer_ip is None:
        return peer  # not an IP (a unix socket, a test client): limit by it as it is
    if peer_ip not in trusted_proxies or not forwarded_for:
        return peer_ip
    for entry in reversed(forwarded_for.split(",")):
        hop = _normalise(entry)
        if hop is None:
            return peer_ip
        if hop not in trusted_proxies:
            return hop
    return peer_ip


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The proxies whose X-Forwarded-For is believed: addresses and networks.

    ``address in proxies`` asks whether an address (in any spelling that
    :func:`_normalise` accepts) lies in one of the networks; a single address
    is a network of one. Behind an ingress whose pods change addresses, the
    setting names the pods' network (``10.42.0.0/16``) rather than each pod.
    """

    def __init__(self, networks: Iterable[Network] = ()) -> None:
        self.networks = tuple(sorted(set(networks), key=lambda n: (n.version, n)))

    def __contains__(self, address: object) -> bool:
        normalised = _normalise(address) if isinstance(address, str) else None
        if normalised is None or not self.networks:
            return False
        ip = ipaddress.ip_address(normalised)
        return any(ip in network for network in self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __str__(self) -> str:
        """The setting's canonical text: a single address without its /32 or /128."""
        return ",".join(
            str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
            for n in self.networks
        )


def parse_trusted_proxies(value: str) -> TrustedProxies:
    """The trusted proxies in ``value``: IPv4/IPv6 addresses or networks, comma or space separated.

    Addresses are normalised as :func:`client_address` compares them. A network
    is written with its prefix (``10.0.0.0/8``) and must have no host bits set,
    so that a mistyped address is not taken as a wide network. Host names and
    ports are not accepted; a ValueError names the first entry that is not an
    address or a network. An empty value trusts no one.
    """
    networks: list[Network] = []
    for entry in re.split(r"[\s,]+", value.strip()):
        if not entry:
            continue
        address = _normalise(entry)
        try:
            networks.append(ipaddress.ip_network(address or entry, strict=True))
        except ValueError:
            raise ValueError(
                f"not an IP address or network in the trusted proxies: {entry!r}"
            ) from None
    return TrustedProxies(networks)


class RedisRateLimiter:
    """The same token bucket, kept in Redis, so that replicas share one limit per address.

    The bucket is updated by one Lua script, atomically, with Redis's clock. If
    Redis cannot be reached, requests are let through: the limiter protects the
    service, it must not become the reason it fails. Each request so let through
    logs one warning, which the metrics count (serve.metrics.ProblemCounter).
    """

    SCRIPT = """
    local now = redis.call('TIME')
    local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
    local rate = tonumber(ARGV[1])
    local burst = tonumber(ARGV[2])
    local need = math.min(tonumber(ARGV[3]), burst)
    local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
    local tokens = tonumber(state[1]) or burst
    local ts = tonumber(state[2]) or t
    tokens = math.min(burst, tokens + math.max(0, t - ts) * rate)
    local wait = 0
    if tokens >= need then tokens = tokens - need else wait = (need - tokens) / rate end
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(t))
    redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
    return tostring(wait)
    """
    PREFIX = "playground:rate:"

    def __init__(self, url: str, per_minute: int, burst: int | None = None) -> None:
        import redis.asyncio as redis

        self.per_minute = per_minute
        self.burst = burst if burst is not None else per_minute
        self.unlimited = per_minute <= 0
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self.client.register_script(self.SCRIPT)

    async def take(self, key: str, cost: int = 1) -> float:
        if self.unlimited:
            return 0.0
        try:
            wait = await self._script(
                keys=[self.PREFIX + key],
                args=[self.per_minute / 60.0, self.burst, max(1, cost)],
            )
        except Exception as exc:  # fail open: see the class docstring
            log.warning("Redis rate limiter unavailable, request let through: %r", exc)
            return 0.0
        return float(wait)

    async def close(self) -> None:
        await self.client.aclose()
