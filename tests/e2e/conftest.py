"""Browser fixtures: the real server on a free port, Debian's chromium, a page per test.

The server is started exactly as in production (``uvicorn autograd_playground.web.main:create_app
--factory``) in a subprocess, so these tests see the real headers (CSP), the
real static files and the real htmx round trips. The browser is
``/usr/bin/chromium``; Playwright's own browser download is never used.

Every page a test opens through ``new_page`` records console errors, uncaught
exceptions and Content-Security-Policy violations, and ``screenshot`` saves a
picture of a state to ``test-artifacts/screenshots/<test>-<state>.png``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Frame,
    Page,
    Playwright,
)

from bench import server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 30
DESKTOP = {"width": 1280, "height": 900}

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"

# Runs before any page script: records CSP violations, which do not always
# reach the console (e.g. a blocked inline style attribute set by script).
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


def next_frame(page: Page | Frame) -> None:
    """Panzoom writes its transform in the next animation frame: wait for it."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def changes_within_frames(page: Page | Frame, change: str, arg: Any = None, *,
                          frames: int = 30) -> bool:
    """Whether ``change`` (a JS function of ``arg``) came true within ``frames``
    animation frames. For checks that nothing happens: whatever the page does
    in answer to an event (a key, a click, a resize) shows within a few frames,
    so a watch over more frames would have caught it, and returns at once if so."""
    return page.evaluate(
        f"""(arg) => new Promise((resolve) => {{
          const change = {change};
          let left = {int(frames)};
          const look = () => {{
            if (change(arg)) resolve(true);
            else if (--left <= 0) resolve(false);
            else requestAnimationFrame(look);
          }};
          look();
        }})""",
        arg,
    )


@contextmanager
def serve(**env_overrides: str) -> Iterator[str]:
    """The app served by uvicorn on a free port, with PLAYGROUND_* taken from ``env_overrides``."""
    try:
        with server.serve(SERVER_START_TIMEOUT_S, **env_overrides) as running:
            yield running.url
    except server.ServerFailed as failed:
        pytest.fail(str(failed))


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """The app, with its defaults (a real worker pool), for the whole session."""
    with serve() as url:
        yield url


@pytest.fixture(scope="session")
def link(base_url: str) -> Callable[..., str]:
    """``link(expr, x=2, step=4)``: a playground URL, encoded as the page encodes
    it (``+`` is ``%2B``); the function defaults to the lesson's."""

    def make(expr: str = LESSON, **params: Any) -> str:
        return f"{base_url}/?" + urlencode({"expr": expr, **params}, quote_via=quote)

    return make


def _launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One browser for the session; each test gets its own context."""
    browser = _launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def fresh_browser(playwright: Playwright) -> Iterator[Browser]:
    """A browser of its own, as on a first visit: the shared one remembers things
    across contexts (e.g. that /favicon.ico failed, so it does not ask again)."""
    browser = _launch(playwright)
    yield browser
    browser.close()


class Problems:
    """What went wrong in the browser while a test ran."""

    def __init__(self) -> None:
        self.console: list[str] = []
        self.exceptions: list[str] = []
        self.pages: list[Page] = []

    def watch(self, page: Page) -> None:
        self.pages.append(page)
        page.on("console", lambda msg: self.console.append(f"{msg.text} ({msg.location})")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.exceptions.append(str(exc)))

    def csp_violations(self) -> list[str]:
        found: list[str] = []
        for page in self.pages:
            if not page.is_closed():
                found += page.evaluate("() => window.__cspViolations || []")
        return found


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def new_context(browser: Browser, problems: Problems) -> Iterator[Callable[..., BrowserContext]]:
    """``new_context(locale="de-DE", ...)``: a new context, closed after the test;
    ``in_browser=`` picks another browser than the session's."""
    contexts: list[BrowserContext] = []

    def make(*, in_browser: Browser | None = None, **options: Any) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        context = (in_browser or browser).new_context(**options)
        context.set_default_timeout(10_000)
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        context.on("page", problems.watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def new_page(new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """``new_page(**context_options)``: a page in its own new context."""

    def make(**options: Any) -> Page:
        return new_context(**options).new_page()

    return make


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop page (1280 px wide, English)."""
    return new_page(locale="en-US")


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``screenshot(page, "result")`` saves test-artifacts/screenshots/<test>-result.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(page: Page, state: str) -> Path:
        path = SCREENSHOTS / f"{test}-{state}.png"
        # caret="initial": hiding the caret writes style attributes into the page's
        # fields, which htmx then copies onto the fields of a late swap, against the CSP.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take
