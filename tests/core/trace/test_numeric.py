"""trace.numeric: one number compared without arrays agrees with the array comparison."""

from __future__ import annotations

import itertools

import numpy as np

from autograd_playground.core.trace import numeric

EDGES = [0.0, -0.0, 1.0, 1.00001, 1.0001, 1.001, -1.0, 1e-6, 2e-5, 1e-5, 1.5e-5, np.inf,
         -np.inf, np.nan, 3.5e38, 3.3e38, numeric.FLOAT32_MAX, -numeric.FLOAT32_MAX, 1e300,
         5e-324, 123456.7, 123457.9]


def test_close_of_two_numbers_is_the_element_wise_rule() -> None:
    values = EDGES + list(np.random.default_rng(1).normal(size=40) * 10)
    with np.errstate(all="ignore"):
        for a, b in itertools.product(values, repeat=2):
            expected = bool(numeric._agreeing(np.asarray(a), np.asarray(b)))
            assert numeric.close(np.float64(a), np.float64(b)) is expected, (a, b)
            assert numeric.close(a, np.asarray(b)) is expected, (a, b)


def test_close_still_compares_arrays_element_by_element() -> None:
    assert numeric.close(np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    assert not numeric.close(np.array([1.0, 2.0]), np.array([1.0, 2.1]))
    assert numeric.close(2.0, np.array([2.0, 2.0]))  # broadcast
