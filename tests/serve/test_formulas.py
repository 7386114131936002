"""sympy's formulas derived once per server: one worker's formulas lent to the next.

A worker that derives a function's formulas sends them back with its result
(formulas.Derived); the engine lends them to the next job of that function, and
its worker adopts them instead of deriving them again (calculus.adopt). The
engine tests run real workers forked from the fork server; with ``max_tasks=1``
every task gets a worker of its own, new to the function.
"""

from __future__ import annotations

import asyncio
import math
import pickle

import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import Extras, Limits
from autograd_playground.core.pipeline import compute
from autograd_playground.core.teach import calculus
from autograd_playground.serve.cache import Encoded
from autograd_playground.serve.engine import Engine
from autograd_playground.serve.formulas import Derived, Formulas
from autograd_playground.serve.jobs import make_job
from tests.conftest import run_on_own_loop as run

# Not among the fork server's warm-up functions: no worker knows its formulas at birth.
TEXT = "qa**2*qb + sin(qb)"


def job(qa: float, qb: float, **extras):
    return make_job(TEXT, {"qa": qa, "qb": qb}, None, "torchviz", Limits(),
                    Extras(**{"symbolic": True, **extras}))


def formulas_of(result: Encoded) -> dict[str, tuple[str, float]]:
    return {d["variable"]: (d["text"], d["value"]) for d in result.data()["symbolic"]["derivatives"]}


@pytest.fixture
def one_task_workers():
    """An engine whose one worker is replaced after every task."""
    engine = Engine(workers=1, timeout=10.0, limits=Limits(), dot_timeout=5.0, max_queue=4,
                    max_tasks=1, memory_mb=0, cache_bytes=2**20)
    engine.start()
    yield engine
    engine.close()


def test_a_new_worker_adopts_the_formulas_another_derived(one_task_workers):
    engine = one_task_workers
    first, _ = run(engine.compute(job(3.0, 0.5)))
    assert isinstance(first, Derived)  # this worker derived them, and sent them back
    second, _ = run(engine.compute(job(2.0, 1.0)))
    assert not isinstance(second, Derived)  # a new worker: it derived nothing, it adopted
    # By hand at qa = 2, qb = 1: d/dqa = 2·qa·qb = 4, d/dqb = qa² + cos(qb) = 4 + cos 1.
    texts = {name: text for name, (text, _) in formulas_of(second).items()}
    assert texts == {name: text for name, (text, _) in formulas_of(first).items()}
    values = {name: value for name, (_, value) in formulas_of(second).items()}
    assert values["qa"] == pytest.approx(4.0) and values["qb"] == pytest.approx(4 + math.cos(1))
    assert second.data()["gradients"] == pytest.approx({"qa": 4.0, "qb": 4 + math.cos(1)})

    engine.formulas = Formulas()  # nothing to lend: the next new worker derives again
    third, _ = run(engine.compute(job(1.0, 2.0)))
    assert isinstance(third, Derived)


def test_a_carried_panel_comes_only_where_its_worker_has_the_formula(one_task_workers):
    engine = one_task_workers
    alone, _ = run(engine.compute(job(3.0, 0.5, known_only=True)))
    data = alone.data()
    assert "symbolic" not in data and "plot" not in data  # the result alone, at once
    assert data["gradients"] == pytest.approx({"qa": 3.0, "qb": 9 + math.cos(0.5)})
    assert not isinstance(alone, Derived)

    full, _ = run(engine.compute(job(3.0, 1.5)))  # the panel loaded apart derives them
    carried, _ = run(engine.compute(job(2.0, 1.0, known_only=True)))  # a new worker, lent
    reference, _ = run(engine.compute(job(2.0, 1.0)))
    assert isinstance(full, Derived)
    assert carried.data()["symbolic"] == reference.data()["symbolic"]
    assert carried.data()["plot"] == reference.data()["plot"]


def test_adopted_formulas_are_the_derived_ones_and_are_not_derived_again(monkeypatch):
    monkeypatch.setattr(calculus, "_FORMS", calculus.new_forms_cache(10**6))
    calculus.derived()  # forget what earlier tests derived
    parsed = parse(TEXT)
    made = calculus.forms(parsed, ("qa", "qb"))
    sent = calculus.derived()
    assert sent is not None and calculus.derived() is None  # each is sent once

    monkeypatch.setattr(calculus, "_FORMS", calculus.new_forms_cache(10**6))  # a new worker

    def no_sympy(derivative):
        raise AssertionError("derived again")

    monkeypatch.setattr(calculus, "simplest", no_sympy)
    calculus.adopt(sent)
    assert calculus.known(parsed, ("qa", "qb")) and not calculus.known(parsed, ("qa",))
    assert calculus.forms(parsed, ("qa", "qb")) == made
    data = compute(TEXT, {"qa": 2.0, "qb": 1.0}, extras=Extras(symbolic=True))["symbolic"]
    assert [d["text"] for d in data["derivatives"]] == [f.text for f in made]
    assert all(d["agrees"] for d in data["derivatives"])


def test_adopting_keeps_what_a_worker_knows(monkeypatch):
    monkeypatch.setattr(calculus, "_FORMS", calculus.new_forms_cache(10**6))
    parsed = parse(TEXT)
    mine = calculus.forms(parsed, ("qb",))
    other = calculus.Form("qb", "other", "<math/>", False, None)
    calculus.adopt(pickle.dumps([((parsed.normalized, ("qb",)), (parsed.normalized, (other,)))]))
    assert calculus.forms(parsed, ("qb",)) == mine


class Worker:
    """A stand-in for the engine's compute: records what each job was lent, and answers
    when told to (``release``), with the formulas ``brings`` or a plain result."""

    def __init__(self, brings: bytes | None = b"formulas"):
        self.brings = brings
        self.lent: list[bytes | None] = []
        self.release = asyncio.Event()

    async def compute(self, job):
        self.lent.append(job.formulas)
        await self.release.wait()
        result = Encoded(b"{}", b"") if self.brings is None else Derived(b"{}", b"", self.brings)
        return result, "miss"


def test_jobs_of_one_function_at_once_wait_for_its_first_derivation_and_borrow_it():
    async def scenario():
        formulas, worker = Formulas(wait=60), Worker()
        first = asyncio.create_task(formulas.through(job(1.0, 2.0), worker.compute))
        await asyncio.sleep(0)  # the first starts deriving
        others = [asyncio.create_task(formulas.through(job(k, 2.0), worker.compute))
                  for k in (3.0, 4.0)]
        await asyncio.sleep(0.05)
        assert worker.lent == [None]  # the others wait, holding no worker
        worker.release.set()
        await asyncio.gather(first, *others)
        return worker.lent

    assert run(scenario()) == [None, b"formulas", b"formulas"]


def test_a_wait_for_another_s_derivation_is_bounded():
    async def scenario():
        formulas, worker = Formulas(wait=0.05), Worker()
        first = asyncio.create_task(formulas.through(job(1.0, 2.0), worker.compute))
        await asyncio.sleep(0)
        second = asyncio.create_task(formulas.through(job(3.0, 2.0), worker.compute))
        async def second_starts():
            while len(worker.lent) < 2:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(second_starts(), 30)  # while the first still derives
        worker.release.set()
        await asyncio.gather(first, second)
        return worker.lent

    assert run(scenario()) == [None, None]


def test_a_carried_panel_waits_for_no_derivation():
    async def scenario():
        formulas, worker = Formulas(), Worker()
        first = asyncio.create_task(formulas.through(job(1.0, 2.0), worker.compute))
        await asyncio.sleep(0)
        carried = asyncio.create_task(
            formulas.through(job(3.0, 2.0, known_only=True), worker.compute))
        await asyncio.sleep(0.02)
        started = len(worker.lent)
        worker.release.set()
        await asyncio.gather(first, carried)
        return started

    assert run(scenario()) == 2


def test_a_function_without_formulas_to_derive_is_not_waited_for_again():
    async def scenario():
        formulas, worker = Formulas(), Worker(brings=None)  # a tensor function's panel
        worker.release.set()
        await formulas.through(job(1.0, 2.0), worker.compute)
        worker.release.clear()
        both = [asyncio.create_task(formulas.through(job(k, 2.0), worker.compute))
                for k in (3.0, 4.0)]
        await asyncio.sleep(0.02)
        started = len(worker.lent)
        worker.release.set()
        await asyncio.gather(*both)
        return started, worker.lent

    assert run(scenario()) == (3, [None, None, None])


def test_only_jobs_that_ask_for_formulas_are_lent_them_within_a_bound():
    async def scenario():
        formulas, worker = Formulas(max_bytes=100), Worker(b"x" * 40)
        worker.release.set()
        plain = make_job(TEXT, {"qa": 1.0, "qb": 2.0}, None, "torchviz", Limits())
        order_2 = make_job(TEXT, {"qa": 1.0, "qb": 2.0}, None, "torchviz", Limits(),
                           Extras(order=2))
        await formulas.through(job(1.0, 2.0), worker.compute)
        await formulas.through(plain, worker.compute)  # no sympy in it: nothing to carry
        await formulas.through(order_2, worker.compute)  # d²y/dx² starts from dy/dx's
        worker.brings = b"y" * 101  # past the bound: not kept
        await formulas.through(job(2.0, 2.0), worker.compute)
        await formulas.through(job(3.0, 2.0), worker.compute)
        return worker.lent

    assert run(scenario()) == [None, None, b"x" * 40, b"x" * 40, b"x" * 40]
    assert Derived(b"ab", b"c", b"xyz").size == 6
