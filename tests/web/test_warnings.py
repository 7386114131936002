"""An error the web layer gets past is logged once, as a WARNING (or worse) of a logger
under autograd_playground, with its traceback: serve/metrics.py counts those."""

from __future__ import annotations

import logging

import pytest

from autograd_playground.core.draw.layout import RenderError
from autograd_playground.serve.engine import Busy
from autograd_playground.serve.settings import Settings
from autograd_playground.web import i18n, pages
from tests.conftest import IN_PROCESS, run_on_own_loop


def told(caplog: pytest.LogCaptureFixture, words: str) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records
        if r.name.startswith("autograd_playground.") and r.levelno >= logging.WARNING
        and r.exc_info and words in r.getMessage()
    ]


def test_a_translation_that_cannot_be_filled_in_falls_back_and_is_logged(monkeypatch, caplog):
    class Broken:
        def gettext(self, text: str) -> str:
            return "{nowhere}" if "{limit}" in text else text

    monkeypatch.setattr(i18n, "translations", lambda lang: Broken())
    with caplog.at_level(logging.WARNING):
        sentence = i18n.message("de", "The limit is {limit}.", limit=3)
    assert sentence == "The limit is 3."
    assert len(told(caplog, "cannot be filled in")) == 1


def test_a_start_up_that_cannot_warm_the_cache_goes_on_and_says_so(caplog):
    class Failing:
        async def compute(self, job: object) -> None:
            raise Busy(1)

    with caplog.at_level(logging.WARNING):
        run_on_own_loop(pages.warm_cache(Failing(), Settings(**IN_PROCESS)))  # type: ignore[arg-type]
    records = told(caplog, "could not warm the cache")
    assert records and all(r.exc_info and r.exc_info[0] is Busy for r in records)


def test_a_graph_that_cannot_be_drawn_is_a_503_and_logged(client, monkeypatch, caplog):
    async def no_layout(*args: object, **kwargs: object) -> None:
        raise RenderError("dot failed")

    monkeypatch.setattr(client.app.state.engine, "compute", no_layout)
    with caplog.at_level(logging.WARNING):
        page = client.get("/", params={"expr": "x*3", "x": "2"})
        api = client.post("/api/graph", json={"expression": "x*4", "inputs": {"x": 2}})
    assert page.status_code == api.status_code == 503
    assert len(told(caplog, "could not be drawn")) == 2


def test_an_escaped_exception_is_logged_under_the_package(faulty, caplog):
    with caplog.at_level(logging.WARNING):
        assert faulty.get("/api/fault").status_code == 500
    assert len(told(caplog, "unhandled error")) == 1


