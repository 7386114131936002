"""The start-up's warm-up: the examples, and one heavy job so that admission has measured
what the derivative panel costs before the first student asks for one."""

from __future__ import annotations

from autograd_playground.core.language.rules import Limits
from autograd_playground.serve.engine import Engine
from autograd_playground.serve.jobs import Job
from autograd_playground.serve.settings import Settings
from autograd_playground.web import pages
from autograd_playground.web.examples import EXAMPLES
from tests.conftest import IN_PROCESS, run_on_own_loop


def test_the_warm_up_measures_a_heavy_job_from_the_first_example():
    engine = Engine(workers=0, timeout=5.0, limits=Limits(), dot_timeout=5.0, max_queue=1000,
                    max_tasks=0, memory_mb=0, cache_bytes=0, first_estimate=0.05)
    asked: list[Job] = []
    compute = engine.compute

    async def recorded(job: Job) -> object:
        asked.append(job)
        return await compute(job)

    engine.compute = recorded  # type: ignore[method-assign]
    run_on_own_loop(pages.warm_cache(engine, Settings(**IN_PROCESS)))
    heavy = [job for job in asked if job.heavy]
    assert [job.expression for job in heavy] == [EXAMPLES[0].expr]
    assert engine.measured[True] == 1
    assert engine.heavy_time != 0.05 * 10  # a measurement, not the first guess
    assert engine.measured[False] == len(asked) - 1
