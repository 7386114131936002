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
- A guard against a pool that stopped making progress, which pebble cannot see: a
  worker killed while it holds pebble's channel lock leaves the lock taken for
  good (pebble issue #163), and no task starts again. A task that has run past its
  limit plus ``grace`` while pebble has not stopped it, or that waits while no task
  anywhere in the pool has started or ended for as long, fails with PoolStuck, and
  the owner builds a new pool. The time a task waits for a free worker is not
  counted against it: a queue of slow tasks is not a stuck pool.
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
from multiprocessing.context import BaseContext
from typing import Any

import pebble

from .worker import run_task, start_worker

log = logging.getLogger(__name__)

# How often a waiting task looks at its pool (stopped, broken, stuck), in seconds.
CHECK_EVERY = 0.25


class TaskTimeout(Exception):
    """The task ran past its limit; its worker was killed and replaced."""


class WorkerDied(Exception):
    """The worker died during the task (a crash or a kill); it was replaced."""


class PoolBroken(Exception):
    """The pool was stopped, or no worker could be started; it takes no more tasks."""

    def __init__(self, reason: str, started: bool = False):
        super().__init__(reason)
        self.started = started  # whether the task was seen running in a worker


class PoolStuck(Exception):
    """The pool made no progress for longer than any task may take; build a new one."""


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
    ):
        self.workers = workers
        self.max_tasks = max_tasks
        self.on_recycle = on_recycle
        self.recycled = 0  # workers retired after max_tasks answers
        self._pool = pebble.ProcessPool(
            max_workers=workers,
            max_tasks=max_tasks,
            initializer=start_worker,
            initargs=(initializer, initargs),
            context=context,
        )
        self._lock = threading.Lock()  # the counts: callers may run on several loops
        self._answered: dict[int, int] = {}  # answers per worker pid, for max_tasks
        self._progress = time.monotonic()  # when a task was last seen starting or ending
        self._stopped = False
        self._told = False  # whether the pool's breaking was logged
        self._starting = False
        self._started = threading.Event()

    # --- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Start the workers in a thread, now rather than on the first task; returns at once.

        pebble forks its first workers on the thread that starts it, and the first
        fork waits for the fork server to start and warm up: not on the event loop.
        """
        with self._lock:
            if self._starting:
                return
            self._starting = True
        threading.Thread(target=self._start, name="start-workers", daemon=True).start()

    def _start(self) -> None:
        try:
            self._pool.active  # noqa: B018 - pebble starts its pool when first asked about it
        except Exception:  # pebble counts the pool as broken; run() says so
            log.warning("starting the worker pool failed", exc_info=True)
        finally:
            self._started.set()

    @property
    def active(self) -> bool:
        """Whether the pool takes tasks: not stopped, and not given up by pebble."""
        if self._stopped:
            return False
        if not self._started.is_set():
            return True  # still starting
        if self._pool.active:
            return True
        self._tell("pebble gave the pool up: a worker could not start, or all were lost")
        return False

    def stop(self) -> None:
        """Stop taking tasks, from any thread; waiting and running tasks fail with PoolBroken."""
        self._stopped = True
        self._pool.stop()

    def join(self, timeout: float = 5.0) -> None:
        """Kill the workers and end pebble's threads (pebble waits for each worker it stops)."""
        self._pool.join(timeout)

    def _tell(self, what: str) -> None:
        if not self._told and not self._stopped:
            self._told = True
            log.warning("worker pool broken: %s", what)

    # --- tasks ---------------------------------------------------------------

    async def run(self, payload: bytes, timeout: float | None, grace: float = 10.0) -> Any:
        """The answer to a pickled ``(fn, args)``, run in a worker within ``timeout`` s.

        ``grace``: how long past ``timeout`` the task, or the pool, may make no
        progress before the pool counts as stuck (see the module's docstring).
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
        future.add_done_callback(self._moved)
        try:
            pid, data = await self._answer(future, (timeout or 0.0) + grace)
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

    async def _answer(self, future: concurrent.futures.Future, limit: float) -> Any:
        """pebble's answer, with its errors as this module's; checks the pool while it waits."""
        waiting = asyncio.wrap_future(future)
        asked = time.monotonic()
        started: float | None = None
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=CHECK_EVERY)
            if done:
                break
            now = time.monotonic()
            if started is None and future.running():
                started = self._progress = now
            if not self.active:
                future.cancel()
                raise PoolBroken("the pool was stopped", started is not None)
            if started is not None:
                if now - started > limit:
                    future.cancel()
                    raise PoolStuck(f"a task held its worker {now - started:.0f} s")
            elif now - max(asked, self._progress) > limit:
                future.cancel()
                raise PoolStuck(f"no task started or ended for {limit:g} s")
        try:
            return waiting.result()
        except concurrent.futures.TimeoutError:  # pebble's; the task's own came pickled
            raise TaskTimeout("the task ran past its limit") from None
        except pebble.ProcessExpired:
            raise WorkerDied("the worker died during the task") from None
        except (BrokenProcessPool, concurrent.futures.CancelledError) as exc:
            self._tell(repr(exc))
            raise PoolBroken(f"the pool broke: {exc!r}", started is not None) from None

    def _moved(self, _: concurrent.futures.Future) -> None:
        """On pebble's thread: a task ended, so the pool makes progress."""
        self._progress = time.monotonic()

    def _count(self, pid: int) -> None:
        """Count an answer of worker ``pid``; pebble retires it after ``max_tasks``."""
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


__all__ = ["PoolBroken", "PoolStuck", "TaskTimeout", "WorkerDied", "WorkerPool"]
