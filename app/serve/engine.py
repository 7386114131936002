"""Where the torch and Graphviz work of a request runs: isolated, bounded, shared.

A classroom server answers 30 to 200 students at once. One student's runaway
function must not slow down the others, so each computation runs in a pool of
worker processes with a hard wall-clock limit: a task over the limit is killed
with its process, and the pool starts a new one (autograd_playground.serve.pool, on
pebble's ProcessPool); a pool that breaks, stalls or sticks is replaced by a new
one, and the tasks it never started run there. Results are cached by the
request as typed (a result's labels, character positions and step formulas
quote the student's own text, so ``x^5 + 0.25`` and ``x**5+0.25`` are two
entries), and identical requests in flight share one computation, so a class
opening the same embedded example costs one computation.

Admission is by expected wait: the engine keeps a running mean of how long one
unit of work takes in a worker, one for plain jobs and one for heavy ones
(symbolic, second order, training), and prices each job by its size (its cost
in units, jobs.job_cost). It refuses new work at once (503 with Retry-After)
only when the work already waiting would keep the newcomer waiting longer than
``max_wait`` seconds. A class of 200 pressing Compute together is queued (200 x
5 ms over 2 workers is half a second), a queue of slow functions is refused
early, even while the plain jobs' mean is a few milliseconds. ``max_queue``
stays as a hard cap on waiting jobs. Work a student asked for beside a result
(``aside``: the page's derivative panel loaded apart) waits for a turn among all
workers but one (aside.Aside), so that results rarely queue behind panels.

Each client has a share of the workers (share.Shares): at most ``client_units``
units of work in flight; past it, its jobs wait behind its own, or are refused,
while other clients are served. A job that ran into the time limit is
remembered by its key for ``timeout_memory`` seconds and refused at once with
the same Overrun, so that sending it again costs no worker. Both live in this
process: per replica.

``workers=0`` runs computations in-process on a thread instead: no isolation,
no hard limit; for development and for tests of everything else.
"""

from __future__ import annotations

import logging
import math
import pickle
import threading
import weakref
from collections.abc import Callable
from typing import Any

import anyio
from cachetools import LRUCache, TTLCache

from ..core.language.rules import ExprError, Limits
from .aside import Aside
from .cache import Cache, Encoded, MemoryCache, SingleFlight
from .formulas import Formulas
from .jobs import Job, TrainJob, _run_job, _run_training
from .pool import STALL, PoolBroken, PoolStuck, TaskTimeout, WorkerDied, WorkerPool
from .share import OverShare, Shares
from .worker import _timed, fork_context, init_worker

log = logging.getLogger(__name__)

# How long past the time limit a task may hold its worker before the pool counts as stuck.
STUCK_GRACE = 10.0
# A heavy job's first estimate per unit, in plain jobs' (until its own mean is learned).
HEAVY_FACTOR = 10.0
# Most keys of timed-out jobs remembered (64 bytes each, a few hundred KB at most).
TIMEOUTS_KEPT = 10_000
ASIDE_WAIT = 0.1  # seconds a job aside waits for its turn before it runs anyway
TOOK_KEPT = 1_000  # keys whose worker seconds are kept (Engine.took)


class Busy(Exception):
    """Too much work is waiting; the client should come back after ``retry_after`` s."""

    def __init__(self, retry_after: int = 1):
        super().__init__(f"busy, retry after {retry_after} s")
        self.retry_after = retry_after


class Overrun(Exception):
    """A computation took longer than the limit, or its worker died; it was stopped."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "timeout" or "crash"


class Engine:
    """Runs jobs in the worker pool, with the cache, sharing and admission control."""

    def __init__(
        self,
        workers: int,
        timeout: float,
        limits: Limits,
        dot_timeout: float,
        max_queue: int,
        max_tasks: int,
        memory_mb: int,
        cache_bytes: int,
        on_event: Callable[[str, str], None] = lambda kind, value: None,
        cache: Cache | None = None,
        max_wait: float | None = None,
        first_estimate: float = 0.05,
        client_units: int | None = None,
        timeout_memory: float = 0.0,
        aside_slots: int | None = None,
    ):
        self.workers = workers
        self.timeout = timeout
        self.limits = limits
        self.dot_timeout = dot_timeout
        self.max_queue = max_queue
        self.max_tasks = max_tasks
        self.memory_mb = memory_mb
        self.cache: Cache = cache if cache is not None else MemoryCache(cache_bytes)
        self.on_event = on_event  # ("cache", hit|miss|shared), ("restart", why), ("queue", n)
        self.max_wait = timeout if max_wait is None else max_wait
        # Running means of one unit of work's seconds in a worker, plain and heavy
        # (updated on every result); a heavy job starts at ten plain ones a unit.
        self.service_time = first_estimate
        self.heavy_time = first_estimate * HEAVY_FACTOR
        # How many times each kind was measured (False: plain, True: heavy). Until
        # 1/SMOOTHING measurements, the mean is their plain mean: the first estimate goes
        # with the first measurement instead of weighing on the next twenty.
        self.measured = {False: 0, True: 0}
        self.pending = 0
        self.pending_seconds = 0.0  # the estimates of the jobs pending, summed
        # At most this many units of work in flight per client: fewer than the workers
        # (in-process, for development and tests: no share).
        default_units = max(1, workers - 1) if workers > 0 else 0
        units = default_units if client_units is None else client_units
        self.shares = Shares(units, self.max_wait)
        # Keys of jobs that ran into the time limit, answered at once while kept.
        self.timeouts: TTLCache[str, bool] | None = (
            TTLCache(TIMEOUTS_KEPT, timeout_memory) if timeout_memory > 0 else None
        )
        # Jobs ``aside`` hold at most all workers but one, for ASIDE_WAIT s at most (aside.py).
        self.aside = Aside(max(0, workers - 1) if aside_slots is None else aside_slots,
                           ASIDE_WAIT)
        self._flights = SingleFlight()  # identical jobs in flight share one computation
        self.took: LRUCache[str, float] = LRUCache(TOOK_KEPT)  # a key's seconds in a worker
        self.formulas = Formulas()  # sympy's formulas, derived once per server (formulas.py)
        # The results this process's workers made, by identity, while anything holds them
        # (the in-memory cache keeps them as they came): see made_here.
        self._made: weakref.WeakValueDictionary[int, Encoded] = weakref.WeakValueDictionary()
        self._pool: WorkerPool | None = None
        self._swap = threading.Lock()  # the pool is replaced from the loop or from its watch
        self.stuck_grace = STUCK_GRACE
        self.stall = STALL  # seconds tasks may wait beside a free worker, none starting

    # --- life cycle ---------------------------------------------------------

    def start(self) -> None:
        if self.workers > 0 and self._pool is None:
            self._pool = self._new_pool()

    def _new_pool(self) -> WorkerPool:
        pool = WorkerPool(
            self.workers, self.max_tasks, init_worker, (self.memory_mb,), fork_context(),
            on_recycle=lambda: self.on_event("restart", "recycle"),
            on_fail=self._replace, stall=self.stall,
        )
        pool.start()
        return pool

    def close(self) -> None:
        with self._swap:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=5)

    @property
    def isolated(self) -> bool:
        return self._pool is not None

    @property
    def healthy(self) -> bool:
        """Whether a computation could run now; reads the pool's state, queues nothing."""
        if self.workers <= 0:
            return True
        pool = self._pool
        return pool is not None and pool.active

    def _replace(self, pool: WorkerPool, why: str) -> None:
        """Replace ``pool`` with a new one, unless it was replaced already or the engine closed.

        Called on the event loop, or on the pool's own watch (pool.WorkerPool's
        ``on_fail``). The old pool is stopped on a thread of its own.
        """
        with self._swap:
            if self._pool is not pool:
                return
            self._pool = self._new_pool()
        self.on_event("restart", why)

        def stop() -> None:
            try:
                pool.stop()
                pool.join(timeout=5)
            except Exception:  # a broken pool may fail to stop; it is dropped
                log.warning("stopping a replaced worker pool failed", exc_info=True)

        threading.Thread(target=stop, name="stop-broken-pool", daemon=True).start()

    # --- work ---------------------------------------------------------------

    async def compute(
        self, job: Job, missed: bool = False, client: str | None = None, aside: bool = False,
    ) -> tuple[Encoded, str]:
        """The result for ``job`` and how it was had: "hit", "shared" or "miss".

        ``missed``: the caller has just found nothing kept under the job's key.
        ``client``: whose share of the workers a new computation counts against.
        ``aside``: asked for beside a result (see ``aside_slots``).
        """
        return await self.formulas.through(job, lambda job: self.cached(
            job.key, _run_job, job, self.limits, self.dot_timeout, missed=missed,
            client=client, cost=job.cost, heavy=job.heavy, aside=aside,
        ))

    async def train(
        self, job: TrainJob, missed: bool = False, client: str | None = None
    ) -> tuple[Encoded, str]:
        """A training run's result, kept and shared like a computation's."""
        return await self.cached(
            job.key, _run_training, job, self.limits, missed=missed, client=client,
            cost=job.cost, heavy=True,
        )

    def made_here(self, result: Encoded) -> bool:
        """Whether ``result`` is the very object one of this engine's workers answered, which
        sanitized its SVG: a page inlines that SVG as it is. A result read back from a
        shared cache (Redis) is a new object, and its SVG is sanitized again (sanitize.py)."""
        return self._made.get(id(result)) is result

    async def kept(self, key: str) -> Encoded | None:
        """The result kept under ``key`` (counted as a hit), or None."""
        found = await self.cache.get(key)
        if found is not None:
            self.on_event("cache", "hit")
        return found

    async def cached(
        self, key: str, fn: Callable[..., Encoded], *args: Any, missed: bool = False,
        client: str | None = None, cost: int = 1, heavy: bool = False, aside: bool = False,
    ) -> tuple[Encoded, str]:
        """``fn(*args)`` run in a worker, or its kept result under ``key``, and how it was had.

        With ``missed``, the cache is not asked again (the caller just did). A
        new computation holds ``cost`` units of ``client``'s share while it runs;
        a hit, or a computation shared with one under way, holds none.
        """
        found = None if missed else await self.kept(key)
        if found is not None:
            return found, "hit"
        if self.timeouts is not None and key in self.timeouts:
            self.on_event("cache", "timeout")
            raise Overrun("timeout")

        async def make() -> Encoded:
            try:
                result = await self.submit(
                    fn, *args, cost=cost, heavy=heavy, aside=aside, key=key)
            except Overrun as overrun:
                if overrun.reason == "timeout" and self.timeouts is not None:
                    self.timeouts[key] = True
                raise
            self._made[id(result)] = result
            await self.cache.put(key, result)
            return result

        if self._flights.running(key):
            self.on_event("cache", "shared")
            result, _ = await self._flights.run(key, make)
            return result, "shared"
        try:
            async with self.shares.hold(client, cost):
                self.on_event("cache", "miss")
                result, shared = await self._flights.run(key, make)
        except OverShare as over:
            raise Busy(retry_after=over.retry_after) from None
        return result, "shared" if shared else "miss"

    # Weight of the newest measurement in the running mean: about the last ten jobs.
    SMOOTHING = 0.1

    def expected_wait(self) -> float:
        """Seconds a job submitted now would wait for a worker: the jobs ahead of it,
        each by its estimate (its cost times its kind's running mean), over the workers."""
        workers = max(self.workers, 1)
        ahead = max(0, self.pending - workers + 1)
        if not ahead:
            return 0.0
        return ahead * (self.pending_seconds / self.pending) / workers

    def estimate(self, cost: int = 1, heavy: bool = False) -> float:
        """A job's expected seconds in a worker, by its size and kind; at most the time limit."""
        return min(self.timeout, cost * (self.heavy_time if heavy else self.service_time))

    async def submit(
        self, fn: Callable[..., Any], *args: Any, cost: int = 1, heavy: bool = False,
        aside: bool = False, key: str | None = None,
    ) -> Any:
        """Run ``fn(*args)`` in a worker under the time limit, or refuse when too busy.

        Admission is by expected wait (see the module's docstring), this job's own
        estimate included. The task is pickled here, before any worker sees it:
        an argument that cannot be pickled (too deep, a lock, ...) fails this
        request alone. Should the pool break or stall, it is rebuilt, and a task
        that never reached a worker runs on the new one; a task that had, or one
        that meets a second broken pool, is told to try again (Busy).
        """
        estimate = self.estimate(cost, heavy)
        if self.pending >= max(self.workers, 1) + self.max_queue or (
            self.expected_wait() > self.max_wait
        ):
            raise Busy(retry_after=max(1, math.ceil(self.expected_wait())))
        self.pending += 1
        self.pending_seconds += estimate
        self.on_event("queue", str(self.pending))
        try:
            async with self.aside.turn(aside):
                seconds, result = await self._run(fn, *args)
            self._observe(seconds, cost, heavy)
            if key is not None:
                self.took[key] = seconds
            return result
        except Overrun as overrun:
            if overrun.reason == "timeout":
                self._observe(self.timeout, cost, heavy)
            raise
        finally:
            self.pending -= 1
            self.pending_seconds = max(0.0, self.pending_seconds - estimate) if self.pending else 0.0
            self.on_event("queue", str(self.pending))

    async def _run(self, fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
        pool = self._pool
        if self.workers <= 0 or pool is None:
            return await anyio.to_thread.run_sync(_timed, fn, *args)
        try:
            payload = pickle.dumps((_timed, (fn, *args)), protocol=pickle.HIGHEST_PROTOCOL)
        except (RecursionError, pickle.PicklingError, TypeError, AttributeError):
            raise ExprError(
                "The request could not be handed to a worker; make it simpler."
            ) from None
        for attempt in range(2):
            if not pool.active:
                self._replace(pool, "broken")
                pool = self._pool or pool
            try:
                # The pool stops a task at the limit. Past the limit plus the grace,
                # counted while a worker holds the task (not while it waits for
                # one), the pool itself has stopped answering: PoolStuck.
                return await pool.run(payload, self.timeout, self.stuck_grace)
            except PoolBroken as broken:
                self._replace(pool, "broken")  # unless its watch has already
                if broken.started or attempt:
                    raise Busy(retry_after=1) from None
                # The task never reached a worker (a broken or stalled pool): it
                # goes to the new pool, once.
                pool = self._pool or pool
            except Exception as error:
                raise self._refusal(pool, error) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _refusal(self, pool: WorkerPool, error: Exception) -> Exception:
        """What the caller gets for ``error`` raised by ``pool.run``, counted as it happened."""
        if isinstance(error, PoolStuck):
            self._replace(pool, "stuck")
            return Busy(retry_after=1)
        if isinstance(error, TaskTimeout):
            self.on_event("restart", "timeout")
            return Overrun("timeout")
        if isinstance(error, WorkerDied):
            self.on_event("restart", "crash")
            return Overrun("crash")
        if isinstance(error, MemoryError):
            return ExprError(
                "The function needs more memory than the server allows for one request."
            )
        return error  # the task's own error

    def _observe(self, seconds: float, cost: int = 1, heavy: bool = False) -> None:
        per_unit = seconds / max(cost, 1)
        self.measured[heavy] += 1
        weight = max(self.SMOOTHING, 1 / self.measured[heavy])
        if heavy:
            self.heavy_time += weight * (per_unit - self.heavy_time)
        else:
            self.service_time += weight * (per_unit - self.service_time)


__all__ = ["Busy", "Engine", "Overrun"]
