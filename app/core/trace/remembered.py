"""A rule's numbers, remembered by everything they are computed from.

A function never seen is most often one seen under other names, at the values the
teacher gave: its rules' numbers (the formula's value, PyTorch's, the check, the
notes) are then the ones computed before. autograd_playground.core.trace.local keys
them by the form and the op (which it holds) and by every number they come from
(:func:`key_of`), and keeps them in :func:`slot`. The cache is an lru_cache, bounded
in entries, each worker process has its own, and threads (workers=0) share it: two
threads may fill one slot, with the same numbers.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

# An array is keyed by its bytes up to this many numbers (the MLP's 4x3 weights); a
# bigger one (a notebook's) is computed each time, as a key holds a copy of what it is
# made of. An entry of the MLP's holds about 2.5 KB, of a scalar function's about 1 KB:
# with ENTRIES, at most about 10 MB a worker.
MAX_KEYED = 16
ENTRIES = 4096


@functools.lru_cache(maxsize=ENTRIES)
def slot(key: tuple) -> list:
    """Where the numbers of one key are kept, once computed (empty until then)."""
    return []


def forget() -> None:
    slot.cache_clear()


class _Unkeyed(Exception):
    """A number that cannot be part of a key."""


def key_of(*parts: Any) -> tuple | None:
    """``parts`` as a key that equals another only where every number is the same: a
    single number as a float (not 0, whose sign equality loses, nor nan, which equals
    nothing), an array of float64 (up to MAX_KEYED numbers) as its shape and bytes, ints, names and None as they
    are; tuples and dicts of those. None where a part is anything else."""
    try:
        return tuple([_plain(part) for part in parts])
    except _Unkeyed:
        return None


def _plain(part: Any) -> Any:
    kind = type(part)
    if part is None or kind is str or kind is int or kind is bool:
        return part
    if kind is np.float64 or kind is float or (kind is np.ndarray and part.ndim == 0):
        value = float(part)
        if value and value == value:
            return value
        raise _Unkeyed
    if kind is np.ndarray and part.dtype == np.float64 and part.size <= MAX_KEYED:
        return part.shape, part.tobytes()
    if kind is tuple:
        return tuple([_plain(p) for p in part])
    if kind is dict:
        return tuple(sorted((k, _plain(v)) for k, v in part.items()))
    raise _Unkeyed


def fresh(value: Any) -> Any:
    """A remembered value as a request's own: its lists new, so that changing one answer
    cannot change another."""
    return [fresh(v) for v in value] if type(value) is list else value
