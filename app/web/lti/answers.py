"""A graded exercise's questions, and how the server judges a student's answer to one.

The questions are the browser exercise's (``state.exercise_answers``: one per
step whose gradients are single finite numbers), read from the server's own
result of the state signed at launch. A typed number is read and compared as
static/app/exercise.js reads and compares it in the ungraded exercise
(``parseNumber`` and ``isRight``), so that a graded answer is right exactly
when the same answer would be right on the open playground.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..state import exercise_answers

# exercise.js: TOLERANCE, relative; an expected 0 takes an absolute 1e-9.
TOLERANCE = 1e-3
ZERO = 1e-9
# A try past the second is refused: the step is decided by then.
TRIES = 2

RIGHT, WRONG, REVEALED = "right", "wrong", "revealed"
OUTCOMES = (RIGHT, WRONG, REVEALED)

# exercise.js's `decimal`, with ASCII digits only (JavaScript's \d is ASCII).
_DECIMAL = r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?"
_ONE = re.compile(rf"^{_DECIMAL}$")
_FRACTION = re.compile(rf"^({_DECIMAL})/({_DECIMAL})$")
MAX_ANSWER_CHARS = 64


@dataclass(frozen=True)
class Question:
    """A step that asks: its index in the result's steps and the numbers it expects."""

    step: int
    expected: tuple[float, ...]


def questions(steps: Sequence[Any]) -> list[Question]:
    """The questions of a result's steps (``GraphResult.steps``), in engine order."""
    asked = []
    for index, step in enumerate(steps):
        expected = exercise_answers(step)
        if expected:
            asked.append(Question(index, tuple(expected)))
    return asked


def parse_number(text: str) -> float:
    """A typed number as exercise.js's parseNumber reads it: 12, -0,5, 1/2, 2.5e3; NaN if not."""
    plain = re.sub(r"\s+", "", str(text)[:MAX_ANSWER_CHARS].strip()).replace("−", "-")

    def read(s: str) -> float:
        return float(s.replace(",", ".", 1))

    if _ONE.match(plain):
        return read(plain)
    match = _FRACTION.match(plain)
    if match:
        denominator = read(match.group(2))
        return math.nan if denominator == 0 else read(match.group(1)) / denominator
    return math.nan


def is_right(predicted: float, expected: float) -> bool:
    """exercise.js's isRight: within a relative TOLERANCE; a 0 within ZERO."""
    if not math.isfinite(predicted):
        return False
    if expected == 0:
        return abs(predicted) <= ZERO
    return abs(predicted - expected) <= TOLERANCE * abs(expected)


def judged(right: bool, tries: int) -> str | None:
    """A step's outcome after its ``tries``-th try: right, wrong (shown after the last
    try), or None to try once more."""
    if right:
        return RIGHT
    return WRONG if tries >= TRIES else None


def score(outcomes: Iterable[str | None]) -> int:
    """One point per question answered right at the first or second try; none for a
    step answered wrong twice, revealed, or left unanswered."""
    return sum(1 for outcome in outcomes if outcome == RIGHT)
