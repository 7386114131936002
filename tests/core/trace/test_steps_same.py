"""The trace's records stay exactly what they were while the backward steps get cheaper.

The corpus (steps_corpus.CORPUS) holds the lesson, a 20-term polynomial, programs,
tensor rules and every note a special value gives (0, inf, nan, ties, bounds, a
kernel's own arithmetic). Its records are compared three ways: with digests of the
records the code before the change made, on the torch and numpy it ran with (float32
kernels may round differently elsewhere); a first computation (nothing cached) with a
second (all cached); and each request with the same request under new names.
"""

from __future__ import annotations

import json
import platform
from typing import Any

import numpy as np
import pytest
import torch

from autograd_playground.core.trace import local

from .steps_corpus import CORPUS, digest, records, renamed

# The digests of each request's records, as made by the code before the steps were
# made cheaper, with the torch, numpy and machine below.
MADE_WITH = ("2.13.0+cpu", "2.4.6", "x86_64")
DIGESTS = {
    "lesson": "0bc1fac8b0df24f7439fc5d10cda201a",
    "lesson, new value": "c9792507210bcd1b7221fa06abde552a",
    "20-term polynomial": "2f1842bdefb5a6be9253fe5a3df7c7ca",
    "two variables": "315f347d424c0521eacfbcd4746a5664",
    "vector mse": "d783aaf6b3597e500038a522e02e3f14",
    "neuron": "e805947508065165245d69ee1e82145c",
    "two-layer MLP": "957ca7aae6a936a49069a2d69fd1510e",
    "relu at 0": "760d333120da15a053b9553e8ccf04cd",
    "division by zero": "846177b108c883a8788ee5d4e40ee77b",
    "log and sqrt at 0": "4230c11e0769adaeb7ea113622c90d86",
    "outside the domain": "ae0bc7099544cee8181500f1ce99666a",
    "powers": "9c38c8bd12b07e99d2017c2133e83b76",
    "powers, constant y": "218d8d2c6df355db4d3894ec7400e3bd",
    "overflow": "bd5e36fa108bef5530dfd84c2aeced80",
    "ties and bounds": "a13df451bbf8c9b6eebcca365e5d5fff",
    "vector ties": "14b231524716ae38fa0621a6b52f3496",
    "constants": "c06676b20f73c4594abc8d8b4d17f087",
    "named constant": "20b2486e82eedd218b5d817b2383e2d3",
    "tensor ops": "7200abab7c7afa8e022a335dc6aba118",
    "softmax": "02498d345ebcc0d73a7f9a318a6fb919",
    "broadcast": "8d3fbfa5c03e13bb96cd618ffbdad333",
    "nan arriving": "f6284ba34bf56c85a83ea9d93f1302ac",
    "inf arriving": "811656c3612305d65f901fd42a4072d7",
    "kernel order": "d4c344bf886d885335fe6919454758c4",
    "program": "0210029b80d0d544b97f394d754c1df0",
}
LABELS = [entry[0] for entry in CORPUS]
BY_LABEL = {entry[0]: entry[1:] for entry in CORPUS}


def _text(data: dict) -> str:
    """The records as JSON: -0.0 is not 0.0 here, as it is for ==."""
    return json.dumps(data, sort_keys=True)


def _unplaced(data: Any) -> Any:
    """``data`` without the columns where a node's text starts and ends (longer names
    move them)."""
    if isinstance(data, dict):
        return {k: _unplaced(v) for k, v in data.items() if k not in ("start", "end")}
    if isinstance(data, list):
        return [_unplaced(v) for v in data]
    return data


def test_every_request_of_the_corpus_has_a_digest():
    assert set(DIGESTS) == set(LABELS)


@pytest.mark.skipif(
    (torch.__version__, np.__version__, platform.machine()) != MADE_WITH,
    reason="the digests were made with other float32 kernels",
)
@pytest.mark.parametrize("label", LABELS)
def test_the_records_are_the_ones_the_code_before_made(label):
    expression, inputs, grads = BY_LABEL[label]
    data = records(expression, inputs, grads)
    assert digest(data) == DIGESTS[label]


@pytest.mark.parametrize("label", LABELS)
def test_a_cached_shape_gives_what_a_first_computation_gives(label):
    expression, inputs, grads = BY_LABEL[label]
    local.forget()
    first = records(expression, inputs, grads)
    assert _text(records(expression, inputs, grads)) == _text(first)
    text, values, new_grads, names = renamed(expression, inputs, grads, "_q7")
    again = _text(_unplaced(records(text, values, new_grads)))
    assert all(f"{n}_q7" in again for n in names)  # the new names are really shown
    assert again.replace("_q7", "") == _text(_unplaced(first))


# A request, then the same function at other values: the second must not be given the
# first one's remembered numbers where any number it is computed from differs.
SECOND_VALUES = [
    ("sin(x)", {"x": 1e-4}, {"x": 2e-4}),  # the same float32 cos(x), another float64 one
    ("x**-2 + 1/x", {"x": 0.0}, {"x": -0.0}),
    ("relu(x) + abs(x) + sqrt(x)", {"x": 0.0}, {"x": -0.0}),
    ("x*y", {"x": 2.0, "y": 3.0}, {"x": 3.0, "y": 2.0}),
    ("x*y", {"x": 2.0, "y": 0.0}, {"x": 2.0, "y": -0.0}),  # 0 == -0: keyed, they would meet
    ("x*y + x/y", {"x": 2.0, "y": 3.0}, {"x": 5.0, "y": 3.0}),
    ("sqrt(x) * log(y)", {"x": -1.0, "y": -1.0}, {"x": -2.0, "y": -1.0}),
    ("2*x**3 + 3*x", {"x": 1.5}, {"x": 1.5000001}),
    (CORPUS[2][1], {"v": 0.5}, {"v": -0.75}),
    ("mse(v, w)", {"v": [0.5, 2.0], "w": [1.0, 1.0]}, {"v": [0.5, 2.0], "w": [1.0, 1.5]}),
    ("sum(tanh(W @ x))", {"W": [[1.0, 2.0], [0.5, 1.0]], "x": [1.0, 0.0]},
     {"W": [[1.0, 2.0], [0.5, 3.0]], "x": [1.0, 0.0]}),
    ("max(v) + sum(v*w)", {"v": [0.0, 1.0], "w": [2.0, 1.0]}, {"v": [-0.0, 1.0], "w": [2.0, 1.0]}),
    ("max(v) + sum(v*w)", {"v": [1.0, 1.0], "w": [2.0, 1.0]}, {"v": [1.0, 0.5], "w": [2.0, 1.0]}),
]


@pytest.mark.parametrize("text, first, second", SECOND_VALUES)
def test_a_new_value_is_not_given_remembered_numbers(text, first, second):
    fresh = []
    for values in (first, second):
        local.forget()
        fresh.append(_text(records(text, values, None)))
    local.forget()
    assert [_text(records(text, values, None)) for values in (first, second)] == fresh
