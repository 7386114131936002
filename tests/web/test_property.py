"""Functions and programs drawn from the whole language, through the API (issues 23 and 29).

Hypothesis draws expressions over every operator and function, programs with aliases
and list lines, inputs that are negative, zero, huge, tiny or tied, and the flags
symbolic, order 2, accumulate, retain, collapse and training. With a fixed seed CI sees the same few hundred
examples every run. Every answer must be:
- no 5xx;
- every ✓ joins equal numbers (within the float32 tolerance, checked here on its own);
- every ✗ carries its reason (a note on a step rule, a note on a derivative);
- every chain-rule line is float32's own product: what arrived times the local derivative
  shown, multiplied in float32, is exactly what was sent, or the rule says (kernel-order,
  kernel-own) that PyTorch's kernel computed it otherwise;
- dy/dx writes PyTorch's steps as brackets, never sympy's Heaviside or Θ;
- no rule of either order with a placeholder or a node class name as an operand.
"""

from __future__ import annotations

import math
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograd_playground.core.language.program import line_names

EXAMPLES = 300
UNARY = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu",
         "sum", "mean", "max", "min", "softmax", "log_softmax", "logsumexp"]
BINARY = ["+", "-", "*", "/", "**"]
CONSTANTS = ["0", "1", "2", "3", "0.5", "-2", "-1", "-0.5", "pi", "e", "100"]
NUMBERS = [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, 3.0, 100.0, -100.0, 1e20, -1e20, 1e-30]
LESSON = {"expression": "5*x**3 + 2*x**2 + 4*x + 8", "inputs": {"x": 2}}
# A placeholder of a derived form, the unknown rule, or a node's class as an operand.
PLACEHOLDER = re.compile(r"\bp\d\b|\bk1?\b|\?|[A-Z][A-Za-z]*Backward\d")


def expressions(names: list[str]) -> st.SearchStrategy[str]:
    # Names twice as often as numbers: most functions drawn have a variable to differentiate.
    leaves = st.one_of(st.sampled_from(names), st.sampled_from(names), st.sampled_from(CONSTANTS))

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
            inner.map(lambda a: f"-({a})"),
            st.tuples(st.sampled_from(["pow", "maximum", "minimum", "mse"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(inner, st.sampled_from([(-1, 1), (0, 1), (0, 0)])).map(
                lambda t: f"clamp({t[0]}, {t[1][0]}, {t[1][1]})"),
        )

    return st.recursive(leaves, grow, max_leaves=6)


@st.composite
def programs(draw: st.DrawFn) -> str:
    """A function, or a program of a few lines that alias, hold lists and reduce."""
    if draw(st.booleans()):
        return draw(expressions(["x", "y"]))
    names = ["x", "y"]
    lines = []
    for index in range(draw(st.integers(1, 3))):
        name = "abc"[index]
        kind = draw(st.sampled_from(["expression", "alias", "list"]))
        if kind == "alias" and len(names) > 2:
            lines.append(f"{name} = {names[-1]}")
        elif kind == "list":
            lines.append(f"{name} = [1, {draw(st.sampled_from(['2', '-1', '0']))}]")
        else:
            lines.append(f"{name} = {draw(expressions(names))}")
        names.append(name)
    used = " + ".join(f"sum({n})" for n in names[2:])
    lines.append(f"out = {used} + y*({draw(expressions(['x', 'y']))})")
    return "\n".join(lines)


def agree(value, torch) -> bool:
    """Equal numbers, as the test sees them: the same text (nan, inf), else near."""
    if isinstance(value, list) or isinstance(torch, list):
        values = value if isinstance(value, list) else [value]
        torches = torch if isinstance(torch, list) else [torch] * len(values)
        return all(agree(a, b) for a, b in zip(_flat(values), _flat(torches), strict=False))
    if isinstance(value, str) or isinstance(torch, str):
        return str(value) == str(torch) or (
            not isinstance(value, str) and not isinstance(torch, str))
    return math.isclose(value, torch, rel_tol=2e-4, abs_tol=2e-5)


def _flat(values: list) -> list:
    out: list = []
    for v in values:
        out.extend(_flat(v) if isinstance(v, list) else [v])
    return out


def check_rules(steps: list[dict]) -> None:
    for step in steps:
        for rule in step["rules"]:
            if rule is None:
                continue
            assert not PLACEHOLDER.search(rule["formula"]), rule["formula"]
            if rule["agrees"] is True:
                assert agree(rule["value"], rule["torch"]), rule
            elif rule["agrees"] is False:
                assert rule["notes"], rule


def float32(value) -> np.ndarray | None:
    """A step's value as float32 (its "inf"/"nan" strings too); None for a summary."""
    if isinstance(value, dict):
        return None
    if isinstance(value, list):
        inner = [float32(v) for v in value]
        return None if any(v is None for v in inner) else np.array(inner, dtype=np.float32)
    return np.float32(float(value))


def check_chain(steps: list[dict]) -> None:
    """Each local rule's chain line: float32(arrived) · float32(local shown) == sent, exactly."""
    for step in steps:
        if len(step["grad_outputs"]) != 1:
            continue
        arrived = float32(step["grad_outputs"][0])
        for rule, sent in zip(step["rules"], step["grad_inputs"], strict=False):
            if rule is None or rule["kind"] != "local" or rule["value"] is None:
                continue
            if "broadcast" in rule["notes"]:
                continue  # no product shown: what every element sends is added up
            local, theirs = float32(rule["torch"]), float32(sent)
            if arrived is None or local is None or theirs is None:
                continue  # a summary of a large tensor: its numbers are not all here
            with np.errstate(all="ignore"):
                product = np.asarray(arrived * local, dtype=np.float32)
            theirs = np.asarray(theirs, dtype=np.float32)
            holds = product.shape == theirs.shape and bool(
                ((product == theirs) | (np.isnan(product) & np.isnan(theirs))).all())
            kernel = {"kernel-order", "kernel-own"} & set(rule["notes"])
            assert holds == (not kernel), (step["name"], rule, sent)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(expression=programs(), x=st.sampled_from(NUMBERS), y=st.sampled_from(NUMBERS),
       tie=st.booleans(), symbolic=st.booleans(), order=st.sampled_from([1, 2]),
       accumulate=st.booleans(), retain=st.booleans(), train=st.booleans(),
       collapse=st.booleans())
def test_no_program_of_the_language_breaks_a_mark(
        client, expression, x, y, tie, symbolic, order, accumulate, retain, train, collapse) -> None:
    inputs = {"x": x, "y": x if tie else y}
    body = {"expression": expression, "inputs": inputs, "symbolic": symbolic, "order": order,
            "accumulate": accumulate, "retain_grad": retain,
            # a program's lines drawn as one box each (a function has none to collapse)
            "collapse": list(line_names(expression)) if collapse else []}
    response = client.post("/api/graph", json=body)
    assert response.status_code < 500, (expression, response.text[:300])
    if train:
        trained = client.post("/api/train", json={"expression": expression, "inputs": inputs,
                                                   "params": ["x"], "lr": 0.01, "steps": 2})
        assert trained.status_code < 500, (expression, trained.text[:300])
    # The server still computes for the next student (a cached lesson: cheap).
    assert client.post("/api/graph", json=LESSON).json()["gradients"] == {"x": 72.0}
    if response.status_code != 200:
        assert response.json()["detail"], expression  # a refusal says why
        return
    data = response.json()
    check_rules(data["steps"])
    check_chain(data["steps"])
    for d in (data.get("symbolic") or {}).get("derivatives", []):
        if d["agrees"]:
            assert agree(d["value"], d["grad"]), (expression, d)
        else:
            assert d["note"], (expression, d)
        assert "I" not in (d["text"] or ""), d["text"]
        assert "Heaviside" not in (d["text"] or "") and "Θ" not in (d["mathml"] or ""), d
    graph = (data.get("second_order") or {}).get("graph")
    if graph:
        check_rules(graph["steps"])
        check_chain(graph["steps"])
