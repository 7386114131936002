"""Logs stay one JSON object per line: tracebacks as one field, line breaks of every kind
and bidi controls escaped."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from fastapi.testclient import TestClient

from autograd_playground.serve.settings import Settings
from autograd_playground.web.main import create_app
from autograd_playground.web.observe import JsonLines

SPLITTERS = "\u2028\u2029\u0085\u202e"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLines())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def client():
    with TestClient(create_app(Settings(workers=0, warm_cache=False))) as client:
        yield client


def test_separators_and_overrides_in_a_function_are_escaped_in_the_access_log(client):
    seen = Lines()
    access = logging.getLogger("playground.access")
    access.addHandler(seen)
    try:
        client.post("/api/graph", json={"expression": f"x*2 {SPLITTERS}", "inputs": {"x": 1}})
    finally:
        access.removeHandler(seen)
    [line] = seen.lines
    assert not any(ch in line for ch in SPLITTERS)
    assert line.splitlines() == [line]
    assert json.loads(line)["expr"] == f"x*2 {SPLITTERS}"  # the same text, escaped


def test_a_traceback_is_one_escaped_field():
    try:
        raise ValueError(f"a bug{SPLITTERS}\nacross lines")
    except ValueError:
        record = logging.LogRecord(
            "autograd_playground.web.guard", logging.ERROR, __file__, 1, "unhandled error on %s",
            ("/",), sys.exc_info(),
        )
    line = JsonLines().format(record)
    assert "\n" not in line and not any(ch in line for ch in SPLITTERS)
    data = json.loads(line)
    assert data["message"] == "unhandled error on /" and data["level"] == "ERROR"
    assert data["traceback"].startswith("Traceback") and "ValueError: a bug" in data["traceback"]


def test_the_apps_loggers_write_json_lines(client):
    handlers = logging.getLogger("autograd_playground").handlers
    assert any(isinstance(h.formatter, JsonLines) for h in handlers)
