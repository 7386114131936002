"""Worker processes driven from the event loop: a task's bytes go in, its answer comes out.

Each worker is a process forked from the fork server with one duplex pipe of
its own. The event loop writes a task to an idle worker's pipe and watches the
pipe for the answer (``loop.add_reader``). No thread sits between a request and
its worker: with a pool that hands tasks and answers through its own threads,
an idle server paid two extra thread wake-ups per computation (a 13 KB answer's
round trip took 0.85 ms after a pause, against 0.36 ms this way), and under a
class those threads fought the event loop for the GIL.

The rules:
- A task runs under a wall-clock limit. Past it, its worker is killed (SIGKILL,
  so C code such as a Graphviz layout stops too) and replaced; the task fails
  with :class:`TaskTimeout`.
- A worker that dies during a task (a crash, the kernel's OOM killer) fails the
  task with :class:`WorkerDied` and is replaced. Each worker says when it has
  read a task, so a worker that was killed while idle (its process may take
  milliseconds to die) is replaced and the task goes to another, instead of
  failing as if it had killed the worker.
- After ``max_tasks`` answers (0: never) a worker is retired and replaced, as a
  guard against slow leaks.
- Workers start in a thread (forking and the warm-up must not hold up the
  event loop), and are handed out only once they said they are ready. Should a
  worker fail to start, the pool is broken (``active`` is False): waiting tasks
  fail with :class:`PoolBroken` and the owner builds a new pool.
- The task's own exception, pickled in the worker, is raised to the caller; one
  the caller could not take (SystemExit, StopIteration, an error that cannot be
  rebuilt from its pickle) arrives as a RuntimeError with its text.
- A caller that gives up (a cancelled request) has its worker replaced: the
  worker is never left to an event loop that may be gone.
- ``stop()`` may be called from any thread; running and waiting tasks fail with
  :class:`PoolBroken`.

Tasks are waited for in order of arrival. Waiting may span event loops (tests
run each request on a fresh one): a free worker is handed to its waiter on the
waiter's loop.
"""

from __future__ import annotations

import asyncio
import collections
import pickle
import signal
import socket
import struct
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, Callable

# How long a new worker may take to fork and warm up before the pool counts it as failed.
START_LIMIT = 120.0
_READY = b"ready"
_TAKEN = b"taken"  # a worker's first word on a task: it has read it (answers are pickles)


class TaskTimeout(Exception):
    """The task ran past its limit; its worker was killed and replaced."""


class WorkerDied(Exception):
    """The worker died during the task (a crash or a kill); it was replaced."""


class PoolBroken(Exception):
    """A worker could not be started, or the pool was stopped; it takes no more tasks."""


class _NotTaken(Exception):
    """The task never reached the worker (it was gone); it may go to another one."""


class _Frames:
    """multiprocessing.Connection's framing (a 4-byte length, or -1 and 8 bytes), gathered
    from a non-blocking socket: the event loop never waits for the rest of an answer."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def take(self) -> bytes | None:
        """The first whole frame, removed from the buffer, or None while it is incomplete."""
        buffer = self.buffer
        if len(buffer) < 4:
            return None
        (size,) = struct.unpack_from("!i", buffer)
        start = 4
        if size == -1:
            if len(buffer) < 12:
                return None
            (size,) = struct.unpack_from("!Q", buffer, 4)
            start = 12
        if len(buffer) < start + size:
            return None
        frame = bytes(buffer[start:start + size])
        del buffer[:start + size]
        return frame


def _framed(payload: bytes) -> bytes:
    """``payload`` as the worker's Connection.recv_bytes() reads it."""
    size = len(payload)
    header = struct.pack("!i", size) if size <= 0x7FFFFFFF else struct.pack("!iQ", -1, size)
    return header + payload


class _Worker:
    def __init__(self, process: Any, sock: socket.socket):
        self.process = process
        self.sock = sock  # our end of the worker's pipe; non-blocking once it is ready
        self.frames = _Frames()
        self.answered = 0  # tasks answered, for max_tasks
        self.taken = False  # whether it has read the task it was given
        # The function that ends the task running with (error, result); None when idle.
        self.done: Callable[[BaseException | None, Any], None] | None = None

    def signal_kill(self) -> None:
        """SIGKILL the process; safe from any thread (the pipe is left to its owner)."""
        try:
            self.process.kill()
        except (OSError, ValueError, AttributeError):  # already gone, or not started yet
            pass

    def kill(self) -> None:
        """SIGKILL the process and close our end of its pipe (on the thread that owns it)."""
        self.signal_kill()
        self.sock.close()

    def alive(self) -> bool:
        """For a worker that waited idle: its process runs and its pipe is open and quiet.

        An idle worker sends nothing, so anything to read (an end of file above all,
        which a killed worker leaves at once) means it cannot take a task."""
        try:
            self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return self.process.is_alive()
        except OSError:
            return False
        return False

    def read(self) -> bytes | None:
        """Everything the worker sent so far; its next whole frame, or None while it is still
        coming. Raises EOFError when the worker is gone and no whole frame is left."""
        closed = False
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            if not chunk:
                closed = True
                break
            self.frames.buffer += chunk
            if len(chunk) < 1 << 16:
                break
        frame = self.frames.take()
        if frame is None and closed:
            raise EOFError("the worker closed its pipe")
        return frame


def serve(conn: Connection, initializer: Callable[..., None], initargs: tuple) -> None:
    """A worker's life: set up, say ready, then answer one task at a time until the pipe closes.

    A task is ``pickle.dumps((fn, args))``; the answer is ``pickle.dumps((error, result))``
    with one of the two None. An answer that cannot be pickled is sent as a RuntimeError.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    initializer(*initargs)
    conn.send_bytes(_READY)
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send_bytes(_TAKEN)
        try:
            fn, args = pickle.loads(payload)
            answer: tuple[BaseException | None, Any] = (None, fn(*args))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            answer = (_sendable(exc), None)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result
            data = pickle.dumps((RuntimeError(f"the answer could not be sent: {exc!r}"), None))
        conn.send_bytes(data)


def _takeable(error: BaseException) -> Exception:
    """``error``, or a RuntimeError with its text where the caller's loop could not take it:
    SystemExit would stop the server, StopIteration breaks the future it is set on."""
    if isinstance(error, Exception) and not isinstance(error, StopIteration):
        return error
    return RuntimeError(f"the task ended with {error!r}")


def _sendable(error: BaseException) -> Exception:
    """``error`` as the caller can take it (see _takeable), and surviving pickling both
    ways: an error that cannot be rebuilt from its pickle would be lost."""
    error = _takeable(error)
    try:
        pickle.loads(pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - any way it fails, the text still goes back
        return RuntimeError(f"the task failed with {error!r}")
    return error


class WorkerPool:
    """``workers`` processes from ``context`` (a fork-server context), each set up once
    by ``initializer(*initargs)``. See the module's docstring for the rules."""

    def __init__(
        self,
        workers: int,
        max_tasks: int,
        initializer: Callable[..., None],
        initargs: tuple,
        context: BaseContext,
    ):
        self.workers = workers
        self.max_tasks = max_tasks
        self._initializer = initializer
        self._initargs = initargs
        self._context = context
        self._lock = threading.Lock()  # idle, waiters, all and active: starter threads touch them
        self._idle: collections.deque[_Worker] = collections.deque()
        self._waiters: collections.deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = (
            collections.deque()
        )
        self._all: set[_Worker] = set()
        self._stopped: list[Any] = []  # the processes stop() killed, for join()
        self.active = True

    # --- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Start every worker, each in its own thread; returns at once."""
        for _ in range(self.workers):
            self._start_one()

    def _start_one(self) -> None:
        threading.Thread(target=self._launch, name="start-worker", daemon=True).start()

    def _launch(self) -> None:
        """In a thread: fork a worker, wait until it is set up, then hand it out."""
        worker: _Worker | None = None
        try:
            ours, child_end = socket.socketpair()
            theirs = Connection(child_end.detach())  # passed to the child through the fork server
            process = self._context.Process(
                target=serve, args=(theirs, self._initializer, self._initargs), daemon=True
            )
            worker = _Worker(process, ours)
            with self._lock:
                stopped = not self.active
                self._all.add(worker)
            if stopped:
                raise OSError("the pool was stopped")
            process.start()
            theirs.close()
            ours.settimeout(START_LIMIT)
            while (said := worker.frames.take()) is None:
                chunk = ours.recv(1 << 16)
                if not chunk:
                    raise OSError("the worker did not start")
                worker.frames.buffer += chunk
            if said != _READY:
                raise OSError("the worker did not start")
            ours.setblocking(False)
            if not self.active:  # stopped while this one started: it must not outlive the pool
                raise OSError("the pool was stopped")
        except Exception:  # noqa: BLE001 - any failure to start breaks the pool, loudly
            if worker is not None:
                self._forget(worker)
                worker.kill()
                _reap(worker.process, 5.0)
            self._break()
            return
        self._release(worker)

    def stop(self) -> None:
        """Kill every worker, from any thread; waiting and running tasks fail with PoolBroken.

        A running task's pipe belongs to its event loop: the loop sees the end of
        file and ends the task (see run), so only idle workers' pipes are closed here.
        """
        self._break()
        with self._lock:
            workers = list(self._all)
            idle = set(self._idle)
            self._all.clear()
            self._idle.clear()
        for worker in workers:
            self._stopped.append(worker.process)
            if worker in idle:
                worker.kill()
            else:
                worker.signal_kill()

    def join(self, timeout: float = 5.0) -> None:
        """Reap the stopped workers (each killed, so this is quick)."""
        deadline = time.monotonic() + timeout
        for process in self._stopped:
            _reap(process, max(0.0, deadline - time.monotonic()))

    def _break(self) -> None:
        with self._lock:
            self.active = False
            waiters = list(self._waiters)
            self._waiters.clear()
        for loop, future in waiters:
            _call_on(loop, _fail, future, PoolBroken("a worker could not be started"))

    def _forget(self, worker: _Worker) -> bool:
        """Take ``worker`` out of the pool; whether it was still in it."""
        with self._lock:
            known = worker in self._all
            self._all.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)
            return known

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` (if it still runs) and, once, start another in its place."""
        known = self._forget(worker)
        worker.kill()
        threading.Thread(target=_reap, args=(worker.process, 5.0), daemon=True).start()
        if known and self.active:
            self._start_one()

    def _release(self, worker: _Worker) -> None:
        """Give a free worker to the first task waiting, or keep it idle."""
        with self._lock:
            kept = self.active and worker in self._all
            if kept:
                while self._waiters:
                    loop, future = self._waiters.popleft()
                    if not future.done():
                        break
                else:
                    self._idle.append(worker)
                    return
        if not kept:  # the pool was stopped meanwhile
            worker.kill()
            return
        _call_on(loop, _hand, future, worker, self)

    # --- tasks ---------------------------------------------------------------

    async def run(self, payload: bytes, timeout: float) -> Any:
        """The answer to a pickled ``(fn, args)``, run in a worker within ``timeout`` s."""
        loop = asyncio.get_running_loop()
        data = _framed(payload)
        while True:
            worker = await self._acquire(loop)
            if not self.active:  # stopped while this worker was being handed over
                self._replace(worker)
                raise PoolBroken("the pool was stopped")
            try:
                return await self._run_on(worker, loop, data, timeout)
            except _NotTaken:
                continue  # the worker was gone before it took the task: the next one

    async def _run_on(
        self, worker: _Worker, loop: asyncio.AbstractEventLoop, data: bytes, timeout: float
    ) -> Any:
        answer: asyncio.Future = loop.create_future()
        fd = worker.sock.fileno()

        def done(error: BaseException | None, result: Any) -> None:
            if worker.done is not done:  # the answer, the limit and a death raced; the first won
                return
            worker.done = None
            timer.cancel()
            try:
                loop.remove_reader(fd)
            except (ValueError, RuntimeError):  # the fd or the loop is already closed
                pass
            if answer.done():
                return
            if error is None:
                answer.set_result(result)
            else:
                answer.set_exception(_takeable(error))

        def readable() -> None:
            try:
                frame = worker.read()
                if frame == _TAKEN:
                    worker.taken = True
                    frame = worker.frames.take()
            except (EOFError, OSError):
                if not self.active:
                    gone: Exception = PoolBroken("the pool was stopped")
                elif not worker.taken:  # killed from outside before it read the task
                    gone = _NotTaken("the worker was gone")
                else:
                    gone = WorkerDied("the worker died during the task")
                done(gone, None)
                self._replace(worker)
                return
            if frame is None:
                return  # more of the answer is on its way
            try:
                error, result = pickle.loads(frame)
            except Exception as exc:  # noqa: BLE001 - the worker is fine; the answer is not
                error, result = RuntimeError(f"the answer could not be read: {exc!r}"), None
            done(error, result)
            worker.answered += 1
            if self.max_tasks and worker.answered >= self.max_tasks:
                self._replace(worker)  # retired; its replacement starts warm from the fork server
            else:
                self._release(worker)

        def expired() -> None:
            done(TaskTimeout(f"the task ran past {timeout:g} s"), None)
            self._replace(worker)

        worker.done, worker.taken = done, False
        timer = loop.call_later(timeout, expired)
        loop.add_reader(fd, readable)
        try:
            try:
                sent = worker.sock.send(data)  # almost always all of it, at once
            except BlockingIOError:
                sent = 0
            except OSError:  # the worker died while idle, after the look in _acquire
                done(None, None)
                self._replace(worker)
                raise _NotTaken from None
            if sent < len(data):
                try:
                    await loop.sock_sendall(worker.sock, data[sent:])
                except (OSError, ValueError):  # the worker died, or the limit closed its pipe
                    if worker.done is done:
                        done(WorkerDied("the worker died while taking the task"), None)
                        self._replace(worker)
            return await answer
        except asyncio.CancelledError:
            # The caller gave up. Its loop may close, and with it this task's reader and
            # limit: the worker is replaced, never left to a loop that is gone.
            if worker.done is done:
                answer.cancel()
                done(None, None)
                self._replace(worker)
            raise

    async def _acquire(self, loop: asyncio.AbstractEventLoop) -> _Worker:
        while True:
            with self._lock:
                if not self.active:
                    raise PoolBroken("a worker could not be started")
                worker = self._idle.popleft() if self._idle else None
                if worker is None:
                    future: asyncio.Future = loop.create_future()
                    self._waiters.append((loop, future))
            if worker is None:
                try:
                    worker = await future
                except asyncio.CancelledError:
                    # Given a worker in the same moment as cancelled: pass it on.
                    if future.done() and not future.cancelled() and future.exception() is None:
                        self._release(future.result())
                    raise
            if worker.alive():
                return worker
            self._replace(worker)  # died while idle (the OOM killer, a kill -9): take the next


def _hand(future: asyncio.Future, worker: _Worker, pool: WorkerPool) -> None:
    """On the waiter's loop: give it the worker, or, if it gave up meanwhile, the next one."""
    if future.done():
        pool._release(worker)
    else:
        future.set_result(worker)


def _fail(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _call_on(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    """``fn(*args)`` on ``loop``'s thread; at once if that loop is closed (its futures are
    then never awaited again)."""
    try:
        if _running_loop() is loop:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop was closed
        fn(*args)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _reap(process: Any, timeout: float) -> None:
    try:
        process.join(timeout)
    except (OSError, ValueError, AssertionError):
        pass


__all__ = ["PoolBroken", "TaskTimeout", "WorkerDied", "WorkerPool"]
