"""The worker pool: hard time limits, replaced workers, memory caps, sharing, admission.

These tests start real worker processes (forkserver), as the classroom server does.
"""

from __future__ import annotations

import asyncio
import resource
import time

import pytest
import torch

from autograd_playground.core.language.rules import ExprError, Limits, TooLong
from autograd_playground.serve.engine import Busy, Engine, Overrun
from autograd_playground.serve.jobs import make_job
from tests.conftest import run_on_own_loop as run

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
MEMORY_MB = 1536


def new_engine(**overrides) -> Engine:
    options = dict(
        workers=2, timeout=3.0, limits=Limits(), dot_timeout=5.0, max_queue=2, max_tasks=50,
        memory_mb=MEMORY_MB, cache_bytes=2**20,
    )
    options.update(overrides)
    engine = Engine(**options)
    engine.start()
    return engine


@pytest.fixture(scope="module")
def engine():
    events: list[tuple[str, str]] = []
    engine = new_engine(on_event=lambda kind, value: events.append((kind, value)))
    engine.events = events
    yield engine
    engine.close()


def seed_job(x: float = 2.0, view: str = "torchviz"):
    return make_job(SEED, {"x": x}, None, view, Limits())




def test_a_worker_computes_the_seed(engine):
    result, how = run(engine.compute(seed_job(x=2.0)))
    assert result.data()["gradients"] == {"x": 72.0}
    assert how == "miss"
    assert engine.isolated


def test_workers_use_one_thread_and_a_memory_cap(engine):
    assert run(engine.submit(torch.get_num_threads)) == 1
    soft, hard = run(engine.submit(resource.getrlimit, resource.RLIMIT_AS))
    assert soft == hard == MEMORY_MB * 2**20


def remembered_outputs() -> list[str]:
    """Runs in a worker: the output names of the drawings its process remembers (each
    drawn from its shape's DOT, which holds placeholders for the names)."""
    from autograd_playground.core.draw import dot

    return [key[0] for key in dot._NAMED_DOTS]


def test_workers_are_forked_warm_from_the_fork_server(engine):
    # No task has computed the neuron program, yet a worker already has its drawing:
    # the fork server computed the warm-up functions before forking the workers.
    assert "loss" in run(engine.submit(remembered_outputs))


def panel_warmth() -> tuple[bool, bool, bool]:
    """Runs in a worker: whether simplify()'s first import is done, whether the process
    knows the formulas of a warm-up function that is not a polynomial, and whether it
    has formulas of its own to send back (it must not: every worker knows those)."""
    import sys

    from autograd_playground.core.language.expr import parse
    from autograd_playground.core.teach import calculus
    from autograd_playground.serve.jobs import WARM_UP

    expression, inputs = WARM_UP[1]
    known = calculus.known(parse(expression), tuple(inputs))
    return "sympy.physics" in sys.modules, known, calculus.derived() is not None


def test_workers_are_forked_with_the_derivative_panel_warm(engine):
    assert run(engine.submit(panel_warmth)) == (True, True, False)


def collector_counts() -> tuple[int, int]:
    """Runs in a worker: the objects its collector walks, and those it inherited frozen."""
    import gc

    return len(gc.get_objects()), gc.get_freeze_count()


def test_a_worker_s_collector_leaves_what_it_inherited_alone(engine):
    # The fork server freezes its objects after warming up: a worker's full collection
    # walks only what it made itself (about 0.1 s a time otherwise, in a worker's task).
    walked, frozen = run(engine.submit(collector_counts))
    assert frozen > 100_000 and walked < frozen / 2


def test_every_warm_up_function_computes() -> None:
    # The fork server logs a failing warm-up and goes on; here it must not fail.
    from autograd_playground.core.pipeline import compute
    from autograd_playground.serve.jobs import WARM_UP

    for expression, inputs in WARM_UP:
        assert compute(expression, dict(inputs))["steps"], expression


def test_a_hanging_task_is_stopped_at_the_limit_and_the_next_one_succeeds(engine):
    with pytest.raises(Overrun) as info:  # stopped, not waited out for 60 s
        run(engine.submit(time.sleep, 60))
    assert info.value.reason == "timeout"
    assert ("restart", "timeout") in engine.events
    # The worker was replaced: work goes on, on every worker.
    for x in (3.0, 4.0, 5.0):
        result, _ = run(engine.compute(seed_job(x=x)))
        assert result.data()["output"]["value"] == 5 * x**3 + 2 * x**2 + 4 * x + 8


def test_memory_over_the_cap_is_a_refusal_and_the_worker_lives_on(engine):
    with pytest.raises(ExprError) as info:
        run(engine.submit(bytearray, 8 * 2**30))
    assert "memory" in info.value.message
    result, _ = run(engine.compute(seed_job(x=6.0)))
    assert result.data()["gradients"] == {"x": 15 * 36 + 4 * 6 + 4}


def test_a_refusal_from_a_worker_arrives_whole(engine):
    job = make_job("x @ y", {"x": [1, 2], "y": [1, 2, 3]}, None, "torchviz", Limits())
    with pytest.raises(ExprError) as info:
        run(engine.compute(job))
    assert not isinstance(info.value, TooLong)
    assert info.value.start == 0 and "cannot multiply shape [2] by shape [3]" in info.value.message
    assert (info.value.params["left"], info.value.params["right"]) == ([2], [3])


def test_identical_requests_share_one_computation_and_then_hit_the_cache(engine):
    engine.events.clear()

    async def class_opens_the_same_example():
        jobs = [seed_job(x=7.0) for _ in range(20)]
        return await asyncio.gather(*(engine.compute(job) for job in jobs))

    answers = run(class_opens_the_same_example())
    hows = [how for _, how in answers]
    assert hows.count("miss") == 1 and hows.count("shared") == 19
    assert all(result is answers[0][0] for result, _ in answers)
    assert run(engine.compute(seed_job(x=7.0)))[1] == "hit"
    assert [e for e in engine.events if e[0] == "cache"].count(("cache", "miss")) == 1


def test_the_cache_key_is_the_request_as_typed():
    a = make_job("5*x**3+2*x**2 + 4*x+8", {"x": 2, "unused": 1}, None, "torchviz", Limits())
    b = make_job("5*x**3+2*x**2 + 4*x+8", {"x": 2}, {"x": True}, "torchviz", Limits())
    c = make_job(SEED, {"x": 2}, {"x": False}, "torchviz", Limits())
    d = make_job(SEED, {"x": 2}, None, "annotated", Limits())
    # Another spelling of the same function quotes other text: its own entry.
    e = make_job("5 * x ** 3 + 2*x^2 + (4*x) + 8", {"x": 2}, None, "torchviz", Limits())
    assert a.key == b.key
    assert len({a.key, c.key, d.key, e.key}) == 4


def test_when_too_much_waits_new_work_is_refused_at_once():
    engine = new_engine(workers=1, max_queue=1, timeout=5.0)
    try:

        async def crowd():
            first = asyncio.ensure_future(engine.submit(time.sleep, 1.5))
            second = asyncio.ensure_future(engine.submit(time.sleep, 0.1))
            while engine.pending < 2:  # both admitted: one runs, one waits
                await asyncio.sleep(0)
            with pytest.raises(Busy) as info:
                await engine.submit(time.sleep, 0.1)
            refused_while_busy = not first.done()  # refused at once, not after waiting
            await asyncio.gather(first, second)
            return info.value, refused_while_busy

        busy, refused_while_busy = run(crowd())
        assert busy.retry_after >= 1
        assert refused_while_busy
        assert engine.pending == 0
    finally:
        engine.close()


def test_a_slow_function_through_the_api_is_stopped_and_the_server_goes_on(make_client):
    client = make_client(workers=1, request_timeout=0.15)
    slow = "x" + "+x" * 99  # within every limit, but its layout takes about 0.3 s
    response = client.post("/api/graph", json={"expression": slow, "inputs": {"x": 1}})
    assert response.status_code == 422
    assert "took longer than 0.15 s" in response.json()["detail"]
    response = client.post("/api/graph", json={"expression": SEED, "inputs": {"x": 2}})
    assert response.status_code == 200
    assert response.json()["gradients"] == {"x": 72.0}


def test_a_server_with_workers_freezes_what_it_built_to_start_and_gives_it_back(clean_env):
    # A full collection stops every request: it should not walk the app's start-up.
    import gc

    from fastapi.testclient import TestClient

    from autograd_playground.serve.settings import Settings
    from autograd_playground.web.main import create_app
    from tests.conftest import IN_PROCESS

    assert gc.get_freeze_count() == 0
    with TestClient(create_app(Settings(**IN_PROCESS))):
        assert gc.get_freeze_count() == 0  # workers=0: apps come and go in one process
    with TestClient(create_app(Settings(**{**IN_PROCESS, "workers": 1}))) as client:
        assert gc.get_freeze_count() > 100_000
        assert client.post("/api/graph", json={"expression": SEED, "inputs": {"x": 2}}
                           ).json()["gradients"] == {"x": 72.0}
    assert gc.get_freeze_count() == 0


def test_the_web_process_does_not_load_torch():
    # Only the workers (and the fork server they come from) need torch: a web process
    # without it is about 250 MiB smaller, per replica.
    import subprocess
    import sys

    probe = "import sys, autograd_playground.web.main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_answers_shape_is_part_of_every_cache_key(monkeypatch):
    """A shared cache written by another version never answers for this one."""
    from autograd_playground.serve import jobs as jobs_module

    limits = Limits()
    before = jobs_module.make_job("x*2", {"x": 1}, None, "torchviz", limits).key
    trained = jobs_module.make_train_job("(w-2)^2", {"w": 0}, ["w"], 0.1, 3, True, limits).key
    monkeypatch.setattr(jobs_module, "RESULT_VERSION", jobs_module.RESULT_VERSION + 1)
    assert jobs_module.make_job("x*2", {"x": 1}, None, "torchviz", limits).key != before
    assert jobs_module.make_train_job("(w-2)^2", {"w": 0}, ["w"], 0.1, 3, True, limits).key != trained
