"""Values as the app checks, passes around and shows them; no torch needed.

An input value is a number or a rectangular nested list of numbers.
``check_value`` checks one before anything is pickled, queued or cached, in
the web process: depth, element count, numbers only. It walks with an
explicit stack, so a value nested 100,000 deep is refused like one nested 5
deep, without touching Python's recursion limit.

A result value is what ``recorder.to_value`` makes of a tensor: a float, a nested
list of floats, or for non-finite numbers the strings "nan", "inf" and "-inf",
so that it encodes as strict JSON. A value with more numbers than a result may
show (``max_shown``) is sent as a summary instead (see ``summarize``):

    {"shape": [10000], "first": [0.1, 0.2, 0.3, 0.4, 0.5],
     "min": 0.1, "max": 1000.0, "mean": 500.05}

The web process formats values without importing torch, which only the
workers load.
"""

from __future__ import annotations

import ast
import json
import math
from typing import Any, TypeGuard

from ..result import Summary, Value
from .rules import ExprError, Limits
from .text import decimal_comma
from .tree import Parsed

# How many leading numbers a summary shows.
SUMMARY_FIRST = 5


# --- inputs -----------------------------------------------------------------


def check_value(name: str, value: Any, limits: Limits) -> tuple[int, ...]:
    """Check that an input is a number or a rectangular nested list; return its shape.

    Raises ExprError with a sentence naming ``name``. Iterative: any depth is refused
    at ``limits.max_dims`` + 1, and no more than about ``max_elements * max_dims``
    items are looked at, however big the value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise ExprError(
            "The value of '{name}' must be a number or a list of numbers.", {"name": name}
        )
    shapes: dict[int, tuple[int, ...]] = {}
    stack: list[tuple[Any, int, bool]] = [(value, 0, False)]
    count = 0
    while stack:
        item, depth, children_done = stack.pop()
        if isinstance(item, list):
            if depth >= limits.max_dims:
                raise ExprError(
                    "The value of '{name}' is nested more than {limit} deep.",
                    {"name": name, "limit": limits.max_dims},
                )
            if not item:
                raise ExprError("The value of '{name}' contains an empty list.", {"name": name})
            if children_done:
                inner = {shapes[id(e)] for e in item}
                if len(inner) != 1:
                    raise ExprError(
                        "The value of '{name}' is not rectangular: its rows differ in length.",
                        {"name": name},
                    )
                shapes[id(item)] = (len(item),) + inner.pop()
                continue
            count += len(item)
            if count > limits.max_elements * limits.max_dims:
                break
            stack.append((item, depth, True))
            stack.extend((e, depth + 1, False) for e in item)
            continue
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ExprError(
                "The value of '{name}' must contain only numbers.", {"name": name}
            )
        if isinstance(item, int) and abs(item) > limits.max_constant:
            raise ExprError(
                "A number in the value of '{name}' is too large.", {"name": name}
            )
        if isinstance(item, float) and not math.isfinite(item):
            raise ExprError(
                "A number in the value of '{name}' is not finite (nan or inf); use ordinary "
                "numbers.",
                {"name": name},
            )
        # Identical small ints and floats are shared objects: same id, same shape ().
        shapes[id(item)] = ()
    shape = shapes.get(id(value))
    if shape is None or math.prod(shape) > limits.max_elements:
        raise ExprError(
            "The value of '{name}' has more than {limit} numbers.",
            {"name": name, "limit": limits.max_elements},
        )
    return shape


def literal(text: str) -> Any | None:
    """The value a program line writes after its ``=``, if it writes only a value; else None.

    A value is what a value field takes: a number (``2``, ``-0.5``, ``1e-3``) or a list
    of numbers in brackets (``[1, 2, 3]``, ``[[1, 2], [3, 4]]``); at the top a list
    may also go without brackets (``1, 2, 3``). ``2,5`` is none: the language reads it
    as a decimal comma and says so. Anything else (``2*pi``, ``x``) is an expression,
    and so is text Python cannot read: the reader refuses it with its own sentence.
    Read by Python's parser; the tree is walked with an explicit stack, and only
    number constants, signs and lists pass.
    """
    try:
        body = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if isinstance(body, ast.Tuple):
        if decimal_comma(text) is not None:
            return None
        body = ast.List(elts=body.elts)
    return literal_node(body)


def literal_node(body: ast.expr) -> Any | None:
    """The value of an expression of Python's ``ast`` that is only a number or a list of
    numbers (signs allowed), as :func:`literal` reads it; else None."""
    built: dict[int, Any] = {}
    stack: list[tuple[ast.expr, bool]] = [(body, False)]
    while stack:
        node, items_done = stack.pop()
        if isinstance(node, ast.List):
            if items_done:
                built[id(node)] = [built[id(e)] for e in node.elts]
            else:
                stack.append((node, True))
                stack.extend((e, False) for e in node.elts)
            continue
        sign, inner = 1, node
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            sign, inner = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
        if not isinstance(inner, ast.Constant) or isinstance(inner.value, bool) \
                or not isinstance(inner.value, int | float):
            return None
        built[id(node)] = sign * inner.value
    return built[id(body)]


def value_text(value: Any) -> str:
    """A value as a value field writes it, and reads it back: ``2``, ``0.5``, ``[1, 2, 3]``."""
    return json.dumps(value)


# --- results ----------------------------------------------------------------


def finite(data: Any) -> Value:
    """A number or nested list of numbers, with non-finite numbers as "nan", "inf", "-inf"."""
    if isinstance(data, list):
        return [finite(d) for d in data]
    return _plain_number(float(data))


def is_summary(value: object) -> TypeGuard[Summary]:
    return isinstance(value, dict) and "shape" in value and "first" in value


def list_shape(value: list) -> list[int]:
    """The shape of a rectangular nested list, read down its first rows."""
    shape: list[int] = []
    probe: Any = value
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0] if probe else None
    return shape


def leaves(value: list) -> list[Any]:
    """The numbers of a nested list, in row-major order."""
    flat: list[Any] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    return flat


def scalar(value: Value | None) -> float:
    """A value of one number as a float ("nan", "inf" and "-inf" read back); TypeError for any other."""
    if isinstance(value, int | float | str):
        return float(value)
    raise TypeError(f"a value of one number was expected, not {type(value).__name__}")


def _number(x: Any) -> float:
    return float(x)  # "nan", "inf" and "-inf" read back as floats


def _plain_number(x: float) -> float | str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def summarize(value: Any, max_shown: int) -> Any:
    """``value`` itself, or if it holds more than ``max_shown`` numbers, its summary.

    The summary: ``shape`` (list of ints), ``first`` (the first SUMMARY_FIRST numbers
    in row-major order), and ``min``, ``max``, ``mean`` over all numbers. Each number
    is a float or, when not finite, "nan", "inf" or "-inf", as in full values. ``min``
    and ``max`` skip nan; all three are "nan" when every number is nan.
    """
    if not isinstance(value, list) or max_shown <= 0:
        return value
    shape = list_shape(value)
    if math.prod(shape) <= max_shown:
        return value
    numbers = [_number(x) for x in leaves(value)]
    real = [x for x in numbers if not math.isnan(x)]
    mean = sum(numbers) / len(numbers)
    return {
        "shape": shape,
        "first": [_plain_number(x) for x in numbers[:SUMMARY_FIRST]],
        "min": _plain_number(min(real)) if real else "nan",
        "max": _plain_number(max(real)) if real else "nan",
        "mean": _plain_number(mean),
    }


def format_value(value: Value | None, limit: int = 6) -> str:
    """A value as a student reads it: 72 rather than 72.0, lists cut after ``limit``.

    A summary reads as its first numbers, then its shape, min, max and mean:
    ``[0.1, 0.2, 0.3, 0.4, 0.5, ...] (shape [10000]; min 0.1, max 1000, mean 500.05)``.
    """
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if is_summary(value):
        first = ", ".join(format_value(v, limit) for v in value["first"])
        return (
            f"[{first}, ...] (shape {list(value['shape'])}; min {format_value(value['min'])}, "
            f"max {format_value(value['max'])}, mean {format_value(value['mean'])})"
        )
    if isinstance(value, list):
        parts = [format_value(v, limit) for v in value[:limit]]
        if len(value) > limit:
            parts.append("...")
        return "[" + ", ".join(parts) + "]"
    return format(value, ".6g")


# --- training ---------------------------------------------------------------

# The learning rates a student may pick: past 10 every function here diverges
# at once, and a rate of 0 or below is not descent.
MAX_LEARNING_RATE = 10.0


def check_training(parsed: Parsed, params: list[str], lr: float, steps: int, limits: Limits) -> None:
    """Refuse, with a sentence, what no run could do. Cheap; the web process calls it too."""
    if not params:
        raise ExprError("Choose at least one parameter to train, such as w.")
    for name in params:
        if name not in parsed.variables:
            raise ExprError(
                "'{name}' is not a variable of the function, so it cannot be trained.",
                {"name": name},
            )
    if len(set(params)) != len(params):
        raise ExprError("Each parameter may be named once.")
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= MAX_LEARNING_RATE):
        raise ExprError(
            "The learning rate must be a number above 0 and at most {limit:g}.",
            {"limit": MAX_LEARNING_RATE},
        )
    if isinstance(steps, bool) or not (isinstance(steps, int) and 1 <= steps <= limits.max_train_steps):
        raise ExprError(
            "The number of steps must be between 1 and {limit}.", {"limit": limits.max_train_steps}
        )
