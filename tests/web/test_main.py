"""The JSON API, through httpx against ``create_app(settings)``.

Numbers are hand-derived for the lesson's example: y = 5x^3 + 2x^2 + 4x + 8
at x = 2 is 40 + 8 + 8 + 8 = 64, and dy/dx = 15x^2 + 4x + 4 = 60 + 8 + 4 = 72.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient  # imported quietly by conftest.py first
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from autograd_playground.core.draw.sanitize import SVG_NS
from autograd_playground.core.language.rules import FUNCTIONS
from autograd_playground.serve.settings import Settings

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
SEED_BODY = {"expression": SEED, "inputs": {"x": 2}}
# The documented defaults (not read from the environment).
MAX_LENGTH = Settings.model_fields["max_length"].default
MAX_DEPTH = Settings.model_fields["max_depth"].default
MAX_ELEMENTS = Settings.model_fields["max_elements"].default
MAX_VARIABLES = Settings.model_fields["max_variables"].default
CONTRACT = {"expression", "output", "gradients", "variables", "nodes", "steps", "forward",
            "view", "svg", "dot"}


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN and Infinity, as any strict JSON parser would."""

    def refuse(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def svg_node_ids(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {g.get("id") for g in root.iter(f"{{{SVG_NS}}}g") if g.get("class") == "node"}


def svg_node_text(svg: str, node_id: str) -> list[str]:
    root = ET.fromstring(svg)
    group = root.find(f".//{{{SVG_NS}}}g[@id='{node_id}']")
    assert group is not None, node_id
    return [t.text or "" for t in group.iter(f"{{{SVG_NS}}}text")]


def assert_seed_answer(response: Any) -> None:
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert body["output"]["value"] == 64
    assert body["gradients"] == {"x": 72.0}


# --- the seed example -------------------------------------------------------


def test_seed_returns_the_contract(client: TestClient) -> None:
    response = client.post("/api/graph", json={"expression": "5*x**3+2*x**2+4*x+8",
                                               "inputs": {"x": 2}})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body = strict_json(response.text)

    assert CONTRACT <= set(body)
    assert body["expression"] == SEED  # normalized: spaces around + only
    assert body["output"]["value"] == 64
    assert body["output"]["repr"] == "tensor(64., grad_fn=<AddBackward0>)"
    assert body["gradients"] == {"x": 72.0}
    assert body["view"] == "torchviz"
    assert body["svg"].startswith("<svg")
    assert body["dot"].startswith("digraph")


def test_seed_nodes(client: TestClient) -> None:
    nodes = client.post("/api/graph", json=SEED_BODY).json()["nodes"]

    assert {n["kind"] for n in nodes} <= {"leaf", "op", "output"}
    table = {n["id"]: (n["name"], n["kind"], n["value"]) for n in nodes}
    assert table == {
        "n0": ("AddBackward0", "output", 64.0),  # ... + 8
        "n1": ("AddBackward0", "op", 56.0),  # 40 + 8 + 8
        "n2": ("AddBackward0", "op", 48.0),  # 40 + 8
        "n3": ("MulBackward0", "op", 40.0),  # 5*x**3
        "n4": ("PowBackward0", "op", 8.0),  # x**3
        "n5": ("AccumulateGrad", "leaf", 2.0),  # x
        "n6": ("MulBackward0", "op", 8.0),  # 2*x**2
        "n7": ("PowBackward0", "op", 4.0),  # x**2
        "n8": ("MulBackward0", "op", 8.0),  # 4*x
    }
    assert svg_node_ids(client.post("/api/graph", json=SEED_BODY).json()["svg"]) == (
        set(table) | {"out", "var-x"}
    )


def test_seed_steps_in_engine_order(client: TestClient) -> None:
    body = client.post("/api/graph", json=SEED_BODY).json()
    steps = body["steps"]
    nodes = {n["id"]: n for n in body["nodes"]}

    assert [s["index"] for s in steps] == list(range(1, 10))
    # A step runs only after every node that sends it a gradient has run.
    position = {s["node"]: i for i, s in enumerate(steps)}
    for node in nodes.values():
        for target in node["inputs"]:
            if target is not None:
                assert position[node["id"]] < position[target]
    # PyTorch's engine runs ready nodes newest first (highest sequence number);
    # the forward pass built them as n4 n3 n7 n6 n2 n8 n1 n0, and x's
    # AccumulateGrad waits for all three of its paths.
    assert [s["node"] for s in steps] == ["n0", "n1", "n8", "n2", "n6", "n7", "n3", "n4", "n5"]

    last = steps[-1]
    assert last["name"] == "AccumulateGrad"
    assert nodes[last["node"]]["kind"] == "leaf"
    assert last["accumulated"] == 72.0
    # d(5x^3)/dx = 60 through x**3, d(2x^2)/dx = 8 through x**2, d(4x)/dx = 4.
    received = {c["node"]: c["value"] for c in last["contributions"]}
    assert received == {"n4": 60.0, "n7": 8.0, "n8": 4.0}
    assert sum(received.values()) == last["accumulated"]


def test_variable_without_requires_grad_has_null_gradient(client: TestClient) -> None:
    response = client.post(
        "/api/graph",
        json={"expression": "x*y", "inputs": {"x": 2, "y": 3}, "requires_grad": {"y": False}},
    )
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert body["gradients"] == {"x": 3.0, "y": None}  # d(xy)/dx = y
    assert svg_node_ids(body["svg"]) >= {"var-x"}
    assert "var-y" not in svg_node_ids(body["svg"])


def test_tensor_input_returns_a_list_gradient(client: TestClient) -> None:
    response = client.post("/api/graph", json={"expression": "sum(x*x)", "inputs": {"x": [1, 2, 3]}})
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert body["output"]["value"] == 14.0  # 1 + 4 + 9
    assert body["gradients"] == {"x": [2.0, 4.0, 6.0]}  # 2x


def test_annotated_view(client: TestClient) -> None:
    plain = client.post("/api/graph", json=SEED_BODY).json()
    response = client.post("/api/graph", json={**SEED_BODY, "view": "annotated"})
    assert response.status_code == 200, response.text[:500]
    body = response.json()

    assert body["view"] == "annotated"
    assert body["svg"] != plain["svg"]
    assert svg_node_ids(body["svg"]) == svg_node_ids(plain["svg"])
    assert svg_node_text(body["svg"], "var-x") == ["x = 2", "grad 72"]
    assert svg_node_text(body["svg"], "n3") == ["MulBackward0", "5*x**3 = 40", "grad in 1"]
    assert svg_node_text(plain["svg"], "n3") == ["MulBackward0"]


# --- values that are not finite ---------------------------------------------


@pytest.mark.parametrize(
    ("expression", "x", "value", "gradient"),
    [
        ("log(x)", -1, "nan", -1.0),  # d log(x)/dx = 1/x
        ("1/x", 0, "inf", "-inf"),  # d(1/x)/dx = -1/x^2
    ],
)
def test_nan_and_inf_are_readable_strings_in_strict_json(
    client: TestClient, expression: str, x: float, value: Any, gradient: Any
) -> None:
    response = client.post("/api/graph", json={"expression": expression, "inputs": {"x": x}})
    assert response.status_code == 200, response.text[:500]
    body = strict_json(response.text)  # raises on NaN / Infinity anywhere

    assert body["output"]["value"] == value
    assert body["gradients"] == {"x": gradient}
    assert body["nodes"][0]["value"] == value
    assert body["svg"].startswith("<svg")


# --- refusals ---------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """A body the API must refuse, and what the refusal must say."""

    body: Any  # sent as JSON, unless raw is set
    status: int
    keywords: tuple[str, ...]  # each must appear in detail (case-insensitive)
    column: int | None = None  # where error.column must point, for expression errors
    raw: bytes | None = None

    def send(self, client: TestClient) -> Any:
        if self.raw is not None:
            return client.post(
                "/api/graph", content=self.raw, headers={"content-type": "application/json"}
            )
        return client.post("/api/graph", json=self.body)


def expr(text: str, status: int, *keywords: str, column: int | None = None,
         inputs: dict | None = None) -> Refused:
    return Refused({"expression": text, "inputs": {"x": 2} if inputs is None else inputs},
                   status, keywords, column)


def value(x: Any, *keywords: str, expression: str = "sum(x)") -> Refused:
    return Refused({"expression": expression, "inputs": {"x": x}}, 422, keywords)


REFUSED = {
    # the language
    "attribute": expr("x.real", 422, "attribute", column=1),
    "dunder-attribute": expr("x.__class__", 422, "attribute", column=1),
    "dunder-name": expr("x + __builtins__", 422, "'_'", "__builtins__", column=5),
    "subscript": expr("x + x[0]", 422, "indexing", column=6),  # at the brackets
    "lambda": expr("lambda x: x", 422, "lambda", column=1),
    "comprehension": expr("sum([x for x in [1]])", 422, "comprehension", column=5),
    "string": expr("x * 'abc'", 422, "quotes", column=5),
    "f-string": expr("f'{x}'", 422, "f-string", column=1),
    "walrus": expr("(y := x) * 2", 422, ":=", column=2),
    "import-call": expr("__import__('os').system('ls')", 422, "attribute", column=1),
    "import-name": expr("__import__('os')", 422, "__import__", column=1),
    "unknown-function": expr("2 + foo(x)", 422, "unknown function", "foo", "available",
                             "sin", "sigmoid", column=5),
    "arg-count": expr("1 + sin(x, x)", 422, "sin()", "argument", column=5),
    "keyword-arg": expr("sin(x=1)", 422, "keyword", column=5),
    "starred": expr("sin(*x)", 422, "starred", column=5),
    "operator": expr("x % 2", 422, "'%'", column=3),
    "comparison": expr("x < 1", 422, "comparison", column=1),
    "non-ascii": expr("x\u221a2", 422, "ascii", column=2),
    "line-break": expr("x\n+1", 422, "one line", column=2),
    "empty": expr("   ", 422, "type a function"),
    "unclosed": expr("2*(x", 422, "'('", column=3),
    "function-as-name": expr("sin + x", 422, "function", "sin(x)", column=1),
    "missing-value": expr("x + y", 422, "'y'", "no value", column=5),
    "no-inputs": expr("3*x", 422, "'x'", "no value", column=3, inputs={}),
    "bare-variable": expr("x", 422, "variable itself"),
    # numbers too large to compute
    "tower-exponent": expr("x**9**9**9", 422, "exponent", column=4),
    "huge-power": expr("9**999999*x", 422, "exponent", column=1),
    "huge-constant": expr("x*1e308*10", 422, "too large", column=3),
    # size of the function
    # the first '-' past the limit is at column MAX_DEPTH + 1
    "deep-nesting": expr("-" * (MAX_DEPTH + 20) + "x", 422, "nested", str(MAX_DEPTH),
                         column=MAX_DEPTH + 1),
    "deep-calls": expr("sin(" * 30 + "-" * (MAX_DEPTH - 20) + "x" + ")" * 30, 422, "nested",
                       str(MAX_DEPTH), column=121 + (MAX_DEPTH - 30)),
    "too-long": expr("x+" * (MAX_LENGTH // 2 + 50) + "x", 413, f"{MAX_LENGTH + 101} characters",
                     str(MAX_LENGTH), column=MAX_LENGTH + 1),
    # values
    "huge-tensor": value([0.5] * (MAX_ELEMENTS + 1), "'x'", str(MAX_ELEMENTS)),
    "ragged": value([[1, 2], [3]], "'x'", "rectangular"),
    "bool": value(True, "'x'", "number", expression="x*2"),
    "string-value": value("2", "'x'", "number", expression="x*2"),
    "null-value": value(None, "'x'", "number", expression="x*2"),
    "empty-list": value([], "'x'", "empty"),
    "too-deep-list": value([[[[[1.0]]]]], "'x'", "nested", "4"),
    "too-many-variables": Refused(
        {"expression": "x*2", "inputs": {f"v{i}": 1 for i in range(MAX_VARIABLES)} | {"x": 2}},
        422, ("too many variables", str(MAX_VARIABLES))),
    "non-scalar": value([1, 2], "sum(...)", "mean(...)", "scalar", expression="x*2"),
    "no-requires-grad": Refused(
        {**SEED_BODY, "requires_grad": {"x": False}}, 422, ("requires_grad",)),
    # the request itself
    "malformed-json": Refused(None, 422, ("not valid json",), raw=b'{"expression": "x*'),
    "expression-number": Refused({"expression": 5, "inputs": {"x": 2}}, 422, ("'expression'",)),
    "expression-missing": Refused({"inputs": {"x": 2}}, 422, ("'expression'", "required")),
    "extra-field": Refused({**SEED_BODY, "eval": "1"}, 422, ("'eval'", "extra")),
    "view-not-in-enum": Refused({**SEED_BODY, "view": "3d"}, 422,
                                ("'view'", "torchviz", "annotated")),
    "requires-grad-list": Refused({**SEED_BODY, "requires_grad": {"x": [1]}}, 422,
                                  ("requires_grad",)),
    "body-is-a-list": Refused(["x*2"], 422, ("json object",)),
}


@pytest.mark.parametrize("case", list(REFUSED.values()), ids=list(REFUSED))
def test_refusals_name_the_problem(client: TestClient, case: Refused) -> None:
    response = case.send(client)

    assert response.status_code == case.status, response.text[:500]
    body = strict_json(response.text)
    detail = body["detail"]
    assert isinstance(detail, str)
    assert detail[:1].isalpha() or detail[:1] == "'", detail  # a sentence, ...
    assert detail.rstrip().endswith("."), detail
    assert "Traceback" not in detail and "File \"" not in detail  # ... not a stack trace
    for keyword in case.keywords:
        assert keyword.lower() in detail.lower(), (keyword, detail)
    error = body.get("error")
    if case.column is not None:
        assert error is not None, body
        assert error["column"] == case.column, detail
        assert error["start"] == case.column - 1
    elif error is not None:
        assert error["column"] is None, body


def test_unknown_function_lists_every_available_function(client: TestClient) -> None:
    detail = client.post("/api/graph", json={"expression": "foo(x)", "inputs": {"x": 1}}).json()[
        "detail"
    ]
    listed = detail.split("Available functions:")[1]
    assert {name.strip(" .") for name in listed.split(",")} == set(FUNCTIONS)


def test_server_still_answers_after_every_refusal(client: TestClient) -> None:
    for name, case in REFUSED.items():
        assert 400 <= case.send(client).status_code < 500, name
    assert_seed_answer(client.post("/api/graph", json=SEED_BODY))
    assert client.get("/healthz").json()["status"] == "ok"


def test_very_long_text_is_413_at_any_length(client: TestClient) -> None:
    """Past the model's coarse bound as well as past max_length: still 413, still explained."""
    response = client.post("/api/graph", json={"expression": "x+" * 60_000 + "x",
                                               "inputs": {"x": 2}})
    assert response.status_code == 413, response.text[:300]
    assert str(MAX_LENGTH) in response.json()["detail"]


@pytest.mark.parametrize("op", ["+", "*"])
def test_the_biggest_flat_function_within_the_limits_is_drawn(client: TestClient, op: str) -> None:
    # 99 operations all pointing back at x: unbounded crossing minimisation took
    # Graphviz 11 s here, so big graphs get the quick layout.
    expression = "x" + f"{op}x" * 99
    response = client.post("/api/graph", json={"expression": expression, "inputs": {"x": 1}})
    assert response.status_code == 200, response.text[:300]
    svg_ids = set(re.findall(r'<g id="(n\d+)" class="node"', response.json()["svg"]))
    assert svg_ids == {n["id"] for n in response.json()["nodes"]}


# --- nothing runs -----------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "__import__('os').system('touch {marker}')",
        "exec(\"open('{marker}', 'w')\")",
        "open('{marker}', 'w')",
        "().__class__.__base__.__subclasses__()",
        "[c for c in ().__class__.__base__.__subclasses__()][0]('touch {marker}')",
        "x.__class__.__init__.__globals__['os'].system('touch {marker}')",
    ],
)
def test_hostile_text_runs_nothing(client: TestClient, tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "api_pwned"
    response = client.post(
        "/api/graph", json={"expression": payload.format(marker=marker), "inputs": {"x": 2}}
    )
    assert response.status_code == 422, response.text[:500]
    assert isinstance(response.json()["detail"], str)
    assert not marker.exists()


# --- health, docs, schema ---------------------------------------------------


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    # The version is pyproject's, as installed.
    assert response.json() == {"status": "ok", "version": metadata.version("autograd-playground")}
    assert response.headers["cache-control"] == "no-store"


def test_healthz_and_api_without_graphviz(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("autograd_playground.core.draw.layout._LIBRARY", [None])  # neither libgvc ...
    monkeypatch.setattr("autograd_playground.core.draw.layout.shutil.which", lambda name: None)  # ... nor dot
    assert client.get("/healthz").status_code == 503
    response = client.post("/api/graph", json=SEED_BODY)
    assert response.status_code == 503
    assert "graphviz" in response.json()["detail"].lower()


def test_docs_are_served_by_default(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_docs_can_be_switched_off(make_client: Callable[..., TestClient]) -> None:
    client = make_client(docs_enabled=False)
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 404
    assert_seed_answer(client.post("/api/graph", json=SEED_BODY))


def test_openapi_declares_refusals(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/api/graph"]["post"]["responses"]

    for status in ("413", "422", "503"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Refusal"}, status
    refusal = spec["components"]["schemas"]["Refusal"]
    assert refusal["properties"]["detail"]["type"] == "string"
    assert "detail" in refusal["required"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]


# --- settings are injected --------------------------------------------------


def test_max_length_setting(make_client: Callable[..., TestClient], client: TestClient) -> None:
    text = "x*2 + x*3 + x*4 + 10"
    assert len(text) == 20
    body = {"expression": text, "inputs": {"x": 2}}
    assert client.post("/api/graph", json=body).status_code == 200  # fine by default

    response = make_client(max_length=10).post("/api/graph", json=body)
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "20" in detail and "10" in detail
    assert response.json()["error"]["column"] == 11


def test_max_operations_setting(make_client: Callable[..., TestClient]) -> None:
    response = make_client(max_operations=2).post("/api/graph", json=SEED_BODY)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "2 operations" in detail
    assert "limit" in detail.lower() or "more than" in detail.lower()


@pytest.mark.parametrize(
    ("overrides", "body", "keyword"),
    [
        ({"max_variables": 1}, {"expression": "x*y", "inputs": {"x": 1, "y": 2}}, "1"),
        ({"max_elements": 3}, {"expression": "sum(x)", "inputs": {"x": [1, 2, 3, 4]}}, "3"),
        ({"max_exponent": 2}, {"expression": "x**3", "inputs": {"x": 2}}, "2"),
        ({"max_depth": 3}, {"expression": "sin(sin(sin(x)))", "inputs": {"x": 2}}, "3"),
    ],
    ids=["max_variables", "max_elements", "max_exponent", "max_depth"],
)
def test_other_limits_come_from_settings(
    make_client: Callable[..., TestClient], client: TestClient,
    overrides: dict, body: dict, keyword: str,
) -> None:
    assert client.post("/api/graph", json=body).status_code == 200  # fine by default
    response = make_client(**overrides).post("/api/graph", json=body)
    assert response.status_code == 422, response.text[:500]
    assert keyword in response.json()["detail"]


def test_dot_timeout_setting_gives_503_where_only_dot_is_installed(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("autograd_playground.core.draw.layout._LIBRARY", [None])  # no libgvc: the dot process
    response = make_client(dot_timeout=0.0001).post("/api/graph", json=SEED_BODY)
    assert response.status_code == 503
    assert "graphviz" in response.json()["detail"].lower()


# --- any text at all --------------------------------------------------------

TOKENS = ["x", "y", "1", "2.5", "0", "-", "+", "*", "/", "**", "^", "@", "(", ")", "[", "]",
          ",", " ", ".", "#", "_", "'", "sin(", "log(", "sqrt(", "sum(", "mean(", "pow(",
          "relu(", "1e308", "99999999999999999", "1j", "[1,2]", "[[1],[2]]", "lambda", ":=",
          "__class__", "%", "<"]
TEXTS = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(TOKENS), max_size=30).map("".join),
)


@hypothesis_settings(
    max_examples=150,
    deadline=None,
    # The client is stateless between requests, so sharing it across examples is fine.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=TEXTS)
def test_any_text_gets_an_answer_never_a_server_error(client: TestClient, text: str) -> None:
    response = client.post("/api/graph", json={"expression": text, "inputs": {"x": 1.5, "y": -2}})

    assert response.status_code < 500, (text, response.text[:500])
    body = strict_json(response.text)
    if response.status_code == 200:
        assert CONTRACT <= set(body)
        assert body["svg"].startswith("<svg")
    else:
        assert 400 <= response.status_code < 500
        assert isinstance(body["detail"], str) and body["detail"]


# --- bounds on the request itself -------------------------------------------


def test_a_graph_over_the_node_limit_is_refused_before_layout(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    import autograd_playground.core.draw.render

    laid_out = []
    real_layout = autograd_playground.core.draw.render.layout
    monkeypatch.setattr(autograd_playground.core.draw.render, "layout", lambda *a, **k: laid_out.append(1) or real_layout(*a, **k))
    client = make_client(max_graph_nodes=5)
    response = client.post("/api/graph", json=SEED_BODY)  # 9 nodes
    assert response.status_code == 422
    assert "9 nodes" in response.json()["detail"] and "5" in response.json()["detail"]
    assert laid_out == []
    small = client.post("/api/graph", json={"expression": "x*2", "inputs": {"x": 1}})
    assert small.status_code == 200 and laid_out == [1]


def test_a_body_over_the_limit_is_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=4096)
    padding = {"x": 2, **{f"v{i}": 1 for i in range(2000)}}
    response = client.post("/api/graph", json={"expression": "x*2", "inputs": padding})
    assert response.status_code == 413
    assert isinstance(response.json()["detail"], str)
    assert_seed_answer(client.post("/api/graph", json=SEED_BODY))


def test_a_page_address_over_the_limit_is_414(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_query_chars=1000)
    response = client.get("/", params={"expr": "x*2", "x": "[" + "1," * 1000 + "1]"})
    assert response.status_code == 414
    assert client.get("/", params={"expr": "x*2", "x": "2"}).status_code == 200
