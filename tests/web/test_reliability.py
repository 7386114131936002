"""The web side of a reliable server: health that sees the pool, links from configuration,
metrics for allowed addresses, Cache-Control that fits each answer, summaries on the page."""

from __future__ import annotations

from importlib import metadata

import pytest
from bs4 import BeautifulSoup

VERSION = metadata.version("autograd-playground")


def test_healthz_fails_while_the_pool_cannot_compute(make_client):
    client = make_client()
    engine = client.app.state.engine
    assert client.get("/healthz").json() == {"status": "ok", "version": VERSION}
    engine.workers = 1  # pretend to run a pool, and that it is gone
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"].startswith("The workers cannot compute right now")
    assert response.headers["cache-control"] == "no-store"
    engine.workers = 0


def test_the_version_is_in_the_page_footer(client):
    footer = BeautifulSoup(client.get("/").text, "html.parser").select_one("footer")
    assert f"Autograd Playground {VERSION}" in footer.get_text(" ", strip=True)
    assert "No cookies" in footer.get_text()


FORGED = {"host": "evil.example", "x-forwarded-host": "evil.example"}


def test_links_come_from_public_url_whatever_the_host_says(make_client):
    client = make_client(public_url="https://playground.school.example/")
    oembed = client.get("/oembed", params={"url": "http://x/embed?expr=x"}, headers=FORGED).json()
    assert oembed["provider_url"] == "https://playground.school.example/"
    assert 'src="https://playground.school.example/embed?' in oembed["html"]
    share = client.get("/share", params={"state": "expr=x"}, headers=FORGED).text
    assert "evil.example" not in share and "https://playground.school.example/embed?" in share
    assert "evil.example" not in client.get("/", headers=FORGED).text


def test_allowed_hosts_refuses_another_host(make_client):
    client = make_client(allowed_hosts="playground.school.example,testserver")
    assert client.get("/healthz").status_code == 200
    response = client.get("/healthz", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert response.headers["x-content-type-options"] == "nosniff"  # still observed


def test_public_url_must_be_an_origin(clean_env):
    from pydantic import ValidationError

    from autograd_playground.serve.settings import Settings

    for bad in ("playground.example", "https://x/path?q", "javascript:alert(1)"):
        with pytest.raises(ValidationError):
            Settings(public_url=bad)


def test_metrics_are_served_only_to_allowed_addresses_by_default(make_client):
    # The test client connects from "testclient", no address: refused like a public one.
    client = make_client(metrics_allow=Settings_default("metrics_allow"))
    assert client.get("/metrics").status_code == 404
    assert make_client(metrics_allow="*").get("/metrics").status_code == 200


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_metrics_on_a_port_of_their_own_leave_the_apps_port(clean_env):
    """A network policy filters ports: on its own port, only the scraper need reach /metrics."""
    import urllib.request

    from fastapi.testclient import TestClient

    from autograd_playground.serve.settings import Settings
    from autograd_playground.web.main import create_app
    from tests.conftest import IN_PROCESS

    port = free_port()
    settings = Settings(**{**IN_PROCESS, "metrics_allow": "*", "metrics_port": port})
    with TestClient(create_app(settings)) as client:
        client.get("/healthz")
        assert client.get("/metrics").status_code == 404  # not on the students' port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            body = answer.read().decode()
        assert 'playground_requests_total{route="/healthz",status="200"}' in body
    # The app's shutdown closed the listener.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_livez_answers_while_the_pool_is_down_and_healthz_does_not(make_client):
    """Liveness must not restart a replica whose workers are being rebuilt."""
    client = make_client()
    client.app.state.engine.workers = 1  # pretend to run a pool, and that it is gone
    assert client.get("/healthz").status_code == 503
    live = client.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "alive", "version": VERSION}
    client.app.state.engine.workers = 0


def Settings_default(name: str):
    from autograd_playground.serve.settings import Settings

    return Settings.model_fields[name].default


def test_the_default_metrics_networks_are_loopback_and_private():
    import ipaddress

    from autograd_playground.serve.settings import metrics_networks

    networks = metrics_networks(Settings_default("metrics_allow"))
    allowed = lambda a: any(ipaddress.ip_address(a) in n for n in networks)
    assert allowed("127.0.0.1") and allowed("::1") and not allowed("172.18.0.5")
    assert not allowed("8.8.8.8") and not allowed("2001:db8::1")
    assert metrics_networks("*") is None


@pytest.mark.parametrize(
    "method, path, status, expected",
    [
        ("GET", "/?expr=x&x=2", 200, "public, max-age=300"),
        ("GET", "/embed?expr=x**2&x=2", 200, "public, max-age=300"),
        ("GET", "/?expr=x%2B&x=2", 200, "public, max-age=300"),  # a refusal is pure too
        ("GET", "/oembed?url=http://t/embed", 200, "public, max-age=300"),
        ("GET", "/oembed?url=http://t/other", 404, "no-store"),
        ("POST", "/api/graph", 200, "no-store"),
        ("GET", "/healthz", 200, "no-store"),
        ("GET", "/metrics", 200, "no-store"),
    ],
)
def test_cache_control_fits_each_answer(client, method, path, status, expected):
    if method == "POST":
        response = client.post(path, json={"expression": "x**2", "inputs": {"x": 1}})
    else:
        response = client.get(path)
    assert response.status_code == status
    assert response.headers["cache-control"] == expected


def test_an_api_refusal_is_not_cached(client):
    response = client.post("/api/graph", json={"expression": "x+", "inputs": {"x": 1}})
    assert response.status_code == 422
    assert response.headers["cache-control"] == "no-store"


def test_a_page_shows_a_summarized_gradient_and_explains_its_steps(client):
    values = "[" + ",".join(str(i) for i in range(1500)) + "]"
    response = client.get("/", params={"expr": "sum(x*x)", "x": values, "step": "2"})
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    gradient = soup.select_one("[data-testid=gradient-x]").get_text(" ", strip=True)
    # d/dx sum(x*x) = 2x for x = 0 .. 1499
    assert gradient == (
        "x.grad = [0, 2, 4, 6, 8, ...] (shape [1500]; min 0, max 2998, mean 1499)"
    )
    assert not soup.select("[role=alert]")
