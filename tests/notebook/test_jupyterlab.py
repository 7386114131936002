"""The executed notebook opened in a real JupyterLab on loopback, untrusted and trusted.

Untrusted (as a notebook someone sent you), JupyterLab sanitizes the output and
runs no script: the picture and the step table must still show. Trusted, the
script runs and the table becomes the stepper. Every request but to this
JupyterLab is aborted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser, Playwright

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
START_DEADLINE_S = 60
TOKEN = "notebook-test"
SHOTS = Path("/tmp/shots/n2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(executed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    home = tmp_path_factory.mktemp("lab")
    nbformat.write(executed, home / "lesson.ipynb")
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={home}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE_S
    while True:  # poll until it answers, within the deadline
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start")
            time.sleep(0.2)
    yield base, home, env
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def open_lesson(browser: Browser, base: str, name: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(base) or r.request.url.startswith(base.replace("http", "ws")):
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.goto(f"{base}/lab/tree/lesson.ipynb?token={TOKEN}")
    return page, elsewhere


def test_untrusted_shows_the_picture_and_the_table(lab, browser: Browser) -> None:
    base, _, _ = lab
    page, elsewhere = open_lesson(browser, base, "untrusted")
    output = page.locator(".jp-OutputArea-output").filter(has=page.locator("table")).first
    picture = output.locator("img").first
    picture.wait_for(timeout=60_000)
    assert picture.evaluate("img => img.complete && img.naturalWidth") > 100
    rows = output.locator("table tbody tr")
    assert "72" in output.inner_text() and rows.count() >= 9
    assert output.locator("script").count() == 0 and output.locator("button").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "jupyterlab-untrusted.png"))
    assert elsewhere == []


def test_trusted_steps(lab, browser: Browser) -> None:
    base, home, env = lab
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(home / "lesson.ipynb")],
                   env=env, check=True, capture_output=True, timeout=60)
    page, elsewhere = open_lesson(browser, base, "trusted")
    lesson = page.locator('[data-testid="notebook-output"]').first
    lesson.locator('[data-testid="step-next"]').wait_for(timeout=60_000)
    lesson.locator('[data-testid="step-next"]').click()
    assert lesson.locator('[data-testid="step-counter"]').inner_text() == "Step 1 of 9"
    lit = lesson.locator('.graph-canvas:not([hidden]) g.node.current')
    assert lit.count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "jupyterlab-trusted.png"))
    assert elsewhere == []
