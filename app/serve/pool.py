"""Worker processes for the engine: pebble's ProcessPool, bridged to asyncio.

A task's bytes go in (``pickle.dumps((fn, args))``, pickled by the engine) and its
answer comes out. pebble (``pebble.ProcessPool``) keeps the workers: it forks them
from the fork server of ``context`` (autograd_playground.serve.worker.fork_context),
so each starts warm and shares the server's pages; it kills a task past its limit
with its worker and starts another; it retires a worker after ``max_tasks`` tasks.
What this module adds:

- ``run`` awaits pebble's concurrent future on the caller's loop
  (``asyncio.wrap_future``), and cancels the pebble future when the caller gives up,
  so that pebble stops the worker instead of leaving it to a loop that may be gone.
- pebble's errors become this module's: TaskTimeout (past the limit; the worker
  was killed), WorkerDied (a crash or a kill during the task), PoolBroken (the pool
  was stopped, or pebble gave it up). A PoolBroken says whether the task was seen
  running: one that was not may be run again on a new pool.
- A watch (one thread per pool) for what pebble cannot see, which ends the pool
  and tells its owner (``on_fail(pool, reason)``), who builds a new one:
  - "stalled": a worker killed while it holds pebble's channel lock leaves the
    lock taken for good (pebble issue #163), and no task starts again. A healthy
    pool with a free worker starts a waiting task within milliseconds, so tasks
    that wait while fewer tasks run than there are workers, with no task started
    or ended for ``stall`` s, mean a dead channel. No waiting task has started:
    each fails with PoolStalled, and may run again on the new pool.
  - "stuck": a task held by its worker past its limit plus ``grace``, which
    pebble could not stop. That task fails with PoolStuck.
  - "broken": pebble gave the pool up (below). The owner is told at once, before
    the next task arrives, if the pool ever started a task; a pool whose workers
    never started one is left to the next task, so that a worker that cannot
    start is not forked in a loop with nobody asking.
  The other tasks of an ended pool fail with PoolBroken.
- Recycling is counted (``recycled``, ``on_recycle``): pebble retires a worker
  silently, so the pool counts each worker's answers by its pid.

pebble breaks a whole pool (``BrokenProcessPool: All workers expired``) when a
worker dies while no task runs, as when an idle worker is killed from outside,
or when no worker can start (its initializer fails). Either way the tasks waiting
fail with PoolBroken, and their owner replaces the pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import pickle
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from multiprocessing.context import BaseContext
from typing import Any

import pebble

from .worker import run_task, start_worker

log = logging.getLogger(__name__)

# How often the watch looks at the pool's tasks and at pebble, in seconds.
CHECK_EVERY = 0.1

# Seconds tasks may wait beside a free worker, none starting, before the pool counts
# as stalled. A free worker takes a task within milliseconds; a worker replaced after
# a kill or a timeout forks warm from the fork server in well under a second.
STALL = 3.0

GIVEN_UP = "pebble gave the pool up: a worker could not start, or all were lost"


class TaskTimeout(Exception):
    """The task ran past its limit; its worker was killed and replaced."""


class WorkerDied(Exception):
    """The worker died during the task (a crash or a kill); it was replaced."""


class PoolBroken(Exception):
    """The pool was stopped, or no worker could be started; it takes no more tasks."""

    def __init__(self, reason: str, started: bool = False):
        super().__init__(reason)
        self.started = started  # whether the task was seen running in a worker


class PoolStalled(PoolBroken):
    """Tasks waited beside a free worker and none started: the pool's channel is dead.
    The task never started, so it may run again on a new pool."""


class PoolStuck(Exception):
    """The task held its worker past its limit and pebble did not stop it."""


@dataclass
class _Task:
    """What the watch knows of one task."""

    asked: float  # when it was handed to pebble (time.monotonic)
    limit: float  # how long a worker may hold it before the pool counts as stuck
    started: float | None = None  # when it was first seen running in a worker


@dataclass(frozen=True)
class _Failure:
    """Why a pool ended: "stopped", "broken", "stalled" or "stuck"."""

    reason: str
    text: str
    culprit: _Task | None = None  # the task a worker held too long ("stuck")


def _ignore(pool: WorkerPool, reason: str) -> None:
    """The default ``on_fail``: the owner looks at ``active`` itself."""


class WorkerPool:
    """``workers`` processes from ``context``, each set up once by ``initializer(*initargs)``.

    See the module's docstring for what it adds to pebble's pool.
    """

    def __init__(
        self,
        workers: int,
        max_tasks: int,
        initializer: Callable[..., None],
        initargs: tuple,
        context: BaseContext,
        on_recycle: Callable[[], None] = lambda: None,
        on_fail: Callable[[WorkerPool, str], None] = _ignore,
        stall: float = STALL,
    ):
        self.workers = workers
        self.max_tasks = max_tasks
        self.on_recycle = on_recycle
        self.on_fail = on_fail
        self.stall = stall
        self.recycled = 0  # workers retired after max_tasks answers
        self._pool = pebble.ProcessPool(
            max_workers=workers,
            max_tasks=max_tasks,
            initializer=start_worker,
            initargs=(initializer, initargs),
            context=context,
        )
        self._lock = threading.Lock()  # the tasks and counts: callers may run on several loops
        self._tasks: dict[concurrent.futures.Future, _Task] = {}
        self._answered: dict[int, int] = {}  # answers per worker pid, for max_tasks
        self._progress = time.monotonic()  # when a task was last seen starting or ending
        self._served = False  # whether a task ever started here
        self._failure: _Failure | None = None
        self._ended = threading.Event()
        self._told = False  # whether the pool's breaking was logged
        self._starting = False
        self._started = threading.Event()

    # --- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Start the workers and the watch in a thread, now rather than on the first task.

        pebble forks its first workers on the thread that starts it, and the first
        fork waits for the fork server to start and warm up: not on the event loop.
        Returns at once.
        """
        with self._lock:
            if self._starting:
                return
            self._starting = True
        threading.Thread(target=self._start, name="worker-pool", daemon=True).start()

    def _start(self) -> None:
        try:
            self._pool.active  # noqa: B018 - pebble starts its pool when first asked about it
        except Exception:  # pebble counts the pool as broken; the watch says so
            log.warning("starting the worker pool failed", exc_info=True)
        finally:
            self._started.set()
        self._watch()

    @property
    def active(self) -> bool:
        """Whether the pool takes tasks: not ended, and not given up by pebble."""
        if self._failure is not None:
            return False
        if not self._started.is_set():
            return True  # still starting
        if self._pool.active:
            return True
        self._tell(GIVEN_UP)
        return False

    @property
    def ended(self) -> str | None:
        """Why the pool ended ("stopped", "broken", "stalled", "stuck"), or None while it works."""
        failure = self._failure
        return None if failure is None else failure.reason

    def stop(self) -> None:
        """Stop taking tasks, from any thread; waiting and running tasks fail with PoolBroken."""
        self._fail(_Failure("stopped", "the pool was stopped"))

    def join(self, timeout: float = 5.0) -> None:
        """Kill the workers and end pebble's threads (pebble waits for each worker it stops)."""
        self._pool.join(timeout)

    def _tell(self, what: str) -> None:
        if not self._told and self._failure is None:
            self._told = True
            log.warning("worker pool broken: %s", what)

    # --- the watch ----------------------------------------------------------

    def _watch(self) -> None:
        """Look at the pool every CHECK_EVERY s until it ends; end it when it must."""
        while not self._ended.wait(CHECK_EVERY):
            failure = self._check(time.monotonic())
            if failure is not None:
                self._fail(failure)

    def _check(self, now: float) -> _Failure | None:
        """Why the pool must end now, if it must (see the module's docstring)."""
        if not self._pool.active:
            return _Failure("broken", GIVEN_UP)
        with self._lock:
            tasks = [(f, t) for f, t in self._tasks.items() if not f.done()]
        running = 0
        waiting_since: float | None = None
        for future, task in tasks:
            if task.started is None and future.running():
                task.started = self._progress = now
                self._served = True
            if task.started is None:
                waiting_since = task.asked if waiting_since is None else min(waiting_since, task.asked)
            elif now - task.started > task.limit:
                held = f"a task held its worker {now - task.started:.0f} s"
                return _Failure("stuck", held, task)
            else:
                running += 1
        if waiting_since is not None and running < self.workers:
            idle = now - max(waiting_since, self._progress)
            if idle > self.stall:
                return _Failure("stalled", f"no task started for {idle:.1f} s beside a free worker")
        return None

    def _fail(self, failure: _Failure) -> None:
        """End the pool, from any thread: tell the owner, then fail every task it holds."""
        with self._lock:
            if self._failure is not None:
                return
            self._failure = failure
            tasks = list(self._tasks.items())
        self._ended.set()
        self._pool.stop()  # pebble takes no more tasks and starts none
        if failure.reason != "stopped":
            if not self._told:  # pebble's giving up may have been logged already
                self._told = True
                log.warning("worker pool %s: %s", failure.reason, failure.text)
            if failure.reason != "broken" or self._served:
                self.on_fail(self, failure.reason)  # before the tasks fail: they go to its successor
        for future, task in tasks:
            if task.started is None and future.running():
                task.started = time.monotonic()
            future.cancel()  # wakes its caller; pebble's own threads are ending

    # --- tasks ---------------------------------------------------------------

    async def run(self, payload: bytes, timeout: float | None, grace: float = 10.0) -> Any:
        """The answer to a pickled ``(fn, args)``, run in a worker within ``timeout`` s.

        ``grace``: how long past ``timeout`` a worker may hold the task before the
        pool counts as stuck (see the module's docstring).
        """
        if not self._started.is_set():
            self.start()
            await asyncio.get_running_loop().run_in_executor(None, self._started.wait)
        if not self.active:
            raise PoolBroken("the pool takes no more tasks")
        try:
            future = self._pool.schedule(run_task, args=(payload,), timeout=timeout)
        except RuntimeError:  # pebble stopped or gave up the pool meanwhile
            self._tell("pebble refused a task")
            raise PoolBroken("the pool takes no more tasks") from None
        task = _Task(time.monotonic(), (timeout or 0.0) + grace)
        with self._lock:
            ended = self._failure is not None
            if not ended:
                self._tasks[future] = task
        if ended:  # the pool ended after the look above: pebble will not answer
            future.cancel()
            raise PoolBroken("the pool takes no more tasks")
        future.add_done_callback(partial(self._moved, task))
        try:
            pid, data = await self._answer(future, task)
        except asyncio.CancelledError:
            future.cancel()  # pebble stops the worker, if the task had started
            raise
        self._count(pid)
        try:
            error, result = pickle.loads(data)
        except Exception as exc:  # the worker is fine; the answer is not
            raise RuntimeError(f"the answer could not be read: {exc!r}") from None
        if error is not None:
            raise error
        return result

    async def _answer(self, future: concurrent.futures.Future, task: _Task) -> Any:
        """pebble's answer, with its errors as this module's."""
        # asyncio.wait, not await: a pebble future cancelled by _fail must not read
        # as this caller being cancelled.
        waiting = asyncio.wrap_future(future)
        await asyncio.wait({waiting})
        if waiting.cancelled():
            raise self._ending(task)
        try:
            return waiting.result()
        except concurrent.futures.TimeoutError:  # pebble's; the task's own came pickled
            raise TaskTimeout("the task ran past its limit") from None
        except pebble.ProcessExpired:
            raise WorkerDied("the worker died during the task") from None
        except BrokenProcessPool as exc:
            self._tell(repr(exc))
            raise PoolBroken(f"the pool broke: {exc!r}", task.started is not None) from None

    def _ending(self, task: _Task) -> Exception:
        """What ``task`` fails with, its pool having ended (its future was cancelled)."""
        failure = self._failure or _Failure("stopped", "the task was cancelled")
        if failure.reason == "stuck" and failure.culprit is task:
            return PoolStuck(failure.text)
        if failure.reason == "stalled" and task.started is None:
            return PoolStalled(f"the pool stalled: {failure.text}")
        return PoolBroken(f"the pool ended ({failure.reason})", task.started is not None)

    def _moved(self, task: _Task, future: concurrent.futures.Future) -> None:
        """A task ended (on pebble's thread, or wherever it was cancelled)."""
        with self._lock:
            self._tasks.pop(future, None)
        if not future.cancelled() or task.started is not None:
            # A worker is free, or being replaced: the stall clock starts again.
            self._progress = time.monotonic()

    def _count(self, pid: int) -> None:
        """Count an answer of worker ``pid``; pebble retires it after ``max_tasks``."""
        self._served = True
        if not self.max_tasks:
            return
        with self._lock:
            answered = self._answered.get(pid, 0) + 1
            retired = answered >= self.max_tasks
            if retired:
                self._answered.pop(pid, None)
                self.recycled += 1
            else:
                self._answered[pid] = answered
        if retired:
            self.on_recycle()


__all__ = ["PoolBroken", "PoolStalled", "PoolStuck", "TaskTimeout", "WorkerDied", "WorkerPool"]
