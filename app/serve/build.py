"""The serving parts for one app, built from its settings."""

from __future__ import annotations

import os

from .cache import MemoryCache, RedisCache
from .engine import Engine
from .metrics import Metrics
from .ratelimit import RateLimiter, RedisRateLimiter
from .settings import Settings


def default_workers() -> int:
    """One worker per CPU."""
    return max(1, os.cpu_count() or 1)


def build_engine(settings: Settings, metrics: Metrics) -> Engine:
    workers = default_workers() if settings.workers is None else settings.workers

    def on_event(kind: str, value: str) -> None:
        if kind == "cache":
            metrics.cache_event(value)
        elif kind == "restart":
            metrics.worker_restart(value)
        elif kind == "queue":
            metrics.set_queue_depth(int(value))

    if settings.redis_url:
        cache = RedisCache(settings.redis_url, settings.cache_ttl_seconds)
    else:
        cache = MemoryCache(int(settings.cache_mb * 2**20))
    return Engine(
        on_event=on_event,
        cache=cache,
        workers=workers,
        timeout=settings.request_timeout,
        limits=settings.limits(),
        dot_timeout=settings.dot_timeout,
        max_queue=settings.max_queue,
        max_wait=settings.max_wait,
        max_tasks=settings.worker_max_tasks,
        memory_mb=settings.worker_memory_mb,
        cache_bytes=int(settings.cache_mb * 2**20),
        client_units=settings.client_units,
        timeout_memory=settings.timeout_memory_seconds,
    )


def build_limiter(settings: Settings) -> RateLimiter | RedisRateLimiter:
    if settings.redis_url:
        return RedisRateLimiter(
            settings.redis_url, settings.rate_limit_per_minute, settings.rate_limit_burst
        )
    return RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
