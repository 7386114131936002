"""Scale-out: two replicas behind a local nginx, sharing one local Redis.

The shape docker-compose.yml runs, on loopback: requests alternate between the
replicas, a result computed by one is a cache hit on the other, and the rate
limit is one limit per client address across both.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = "5*x**3 + 2*x**2 + 4*x + 8"
BURST = 6
# A replica's first computation starts its worker; on a loaded machine that can
# take longer than httpx's default of 5 s, and a slow answer is not a wrong one.
TIMEOUT = 60.0



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def nginx_conf(tmp: Path, port: int, upstreams: list[int]) -> Path:
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in upstreams)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream playground {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://playground;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""
    )
    return conf


@pytest.fixture(scope="module")
def balancer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scaleout")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    missing = [n for n, path in (("redis-server", shutil.which("redis-server")), ("nginx", nginx))
               if not path or not Path(path).exists()]
    assert not missing, f"{missing} not installed; make test installs them from Debian"
    processes: list[subprocess.Popen] = []
    try:
        redis_port = free_port()
        processes.append(
            subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(tmp)],
                stdout=subprocess.DEVNULL,
            )
        )
        replicas = {"a": free_port(), "b": free_port()}
        for name, port in replicas.items():
            env = {
                **os.environ,
                "PLAYGROUND_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "PLAYGROUND_REPLICA_NAME": name,
                "PLAYGROUND_WORKERS": "1",
                "PLAYGROUND_WARM_CACHE": "false",
                "PLAYGROUND_TRUSTED_PROXIES": "127.0.0.1",
                # BURST requests to /api/graph, which costs two tokens (web.headers.ROUTE_COST);
                # one token a minute comes back, so none does while the test runs.
                "PLAYGROUND_RATE_LIMIT_BURST": str(2 * BURST),
                "PLAYGROUND_RATE_LIMIT_PER_MINUTE": "1",
            }
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "autograd_playground.web.main:create_app", "--factory",
                     "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                     "--no-proxy-headers"],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )
            wait_for(f"http://127.0.0.1:{port}/healthz", processes[-1])
        port = free_port()
        conf = nginx_conf(tmp, port, list(replicas.values()))
        processes.append(subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)]))
        wait_for(f"http://127.0.0.1:{port}/healthz", processes[-1])
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def as_client(address: str) -> dict[str, str]:
    """Requests seen as coming from ``address``: nginx appends the real peer, which
    the replicas trust as a proxy, so the limit applies to ``address``."""
    return {"X-Forwarded-For": address}


def test_requests_alternate_between_the_replicas(balancer):
    served = [
        httpx.get(balancer + "/healthz", headers=as_client("10.0.0.1")).headers["x-served-by"]
        for _ in range(6)
    ]
    assert set(served) == {"a", "b"}
    assert all(first != second for first, second in pairwise(served))


def test_a_result_computed_by_one_replica_is_a_hit_on_the_other(balancer):
    body = {"expression": SEED, "inputs": {"x": 3.25}}  # a value no other test uses
    ask = dict(json=body, headers=as_client("10.0.0.2"), timeout=TIMEOUT)
    first = httpx.post(balancer + "/api/graph", **ask)
    second = httpx.post(balancer + "/api/graph", **ask)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache"] == "miss"
    assert second.headers["x-served-by"] != first.headers["x-served-by"]
    assert second.headers["x-cache"] == "hit"
    assert second.json() == first.json()
    x = 3.25
    assert first.json()["gradients"]["x"] == pytest.approx(15 * x**2 + 4 * x + 4)


def test_the_rate_limit_is_one_limit_across_the_replicas(balancer):
    answers = [
        httpx.post(
            balancer + "/api/graph",
            json={"expression": "x*2", "inputs": {"x": 1}},
            headers=as_client("10.0.0.3"),
            timeout=TIMEOUT,
        )
        for _ in range(BURST + 2)
    ]
    statuses = [a.status_code for a in answers]
    assert statuses[:BURST] == [200] * BURST
    assert statuses[BURST:] == [429, 429]
    assert {a.headers["x-served-by"] for a in answers} == {"a", "b"}
    assert int(answers[-1].headers["retry-after"]) >= 1
    # Another address still has its own, full bucket.
    other = httpx.get(balancer + "/?expr=x*2&x=1", headers=as_client("10.0.0.4"))
    assert other.status_code == 200
