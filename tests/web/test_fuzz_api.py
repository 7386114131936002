"""Schemathesis against the app's own OpenAPI spec, in-process through ASGI.

Every operation in /openapi.json gets generated requests, valid and invalid
(schemathesis's positive and negative modes, plus its coverage cases such as
other HTTP methods), and each answer must be what the spec promises:

- no server error: nothing in the 5xx range, except the 501 that /oembed declares
  for a format other than json (the oEmbed spec asks for exactly that);
- a status code the operation declares (405 for a method it does not serve);
- the declared content type, and a body that matches the declared schema: for
  POST /api/graph that is the ``Refusal`` model on 413, 422 and 503;
- invalid requests are refused with a 4xx, and the JSON API always answers JSON
  with a ``detail`` sentence when it refuses.

The examples are derandomized, so CI runs the same cases every time.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient  # imported quietly by conftest.py first
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    unsupported_method,
)

from autograd_playground.serve.settings import Settings
from autograd_playground.web.main import create_app
from tests.conftest import IN_PROCESS

# Schemathesis parametrizes at collection, so the app is built at import, without any
# PLAYGROUND_* variable from the shell (what conftest's clean_env does for fixtures).
_shell = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("PLAYGROUND_")}
try:
    APP = create_app(Settings(**IN_PROCESS, rate_limit_per_minute=0))
finally:
    os.environ.update(_shell)

# An explicit config, so no schemathesis.toml lying around changes the run. Invalid data
# counts as refused with any 4xx: 413 (too long) and 414 (address too long) are refusals
# too, and a 5xx never is.
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": ["4XX"]}}}
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)

CHECKS = [content_type_conformance, response_schema_conformance, negative_data_rejection,
          unsupported_method]

@schema.parametrize()
@hypothesis_settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    # The app is shared across examples on purpose; generation speed is not under test.
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_spec_declares(case: schemathesis.Case) -> None:
    response = case.call()
    status = response.status_code
    method, path = case.operation.method.upper(), case.operation.path
    where = f"{case.method} {case.formatted_path} {case.query or ''} -> {status}: "
    where += response.text[:300]

    case.validate_response(response, checks=CHECKS)

    if case.method.upper() != method:
        assert status == 405, where
        return
    if status >= 500:
        assert (path, status) == ("/oembed", 501), where
        assert case.query.get("format") != "json", where
    declared = {int(code) for code in case.operation.responses.status_codes}
    assert status in declared, where
    if path == "/api/graph":
        assert response.headers["content-type"][0].startswith("application/json"), where
        if status != 200:
            detail = response.json()["detail"]
            assert isinstance(detail, str) and detail, where


@pytest.mark.parametrize("value", [0, 1, "no", "on"])
def test_requires_grad_is_boolean_as_declared(client: TestClient, value: object) -> None:
    response = client.post(
        "/api/graph",
        json={"expression": "x*y", "inputs": {"x": 2, "y": 3},
              "requires_grad": {"x": True, "y": value}},
    )

    assert response.status_code == 422, response.text[:300]
    assert "requires_grad" in response.json()["detail"]
