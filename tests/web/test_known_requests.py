"""An API body sent before is answered from the cache without being read again.

The end-to-end tests count how often the route's own checks (make_job) run:
the first request of a body runs them, the same bytes again do not, and
anything else (other bytes, a refusal, a result no longer kept) does. The unit
tests drive the middleware with a small ASGI app, to send bodies in pieces and
to see exactly which bytes reach the route.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import tracemalloc
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from autograd_playground.serve.cache import Encoded
from autograd_playground.web import api
from autograd_playground.web.known_requests import (
    DIGEST_BYTES,
    ENTRY_BYTES,
    KnownRequests,
    entry_bytes,
)
from tests.conftest import run_on_own_loop
from tests.web.test_middleware import Lines

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
BODY = json.dumps({"expression": SEED, "inputs": {"x": 2}}).encode()
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The expressions the API routes checked, one entry per make_job call."""
    seen: list[str] = []

    def counted(make: Callable[..., object]) -> Callable[..., object]:
        def run(expression: str, *args: object, **kwargs: object) -> object:
            seen.append(expression)
            return make(expression, *args, **kwargs)

        return run

    monkeypatch.setattr(api, "make_job", counted(api.make_job))
    monkeypatch.setattr(api, "make_train_job", counted(api.make_train_job))
    return seen


def post(client: TestClient, body: bytes, path: str = "/api/graph", **headers: str):
    return client.post(path, content=body, headers={**JSON, **headers})


def test_the_same_bytes_again_are_answered_without_the_route(client, checks):
    first = post(client, BODY)
    again = post(client, BODY)
    assert first.status_code == again.status_code == 200
    assert checks == [SEED]  # the second was not read, parsed or checked
    assert first.headers["x-cache"] == "miss" and again.headers["x-cache"] == "hit"
    assert again.content == first.content
    assert again.json()["gradients"] == {"x": 72.0}
    # The same headers as the route's answer: security, no-store, Vary.
    for name in ("content-type", "vary", "cache-control", "x-content-type-options",
                 "content-security-policy"):
        assert again.headers[name] == first.headers[name], name


def test_a_hit_is_gzipped_only_for_a_client_that_takes_gzip(client, checks):
    post(client, BODY)
    packed = client.post("/api/graph", content=BODY,
                         headers={**JSON, "Accept-Encoding": "gzip"})
    plain = client.post("/api/graph", content=BODY,
                        headers={**JSON, "Accept-Encoding": "gzip;q=0"})
    assert checks == [SEED]
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert packed.json() == plain.json()


def test_other_bytes_of_the_same_request_go_through_the_route(client, checks):
    post(client, BODY)
    spaced = json.dumps({"expression": SEED, "inputs": {"x": 2}}, indent=1).encode()
    response = post(client, spaced)
    assert checks == [SEED, SEED]
    assert response.headers["x-cache"] == "hit"  # the engine's cache: one computation
    assert post(client, spaced).status_code == 200
    assert checks == [SEED, SEED]  # and now these bytes are known too


def test_another_content_type_is_another_request(client, checks):
    post(client, BODY)
    other = client.post("/api/graph", content=BODY,
                        headers={"Content-Type": "application/json; charset=utf-8"})
    assert other.status_code == 200
    assert checks == [SEED, SEED]


def test_a_refusal_is_never_remembered(client, checks):
    bad = json.dumps({"expression": "x +* 2", "inputs": {"x": 2}}).encode()
    first, again = post(client, bad), post(client, bad)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert "x +* 2" in checks and len(checks) == 2  # both were read and checked


def test_a_result_no_longer_kept_is_computed_again(client, checks):
    post(client, BODY)
    engine = client.app.state.engine
    engine.cache = type(engine.cache)(engine.cache.max_bytes)  # every result evicted
    asked: list[str] = []
    get = engine.cache.get

    async def counted_get(key: str):
        asked.append(key)
        return await get(key)

    engine.cache.get = counted_get
    response = post(client, BODY)
    assert response.status_code == 200 and response.headers["x-cache"] == "miss"
    assert checks == [SEED, SEED]
    assert len(asked) == 1  # by the middleware; a shared cache is not asked twice
    assert post(client, BODY).headers["x-cache"] == "hit"
    assert checks == [SEED, SEED]


def test_a_training_run_sent_again_is_answered_without_the_route(client, checks):
    body = json.dumps({"expression": "(w*x - 3)**2", "inputs": {"w": 0.5, "x": 2},
                       "params": ["w"], "lr": 0.1, "steps": 5}).encode()
    first = post(client, body, "/api/train")
    again = post(client, body, "/api/train")
    assert first.status_code == again.status_code == 200
    assert checks == ["(w*x - 3)**2"]
    assert again.content == first.content


def test_a_hit_is_logged_and_counted_as_one(client, checks):
    post(client, BODY)
    lines_seen = Lines()
    access = logging.getLogger("playground.access")
    access.addHandler(lines_seen)
    try:
        post(client, BODY)
    finally:
        access.removeHandler(lines_seen)
    assert checks == [SEED]  # the shortcut's own line
    (line,) = [json.loads(text) for text in lines_seen.lines]
    assert (line["route"], line["status"], line["cache"], line["expr"]) == (
        "/api/graph", 200, "hit", SEED
    )
    assert 'playground_cache_total{result="hit"} 1.0' in client.get("/metrics").text


def test_a_body_without_a_length_over_the_limit_is_refused_every_time(make_client, checks):
    client = make_client(max_body_bytes=1024)

    def chunks():
        yield b'{"expression": "x**2", "inputs": {"x": ['
        yield b", ".join([b"1"] * 1200)
        yield b"]}}"

    for _ in range(2):
        response = client.post("/api/graph", content=chunks(), headers=JSON)
        assert response.status_code == 413
        assert response.json() == {"detail": "The request body is larger than 1024 bytes."}
    assert post(client, BODY).status_code == 200  # and the server goes on


def test_a_body_sent_a_byte_at_a_time_is_read_whole_and_known(client, checks):
    def bytewise():
        for i in range(len(BODY)):
            yield BODY[i:i + 1]

    first = client.post("/api/graph", content=bytewise(), headers=JSON)
    assert first.status_code == 200 and first.json()["gradients"] == {"x": 72.0}
    again = post(client, BODY)  # the same bytes in one piece
    assert again.content == first.content and checks == [SEED]


def test_a_known_body_is_still_rate_limited(make_client, checks):
    # Two requests' worth: /api/graph costs two tokens (web.headers.ROUTE_COST).
    client = make_client(rate_limit_burst=4, rate_limit_per_minute=6)
    assert post(client, BODY).status_code == 200
    assert post(client, BODY).status_code == 200
    limited = post(client, BODY)
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert checks == [SEED]


def test_a_training_run_is_rate_limited_and_counted_under_its_route(make_client):
    client = make_client(rate_limit_burst=1, rate_limit_per_minute=6)
    body = {"expression": "(w - 3)**2", "inputs": {"w": 0.5}, "params": ["w"], "lr": 0.1,
            "steps": 3}
    assert client.post("/api/train", json=body).status_code == 200
    assert client.post("/api/train", json=body).status_code == 429
    metrics = client.get("/metrics").text
    assert 'route="/api/train"' in metrics


# --- the middleware alone ---------------------------------------------------


class Kept:
    """An engine's cache, as far as KnownRequests asks it."""

    def __init__(self) -> None:
        self.results: dict[str, Encoded] = {}

    async def kept(self, key: str) -> Encoded | None:
        return self.results.get(key)


class Route:
    """An ASGI app that reads the whole body, names a key for it, and answers 200.

    A client that leaves mid-body gets 499 here (what Starlette would raise).
    """

    def __init__(self, kept: Kept, status: int = 200, text: str = ""):
        self.kept = kept
        self.status = status
        self.text = text
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.bodies.append(body)
                await send({"type": "http.response.start", "status": 499, "headers": []})
                await send({"type": "http.response.body", "body": b"gone"})
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        key = f"key-{len(body)}-{body[:8]!r}"
        self.kept.results[key] = Encoded.of({"body": body.decode()})
        scope["state"]["answer"] = key
        if self.text:
            scope["state"]["expr"] = self.text
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"computed"})


def run(
    app, body_parts: list[bytes], path: str = "/api/graph", gone: bool = False
) -> tuple[int, bytes]:
    """Send ``body_parts`` as one request's messages; the status and the body sent back.

    ``gone``: the client leaves before the last part, which then says more is coming.
    """
    messages = [
        {"type": "http.request", "body": part, "more_body": gone or i < len(body_parts) - 1}
        for i, part in enumerate(body_parts)
    ]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "state": {}}
    run_on_own_loop(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def test_a_body_in_pieces_reaches_the_route_whole_and_is_known_whole():
    kept = Kept()
    route = Route(kept)
    known = KnownRequests(route, kept, text_chars=100)
    assert run(known, [b'{"a":', b" 1", b"}"]) == (200, b"computed")
    assert route.bodies == [b'{"a": 1}']
    status, body = run(known, [b'{"a": 1', b"}"])  # the same bytes, cut elsewhere
    assert status == 200 and json.loads(body) == {"body": '{"a": 1}'}  # from the cache
    assert len(route.bodies) == 1


def test_a_body_over_the_limit_passes_whole_and_is_never_known():
    kept = Kept()
    route = Route(kept)
    known = KnownRequests(route, kept, text_chars=100, max_body=10)
    parts = [b"0123456", b"789abcdef", b"ghij"]
    for _ in range(2):
        assert run(known, parts) == (200, b"computed")
    assert route.bodies == [b"".join(parts)] * 2
    assert not known.known


def test_only_answers_of_200_are_remembered():
    kept = Kept()
    route = Route(kept, status=422)
    known = KnownRequests(route, kept, text_chars=100)
    for _ in range(2):
        assert run(known, [b"{}"]) == (422, b"computed")
    assert len(route.bodies) == 2


def test_the_least_recently_used_body_is_forgotten_past_the_bytes():
    kept = Kept()
    route = Route(kept)
    # Room for two of these entries (each its digest, a key of 14 or 15 bytes and the
    # objects that hold them), not three.
    known = KnownRequests(route, kept, text_chars=100,
                          max_bytes=2 * (ENTRY_BYTES + DIGEST_BYTES + 15))
    for body in (b"first", b"second", b"third", b"first"):
        run(known, [body])
    assert route.bodies == [b"first", b"second", b"third", b"first"]
    run(known, [b"third"])
    assert len(route.bodies) == 4  # kept among the two used last
    assert known.known.currsize <= known.known.maxsize


def test_a_long_function_takes_more_of_the_bound_than_a_short_one():
    kept = Kept()
    text = "x + " * 200 + "x"  # 801 characters, as the log line keeps them
    route = Route(kept, text=text)
    known = KnownRequests(route, kept, text_chars=1000, max_bytes=3000)
    for body in (b"one", b"two", b"three"):
        run(known, [body])
    # Two entries of about 1350 bytes fit in 3000; a third pushes the oldest out.
    assert len(known.known) == 2
    assert known.known.currsize == sum(entry_bytes(entry) for entry in known.known.values())
    assert known.known.currsize <= 3000
    run(known, [b"one"])
    assert len(route.bodies) == 4  # forgotten, so computed again


def test_what_is_remembered_takes_no_more_memory_than_the_bound():
    # A day's traffic fills the bound with short functions: the Python objects that hold
    # each entry then weigh more than its bytes, and must be counted, or 4 MiB of
    # remembered bodies take 16 MiB of the web process.
    bound = 2**20
    known = KnownRequests(Route(Kept()), Kept(), text_chars=100, max_bytes=bound)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(bound // 100):  # several times as many as fit
            digest = hashlib.blake2b(b"body %d" % n, digest_size=DIGEST_BYTES).digest()
            key = hashlib.sha256(b"key %d" % n).hexdigest()  # as the engine's keys
            known.known[digest] = (key, f"5*x**3 + 2*x**2 + 4*x + {n}")
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert known.known.currsize <= bound
    assert used <= 1.25 * bound, f"{used / bound:.2f} times the bound"


def test_an_entry_larger_than_the_bound_is_not_remembered():
    kept = Kept()
    route = Route(kept, text="y" * 500)
    known = KnownRequests(route, kept, text_chars=1000, max_bytes=100)
    for _ in range(2):
        assert run(known, [b"{}"]) == (200, b"computed")
    assert len(route.bodies) == 2 and not known.known


def test_other_paths_and_methods_pass_untouched():
    kept = Kept()
    route = Route(kept)
    known = KnownRequests(route, kept, text_chars=100)
    for _ in range(2):
        run(known, [b"{}"], path="/oembed")
    assert len(route.bodies) == 2 and not known.known


def test_a_client_that_leaves_mid_body_reaches_the_route_as_it_left():
    kept = Kept()
    route = Route(kept)
    known = KnownRequests(route, kept, text_chars=100)
    for _ in range(2):
        assert run(known, [b'{"a":', b" 1"], gone=True) == (499, b"gone")
    assert route.bodies == [b'{"a": 1'] * 2
    assert not known.known
