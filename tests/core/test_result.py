"""autograd_playground.core.result: one typed, torch-free model of a result, for the API schema and the pages."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_playground.core.language.rules import Extras
from autograd_playground.core.pipeline import compute
from autograd_playground.core.result import GraphResult, Node, Step, from_json

ROOT = Path(__file__).resolve().parents[2]
SEED = "5*x**3 + 2*x**2 + 4*x + 8"
# Fields present only when asked for ("symbolic", "order": 2, "accumulate").
ON_REQUEST = {"symbolic", "plot", "second_order", "accumulation"}


@pytest.fixture(scope="module")
def seed() -> dict:
    # Through JSON, as the API sends it and the cache keeps it.
    return json.loads(json.dumps(compute(SEED, {"x": 2.0})))


def test_the_answer_has_exactly_the_fields_of_the_model(seed):
    assert set(seed) == {f.name for f in dataclasses.fields(GraphResult)} - ON_REQUEST


def test_with_every_extra_the_answer_has_every_field():
    data = json.loads(json.dumps(compute(SEED, {"x": 2.0}, extras=Extras(True, 2, True))))
    assert set(data) == {f.name for f in dataclasses.fields(GraphResult)}
    result = from_json(data)
    assert result.second_order["second"] == {"x": 64.0}
    assert result.accumulation["twice"] == {"x": 144.0}


def test_records_come_back_typed(seed):
    result = from_json(seed)
    assert isinstance(result.nodes[0], Node)
    assert all(isinstance(s, Step) for s in result.steps)
    assert isinstance(result.nodes[0].shape, tuple)
    assert result.gradients == {"x": 72.0}
    leaf = result.node(next(n.id for n in result.nodes if n.kind == "leaf"))
    assert leaf.variable == "x" and leaf.value == 2.0


def test_a_round_trip_keeps_every_number(seed):
    result = from_json(seed)
    again = json.loads(json.dumps(dataclasses.asdict(result)))
    assert {k: v for k, v in again.items() if k not in ON_REQUEST} == seed
    assert all(again[k] is None for k in ON_REQUEST)


def test_contributions_are_records_too(seed):
    leaf_step = next(s for s in from_json(seed).steps if s.contributions)
    assert sorted(c.value for c in leaf_step.contributions) == [4.0, 8.0, 60.0]
    assert leaf_step.accumulated == 72.0


def test_the_model_needs_no_torch(seed, tmp_path):
    data = tmp_path / "seed.json"
    data.write_text(json.dumps(seed))
    probe = (
        "import json, sys; from autograd_playground.core.result import from_json; "
        f"r = from_json(json.load(open({str(data)!r}))); "
        "print(r.gradients['x'], 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["72.0", "False"]


def test_the_api_schema_describes_the_real_fields(client):
    schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/api/graph"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GraphResult"}
    model = schema["components"]["schemas"]["GraphResult"]
    assert set(model["required"]) == {f.name for f in dataclasses.fields(GraphResult)} - ON_REQUEST
    assert ON_REQUEST <= set(model["properties"])
    step = schema["components"]["schemas"]["Step"]
    assert {"grad_outputs", "grad_inputs", "targets", "local_derivatives"} <= set(step["properties"])
