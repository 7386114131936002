"""LTI across replicas: the state and nonce live in one Redis that every replica shares.

The stores first, on their own (memory, and a real local redis-server), then the
shape docker-compose.yml runs, on loopback: two tool replicas behind nginx
(tests/serve/test_scaleout.py's helpers), sharing a Redis. A login served by
one replica is launched on the other, and the same launch replayed on the
first is refused.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from autograd_playground.web.lti import errors
from autograd_playground.web.lti.stores import MemoryStore, RedisStore, StoreDown
from tests.conftest import run_on_own_loop
from tests.lti.conftest import auth_form, write_config
from tests.lti.platform import Platform
from tests.lti.test_negative import sentence
from tests.serve.test_scaleout import ROOT, free_port, nginx_conf, wait_for

PREFIX = RedisStore.PREFIX


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_memory_store_gives_a_value_once_and_forgets_it_in_time():
    async def run() -> None:
        clock = Clock()
        store = MemoryStore(size=10, clock=clock)
        await store.put("state", "s1", "v1", ttl=60)
        await store.put("state", "s2", "v2", ttl=60)
        assert await store.get("state", "s1") == "v1"
        assert await store.take("state", "s1") == "v1"
        assert await store.take("state", "s1") is None
        assert [await store.incr("nonce", "n", ttl=30) for _ in range(3)] == [1, 2, 3]
        clock.now += 61
        assert await store.take("state", "s2") is None
        assert await store.incr("nonce", "n", ttl=30) == 1  # expired: counted afresh
        assert store.writes == 6

    run_on_own_loop(run())


def test_the_memory_store_is_bounded_in_entries():
    async def run() -> None:
        store = MemoryStore(size=3)
        for i in range(10):
            await store.put("state", f"s{i}", "v", ttl=60)
        assert len(store.entries) == 3

    run_on_own_loop(run())


def test_a_store_refuses_a_key_or_value_past_its_bounds():
    async def run() -> None:
        store = MemoryStore()
        with pytest.raises(ValueError):
            await store.put("state", "k" * 600, "v", ttl=60)
        with pytest.raises(ValueError):
            await store.put("state", "k", "v" * 20_000, ttl=60)
        with pytest.raises(ValueError):
            await store.put("no kind", "k", "v", ttl=60)

    run_on_own_loop(run())


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert shutil.which("redis-server"), "redis-server not installed; make test installs it"
    port = free_port()
    tmp = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    while True:  # until it listens
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)
    try:
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def test_the_redis_store_gives_a_value_to_one_taker_only(redis_url):
    async def run() -> list[str | None]:
        store = RedisStore(redis_url)
        try:
            await store.put("state", "race", "v", ttl=60)
            takers = [RedisStore(redis_url) for _ in range(8)]
            got = await asyncio.gather(*(t.take("state", "race") for t in takers))
            for taker in takers:
                await taker.close()
            return got
        finally:
            await store.close()

    got = run_on_own_loop(run())
    assert got.count("v") == 1 and got.count(None) == 7


def test_the_redis_store_counts_and_expires(redis_url):
    async def run() -> tuple[list[int], int]:
        store = RedisStore(redis_url)
        try:
            counts = [await store.incr("nonce", "n-expire", ttl=30) for _ in range(3)]
            ttl = await store.client.ttl(PREFIX + "nonce:n-expire")
            await store.put("state", "s-expire", "v", ttl=45)
            assert 0 < await store.client.ttl(PREFIX + "state:s-expire") <= 45
            return counts, ttl
        finally:
            await store.close()

    counts, ttl = run_on_own_loop(run())
    assert counts == [1, 2, 3]
    assert 0 < ttl <= 30  # set by the first increment, not moved by the later ones


def test_a_redis_store_that_cannot_be_reached_fails_closed():
    async def run() -> None:
        store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
        try:
            for call in (store.put("state", "s", "v", 60), store.take("state", "s"),
                         store.get("state", "s"), store.incr("nonce", "n", 60)):
                with pytest.raises(StoreDown):
                    await call
        finally:
            await store.close()

    run_on_own_loop(run())


# --- two replicas behind nginx --------------------------------------------------------


@pytest.fixture(scope="module")
def replicas(platform: Platform, redis_url: str, tmp_path_factory) -> Iterator[str]:
    """Two tool replicas (a, b) behind nginx, sharing ``redis_url``; the balancer's URL."""
    tmp = tmp_path_factory.mktemp("lti-scaleout")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx not installed; make test installs it from Debian"
    config = write_config(tmp, platform)
    port, ports = free_port(), {"a": free_port(), "b": free_port()}
    balancer = f"http://127.0.0.1:{port}"
    processes: list[subprocess.Popen] = []
    before, platform.tool_url = platform.tool_url, balancer
    try:
        for name, replica_port in ports.items():
            env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}
            env.update({
                "PLAYGROUND_LTI_CONFIG": str(config),
                "PLAYGROUND_REDIS_URL": redis_url,
                "PLAYGROUND_REPLICA_NAME": name,
                "PLAYGROUND_PUBLIC_URL": balancer,  # as a school sets it behind its proxy
                "PLAYGROUND_WORKERS": "0",
                "PLAYGROUND_WARM_CACHE": "false",
                "PLAYGROUND_TRUSTED_PROXIES": "127.0.0.1",
            })
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "autograd_playground.web.main:create_app",
                 "--factory", "--host", "127.0.0.1", "--port", str(replica_port),
                 "--no-access-log", "--no-proxy-headers"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
            wait_for(f"http://127.0.0.1:{replica_port}/healthz", processes[-1])
        conf = nginx_conf(tmp, port, list(ports.values()))
        processes.append(subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)]))
        wait_for(f"{balancer}/healthz", processes[-1])
        yield balancer
    finally:
        platform.tool_url = before
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_login_on_one_replica_launches_on_the_other(replicas, platform, redis_url):
    kept = redis.Redis.from_url(redis_url, decode_responses=True)
    with httpx.Client(timeout=60) as browser:
        hint = platform.prepare()
        login = browser.get(f"{replicas}/lti/login", params=platform.login_params(hint))
        assert login.status_code == 302, login.text
        action, fields = auth_form(browser.get(login.headers["location"]).text)
        assert action == f"{replicas}/lti/launch"
        state = fields["state"]
        assert kept.exists(f"{PREFIX}state:{state}")
        answer = browser.post(action, data=fields)
        # Past every check: the state was taken and the nonce marked used, in Redis.
        assert answer.status_code not in (400, 403, 503), answer.text[:300]
        assert answer.headers["x-served-by"] != login.headers["x-served-by"]
        assert not kept.exists(f"{PREFIX}state:{state}")
        nonce = platform.auth_requests[-1]["nonce"]
        assert kept.get(f"{PREFIX}nonce:{nonce}") == "1"

        # The same launch again, on the replica that did not take it: refused.
        replay = browser.post(action, data=fields)
        assert replay.headers["x-served-by"] != answer.headers["x-served-by"]
        assert replay.status_code == 403
        assert sentence(replay) == errors.REPLAYED
    kept.close()


def test_the_replicas_publish_the_same_keys(replicas):
    served = [httpx.get(f"{replicas}/lti/jwks") for _ in range(2)]
    assert {s.headers["x-served-by"] for s in served} == {"a", "b"}
    assert served[0].json() == served[1].json()


def test_a_redis_full_of_results_still_takes_a_launch(tmp_path):
    """Redis as docker-compose.yml runs it (its command, with a smaller maxmemory): once
    results fill it, a launch's state is still kept. Redis's default policy,
    noeviction, would refuse the write, and LTI every launch."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["redis"]["command"]
    assert command[:3] == ["redis-server", "--maxmemory", "192mb"]
    port = free_port()
    process = subprocess.Popen(
        [*command[:1], "--maxmemory", "2mb", *command[3:], "--port", str(port),
         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        for i in range(3000):  # results, as RedisCache keeps them: a day's TTL
            try:
                client.set(f"playground:result:{i}", b"x" * 1000, ex=86_400)
            except redis.ResponseError:
                break  # full, and refusing: the store below will be refused too

        async def keep() -> str | None:
            store = RedisStore(url)
            try:
                await store.put("state", "after-the-results", "v", ttl=600)
                return await store.take("state", "after-the-results")
            finally:
                await store.close()

        assert run_on_own_loop(keep()) == "v"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)
