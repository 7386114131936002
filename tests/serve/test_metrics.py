"""Prometheus metrics: what each method records, as a scraper would read it.

Every check parses the rendered exposition with prometheus_client's own parser
and looks at sample values, rather than searching the text.
"""

from __future__ import annotations

import gc
import logging
import threading

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from autograd_playground.serve.metrics import (
    CACHE_RESULTS,
    LATENCY_BUCKETS,
    LOGGER_ROOT,
    MAX_LOGGERS,
    MAX_ROUTES,
    OUTCOMES,
    RESTART_REASONS,
    Metrics,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(metrics: Metrics) -> Samples:
    """Every sample of the rendered metrics: (name, labels) -> value."""
    body, _ = metrics.render()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of one sample, or None when there is no such series."""
    return samples.get((name, frozenset(labels.items())))


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    """The label sets that sample ``name`` has."""
    return [dict(labels) for sample_name, labels in samples if sample_name == name]


def test_render_gives_the_text_format_and_its_content_type():
    body, content_type = Metrics().render()
    assert content_type.startswith("text/plain; version=")
    assert b"# TYPE playground_requests_total counter" in body
    assert b"# TYPE playground_request_seconds histogram" in body


def test_observe_request_counts_by_route_and_status():
    metrics = Metrics()
    metrics.observe_request("/api/graph", 200, 0.01)
    metrics.observe_request("/api/graph", 200, 0.02)
    metrics.observe_request("/api/graph", 422, 0.001)
    metrics.observe_request("/", 200, 0.005)
    samples = scrape(metrics)
    total = "playground_requests_total"
    assert value(samples, total, route="/api/graph", status="200") == 2.0
    assert value(samples, total, route="/api/graph", status="422") == 1.0
    assert value(samples, total, route="/", status="200") == 1.0
    assert value(samples, total, route="/", status="422") is None
    assert value(samples, "playground_request_seconds_count", route="/api/graph") == 3.0
    assert value(samples, "playground_request_seconds_sum", route="/api/graph") == (
        pytest.approx(0.031)
    )


def test_latency_goes_into_the_right_buckets():
    metrics = Metrics()
    # 0.0005 s and exactly 0.001 s are both <= 1 ms; 0.003 s is the first
    # above 2.5 ms; 7 s is between 5 s and 10 s; 60 s is only in +Inf.
    for seconds in (0.0005, 0.001, 0.003, 7.0, 60.0):
        metrics.observe_request("/api/graph", 200, seconds)
    samples = scrape(metrics)

    def bucket(le: str) -> float | None:
        return value(samples, "playground_request_seconds_bucket", route="/api/graph", le=le)

    assert bucket("0.001") == 2.0
    assert bucket("0.0025") == 2.0
    assert bucket("0.005") == 3.0
    assert bucket("2.5") == 3.0
    assert bucket("5.0") == 3.0
    assert bucket("10.0") == 4.0
    assert bucket("+Inf") == 5.0


def test_the_buckets_cover_one_millisecond_to_ten_seconds():
    metrics = Metrics()
    metrics.observe_request("/x", 200, 0.1)
    bounds = sorted(
        float(labels["le"])
        for labels in series(scrape(metrics), "playground_request_seconds_bucket")
    )
    assert bounds == [*LATENCY_BUCKETS, float("inf")]
    assert bounds[0] == 0.001
    assert bounds[-2] == 10.0


def test_a_negative_duration_counts_as_zero():
    metrics = Metrics()
    metrics.observe_request("/x", 200, -1.0)
    samples = scrape(metrics)
    assert value(samples, "playground_request_seconds_sum", route="/x") == 0.0
    assert value(samples, "playground_request_seconds_bucket", route="/x", le="0.001") == 1.0


@pytest.mark.parametrize("status", [0, 99, 600, 12345, -200])
def test_an_impossible_status_is_other(status):
    metrics = Metrics()
    metrics.observe_request("/x", status, 0.1)
    samples = scrape(metrics)
    assert series(samples, "playground_requests_total") == [{"route": "/x", "status": "other"}]


def test_routes_past_the_limit_are_counted_as_other():
    metrics = Metrics()
    for i in range(MAX_ROUTES):
        metrics.observe_request(f"/route/{i}", 200, 0.01)
    metrics.observe_request("/route/0", 200, 0.01)  # known: still its own series
    for i in range(50):
        metrics.observe_request(f"/api/graph?f=x{i}", 200, 0.01)  # a caller's bug
    samples = scrape(metrics)
    routes = {labels["route"] for labels in series(samples, "playground_requests_total")}
    assert len(routes) == MAX_ROUTES + 1
    assert value(samples, "playground_requests_total", route="/route/0", status="200") == 2.0
    assert value(samples, "playground_requests_total", route="other", status="200") == 50.0


# Each labelled counter: how it is counted, its metric, its label and its known values.
COUNTERS = {
    "cache": (Metrics.cache_event, "playground_cache_total", "result", CACHE_RESULTS),
    "outcome": (Metrics.outcome, "playground_outcomes_total", "outcome", OUTCOMES),
    "restart": (Metrics.worker_restart, "playground_worker_restarts_total", "reason",
                RESTART_REASONS),
}


@pytest.mark.parametrize(
    ("counter", "name"),
    [(counter, name) for counter, (*_, known) in COUNTERS.items() for name in sorted(known)],
)
def test_each_known_label_is_counted_on_its_own(counter, name):
    count, metric, label, known = COUNTERS[counter]
    metrics = Metrics()
    for _ in range(3):
        count(metrics, name)
    samples = scrape(metrics)
    for other in known | {"other"}:
        expected = 3.0 if other == name else 0.0
        assert value(samples, metric, **{label: other}) == expected


def test_the_known_labels_are_the_documented_ones():
    assert OUTCOMES == {"ok", "refused", "timeout", "busy", "rate_limited", "error"}
    assert CACHE_RESULTS == {"hit", "miss", "shared", "timeout"}
    assert RESTART_REASONS == {"timeout", "crash", "recycle", "broken", "stuck", "stalled"}


def test_every_known_label_value_is_exported_at_zero_from_the_start():
    samples = scrape(Metrics())
    assert {labels["outcome"] for labels in series(samples, "playground_outcomes_total")} == (
        OUTCOMES | {"other"}
    )
    assert all(
        samples[("playground_outcomes_total", frozenset({("outcome", name)}))] == 0.0
        for name in OUTCOMES
    )
    assert value(samples, "playground_queue_depth") == 0.0


@pytest.mark.parametrize(
    ("method", "metric", "label"),
    [
        ("cache_event", "playground_cache_total", "result"),
        ("outcome", "playground_outcomes_total", "outcome"),
        ("worker_restart", "playground_worker_restarts_total", "reason"),
    ],
)
def test_unknown_label_values_become_other(method, metric, label):
    metrics = Metrics()
    for i in range(20):
        getattr(metrics, method)(f"surprise-{i}")
    getattr(metrics, method)("")
    getattr(metrics, method)("OK")  # case matters: not "ok"
    samples = scrape(metrics)
    assert value(samples, metric, **{label: "other"}) == 22.0
    values = {labels[label] for labels in series(samples, metric)}
    assert not any(v.startswith("surprise") or v in {"", "OK"} for v in values)


def test_queue_depth_is_the_last_value_set():
    metrics = Metrics()
    metrics.set_queue_depth(7)
    assert value(scrape(metrics), "playground_queue_depth") == 7.0
    metrics.set_queue_depth(2)
    assert value(scrape(metrics), "playground_queue_depth") == 2.0
    metrics.set_queue_depth(0)
    assert value(scrape(metrics), "playground_queue_depth") == 0.0


def test_two_instances_do_not_share_counts():
    first, second = Metrics(), Metrics()
    assert first.registry is not second.registry
    first.outcome("ok")
    first.outcome("ok")
    first.cache_event("hit")
    first.observe_request("/api/graph", 200, 0.01)
    first.set_queue_depth(5)
    second.outcome("ok")
    one, two = scrape(first), scrape(second)
    assert value(one, "playground_outcomes_total", outcome="ok") == 2.0
    assert value(two, "playground_outcomes_total", outcome="ok") == 1.0
    assert value(two, "playground_cache_total", result="hit") == 0.0
    assert series(two, "playground_requests_total") == []
    assert value(two, "playground_queue_depth") == 0.0


def test_nothing_is_registered_in_the_global_default_registry():
    Metrics()  # a second would raise "Duplicated timeseries" if either used it
    Metrics()
    names = {family.name for family in REGISTRY.collect()}
    assert not any(name.startswith("playground_") for name in names)


def test_counts_from_many_threads_are_all_kept():
    metrics = Metrics()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(500):
            metrics.outcome("ok")
            metrics.observe_request("/api/graph", 200, 0.01)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples = scrape(metrics)
    assert value(samples, "playground_outcomes_total", outcome="ok") == 4000.0
    assert value(samples, "playground_requests_total", route="/api/graph", status="200") == 4000.0


# --- Problems that were logged -----------------------------------------------


def test_warnings_and_errors_of_the_app_are_counted_by_logger_and_level():
    metrics = Metrics()
    try:
        logging.getLogger("autograd_playground.serve.engine").warning("pool rebuilt")
        logging.getLogger("autograd_playground.serve.engine").warning("pool rebuilt again")
        logging.getLogger("autograd_playground.core.draw.layout").error("layout failed")
        logging.getLogger("autograd_playground.serve.engine").info("not a problem")
        logging.getLogger("somebody.else").error("not ours")
        samples = scrape(metrics)
    finally:
        metrics.close()
    name = "playground_logged_problems_total"
    assert value(samples, name, logger="autograd_playground.serve.engine", level="WARNING") == 2
    assert value(samples, name, logger="autograd_playground.core.draw.layout", level="ERROR") == 1
    assert sorted(s["logger"] for s in series(samples, name)) == [
        "autograd_playground.core.draw.layout", "autograd_playground.serve.engine"]


def test_closed_or_dropped_metrics_leave_the_logger():
    logger = logging.getLogger(LOGGER_ROOT)
    gc.collect()  # metrics other tests dropped leave first
    before = list(logger.handlers)
    closed = Metrics()
    closed.close()
    logging.getLogger("autograd_playground.x").warning("after close")
    assert not series(scrape(closed), "playground_logged_problems_total")
    Metrics()  # dropped at once: its handler goes with it
    gc.collect()
    assert logger.handlers == before


def test_many_loggers_cannot_make_a_series_each():
    metrics = Metrics()
    try:
        for i in range(MAX_LOGGERS + 20):
            logging.getLogger(f"autograd_playground.generated{i}").warning("x")
        samples = scrape(metrics)
    finally:
        metrics.close()
    loggers = series(samples, "playground_logged_problems_total")
    assert len(loggers) == MAX_LOGGERS + 1
    assert value(samples, "playground_logged_problems_total", logger="other", level="WARNING") == 20


@pytest.mark.parametrize("reason", ["broken", "stuck", "stalled"])
def test_a_rebuilt_pool_is_counted_under_its_reason_not_other(reason):
    # The pool reports these when it is rebuilt whole (serve/pool.py); counted as
    # "other" they hid how often pebble gave a pool up or a channel jammed.
    metrics = Metrics()
    metrics.worker_restart(reason)
    samples = scrape(metrics)
    assert value(samples, "playground_worker_restarts_total", reason=reason) == 1.0
    assert value(samples, "playground_worker_restarts_total", reason="other") == 0.0
