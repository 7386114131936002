"""sympy's formulas derived once per server: one worker's formulas lent to the next.

A worker that derives a function's formulas sends them back with its result
(formulas.Derived); the engine lends them to the next job of that function, and
its worker adopts them instead of deriving them again (calculus.adopt). The
engine tests run real workers forked from the fork server; with ``max_tasks=1``
every task gets a worker of its own, new to the function.
"""

from __future__ import annotations

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


def test_the_engine_lends_only_to_jobs_that_ask_for_formulas_and_keeps_a_bound():
    formulas = Formulas(max_bytes=100)
    asks = job(1.0, 2.0)
    plain = make_job(TEXT, {"qa": 1.0, "qb": 2.0}, None, "torchviz", Limits())
    formulas.learn(asks, Encoded.of({"a": 1}))  # a result that brought none
    assert formulas.lend(asks).formulas is None
    formulas.learn(asks, Derived(b"{}", b"", b"x" * 40))
    assert formulas.lend(asks).formulas == b"x" * 40
    assert formulas.lend(asks).key == asks.key  # the same job, the same cache key
    assert formulas.lend(plain).formulas is None  # no sympy in it: nothing to carry
    order_2 = make_job(TEXT, {"qa": 1.0, "qb": 2.0}, None, "torchviz", Limits(), Extras(order=2))
    assert formulas.lend(order_2).formulas == b"x" * 40  # d²y/dx² starts from dy/dx's formula
    formulas.learn(asks, Derived(b"{}", b"", b"y" * 101))  # past the bound: not kept
    assert formulas.lend(asks).formulas == b"x" * 40
    assert Derived(b"ab", b"c", b"xyz").size == 6
