"""A job carries its checked tree to the worker, which then does not parse the text
again: the answer is the one parsing it there gives, byte for byte."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import Limits
from autograd_playground.core.language.tree import post_order
from autograd_playground.core.pipeline import compute
from autograd_playground.serve.jobs import SENT_NODES, Job, _run_job, make_job

from ..core.worker_corpus import CORPUS, Request

LIMITS = Limits(max_shown_elements=30)


def job_of(request: Request, limits: Limits = LIMITS) -> Job:
    return make_job(request.expression, request.inputs, request.requires_grad, request.view,
                    limits, request.extras, request.collapse)


def sent(job: Job) -> Job:
    """The job as a worker process receives it."""
    copy = pickle.loads(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    assert isinstance(copy, Job)
    return copy


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_answer_from_the_sent_tree_is_the_one_parsing_gives(name: str):
    job = job_of(CORPUS[name])
    assert job.parsed is not None
    job.parsed.names  # noqa: B018 - ids of this process's trees, worked out before sending
    received = sent(job)
    assert received.parsed is not None and received.parsed.tree == job.parsed.tree
    parsed_there = dataclasses.replace(received, parsed=None)
    assert _run_job(received, LIMITS, 10.0).body == _run_job(parsed_there, LIMITS, 10.0).body


def test_a_sent_program_names_its_own_lines():
    job = job_of(CORPUS["mlp"])
    assert job.parsed is not None and job.parsed.names
    received = sent(job).parsed
    assert received is not None
    assert received.names == {id(line.tree): line.name for line in received.lines}


def test_a_tree_past_the_bound_is_not_sent_and_is_parsed_in_the_worker():
    text = " + ".join(["x"] * 101)  # 201 nodes
    limits = Limits(max_operations=400, max_depth=400, max_length=2000)
    job = make_job(text, {"x": 1.0}, None, "torchviz", limits)
    assert len(post_order(parse(text, limits).tree)) > SENT_NODES and job.parsed is None
    assert sent(job).parsed is None
    assert _run_job(sent(job), limits, 10.0).data()["gradients"]["x"] == 101.0


def test_the_deepest_tree_sent_pickles_from_deep_in_the_stack():
    text = "(" * 99 + "x" + " + 1)" * 99  # 199 nodes, 100 levels deep
    limits = Limits(max_operations=400, max_depth=400, max_length=2000)
    job = make_job(text, {"x": 1.0}, None, "torchviz", limits)
    assert job.parsed is not None and len(post_order(job.parsed.tree)) <= SENT_NODES

    def nested(levels: int) -> bytes:  # a web process's own frames, and then some
        return nested(levels - 1) if levels else pickle.dumps(job, protocol=5)

    assert pickle.loads(nested(150)).parsed.tree == job.parsed.tree


def test_a_tree_of_another_text_is_not_used():
    other = parse("x**3")
    assert compute("x**2", {"x": 3.0}, parsed=other) == compute("x**2", {"x": 3.0})
