"""Prometheus metrics of one app: requests, latency, cache, worker pool, outcomes.

Each :class:`Metrics` owns its own ``CollectorRegistry``; nothing is registered
in prometheus_client's global default registry, so every app (and every test)
counts on its own. Label values are kept to small fixed sets: a value outside
its set is counted as ``"other"``, so a bug in a caller cannot create a new time
series per request. This module imports nothing from the web layer.

Other modules report a problem only by logging it: :class:`ProblemCounter`, a
logging handler each :class:`Metrics` attaches to the ``autograd_playground``
logger, counts every record of level WARNING and above by logger and level.
"""

from __future__ import annotations

import logging
import threading
import weakref
from socketserver import BaseServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

OTHER = "other"

# The label values each metric accepts; anything else is counted as OTHER.
CACHE_RESULTS: frozenset[str] = frozenset({"hit", "miss", "shared", "timeout"})
OUTCOMES: frozenset[str] = frozenset({"ok", "refused", "timeout", "busy", "rate_limited", "error"})
# Why a worker was replaced: its task ran past the limit, it died, it had served its
# share of tasks, or its whole pool was rebuilt (pebble gave it up, a task was held
# past the limit plus the grace, or the pool stalled with a free worker).
RESTART_REASONS: frozenset[str] = frozenset({"timeout", "crash", "recycle", "broken", "stuck", "stalled"})

# Request latency buckets, in seconds: from 1 ms to 10 s, about three a decade.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
)

# Most distinct route labels one Metrics keeps; later new routes count as OTHER.
MAX_ROUTES = 100

# The logger whose records (and its children's) are counted, the levels they are
# counted by, and the most distinct logger labels kept (later new ones count as OTHER).
LOGGER_ROOT = "autograd_playground"
PROBLEM_LEVELS: frozenset[str] = frozenset({"WARNING", "ERROR", "CRITICAL"})
MAX_LOGGERS = 50


def _bounded(value: str, allowed: frozenset[str]) -> str:
    """``value`` when it is one of ``allowed``, else OTHER."""
    return value if value in allowed else OTHER


class _Labels:
    """The first ``most`` distinct values given are themselves; later new ones are OTHER."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        with self._lock:
            if value in self._known:
                return value
            if len(self._known) < self.most:
                self._known.add(value)
                return value
            return OTHER


class ProblemCounter(logging.Handler):
    """Counts each record of WARNING and above in the metrics it was made for.

    It holds those metrics weakly, so a handler left on the logger keeps no
    registry alive; :meth:`Metrics.close` (or the metrics' collection) removes it.
    """

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.WARNING)
        self._metrics = weakref.ref(metrics)

    def emit(self, record: logging.LogRecord) -> None:
        metrics = self._metrics()
        if metrics is not None:
            metrics.logged_problem(record.name, record.levelname)


class Metrics:
    """The metrics of one app instance, in a registry of its own.

    ``route`` labels must be route templates such as ``"/api/graph"`` (never a
    raw path with user text in it); past :data:`MAX_ROUTES` distinct routes, new
    ones are counted as ``"other"``. ``status`` is an HTTP status code.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "playground_requests_total",
            "HTTP requests answered, by route template and status code.",
            labelnames=("route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "playground_request_seconds",
            "Seconds spent answering a request, by route template.",
            labelnames=("route",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "playground_cache_total",
            "Graph cache lookups: hit, miss, shared (joined an identical"
            " computation already in flight), or timeout (a job that ran into"
            " the time limit lately, refused at once).",
            labelnames=("result",),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "playground_queue_depth",
            "Tasks waiting or running in the worker pool.",
            registry=self.registry,
        )
        self.worker_restarts = Counter(
            "playground_worker_restarts_total",
            "Worker processes replaced: timeout, crash or recycle.",
            labelnames=("reason",),
            registry=self.registry,
        )
        self.outcomes = Counter(
            "playground_outcomes_total",
            "How requests for a graph ended: ok, refused, timeout, busy,"
            " rate_limited or error.",
            labelnames=("outcome",),
            registry=self.registry,
        )
        # Every known label value is exported from the start, at zero, so that
        # rate() and alerts see a series before its first event.
        for counter, allowed in (
            (self.cache, CACHE_RESULTS),
            (self.worker_restarts, RESTART_REASONS),
            (self.outcomes, OUTCOMES),
        ):
            for value in sorted(allowed | {OTHER}):
                counter.labels(value)
        self.logged_problems = Counter(
            "playground_logged_problems_total",
            "Log records of level WARNING and above, by logger and level.",
            labelnames=("logger", "level"),
            registry=self.registry,
        )
        self._route = _Labels(MAX_ROUTES)
        self._logger = _Labels(MAX_LOGGERS)
        handler = ProblemCounter(self)
        logger = logging.getLogger(LOGGER_ROOT)
        logger.addHandler(handler)
        self._detach = weakref.finalize(self, logger.removeHandler, handler)

    def close(self) -> None:
        """Stop counting log records (the handler leaves the logger)."""
        self._detach()

    def logged_problem(self, logger: str, level: str) -> None:
        """Count one log record of WARNING or above from ``logger``."""
        self.logged_problems.labels(self._logger(logger), _bounded(level, PROBLEM_LEVELS)).inc()

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and the seconds it took."""
        label = self._route(route)
        status_label = str(status) if 100 <= status <= 599 else OTHER
        self.requests.labels(label, status_label).inc()
        self.latency.labels(label).observe(max(0.0, seconds))

    def cache_event(self, result: str) -> None:
        """Count one cache lookup: ``"hit"``, ``"miss"``, ``"shared"`` or ``"timeout"``."""
        self.cache.labels(_bounded(result, CACHE_RESULTS)).inc()

    def outcome(self, name: str) -> None:
        """Count how one graph request ended (see :data:`OUTCOMES`)."""
        self.outcomes.labels(_bounded(name, OUTCOMES)).inc()

    def worker_restart(self, reason: str) -> None:
        """Count one worker replaced: ``"timeout"``, ``"crash"`` or ``"recycle"``."""
        self.worker_restarts.labels(_bounded(reason, RESTART_REASONS)).inc()

    def set_queue_depth(self, n: int) -> None:
        """Set how many tasks are waiting or running in the worker pool now."""
        self.queue_depth.set(n)

    def listen(self, port: int, address: str = "0.0.0.0") -> BaseServer:
        """Serve this registry on a port of its own, from a thread; shut the server down to stop."""
        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        return server

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of this registry, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
