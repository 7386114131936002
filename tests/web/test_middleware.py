"""The middleware every request goes through: headers, early refusals, the last-resort answer."""

from __future__ import annotations

import json
import logging


def test_an_escaped_exception_is_a_sentence_with_the_security_headers(faulty, caplog):
    with caplog.at_level(logging.INFO):
        response = faulty.get("/api/fault")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Something went wrong on the server with this request; please try again."
    }
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors" in response.headers["content-security-policy"]
    assert any("a bug" in (r.exc_text or "") for r in caplog.records if r.exc_info)


def test_an_escaped_exception_is_counted_as_an_error(faulty):
    faulty.get("/api/fault")
    metrics = faulty.get("/metrics").text
    assert 'playground_outcomes_total{outcome="error"} 1.0' in metrics


def test_the_server_goes_on_after_an_escaped_exception(faulty):
    faulty.get("/api/fault")
    response = faulty.post("/api/graph", json={"expression": "x**2", "inputs": {"x": 3}})
    assert response.status_code == 200
    assert response.json()["gradients"] == {"x": 6.0}


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_every_request_is_one_log_line(client):
    lines_seen = Lines()
    access = logging.getLogger("playground.access")
    access.addHandler(lines_seen)
    try:
        client.post("/api/graph", json={"expression": "x**2", "inputs": {"x": 3}})
    finally:
        access.removeHandler(lines_seen)
    lines = [json.loads(line) for line in lines_seen.lines]
    assert len(lines) == 1
    assert lines[-1]["route"] == "/api/graph"
    assert lines[-1]["status"] == 200
    assert lines[-1]["outcome"] == "ok"
    assert lines[-1]["expr"] == "x**2"


def test_the_page_gets_its_sentence_in_its_language(make_client):
    client = make_client(max_query_chars=256)
    response = client.get("/?lang=de&expr=" + "x" * 300)
    assert response.status_code == 414
    assert "Die Adresse ist länger als 256 Zeichen" in response.text
    assert response.headers["content-type"].startswith("text/html")
