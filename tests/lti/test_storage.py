"""The state through the platform's storage (LTI Client Side postMessages), where the
launch's cookie does not come back.

In Chromium, a platform on http://localhost:port frames a tool on
http://127.0.0.1:port: another site, so the SameSite=Lax cookie of plain http
stays home on the launch's cross-site POST, as a blocked third-party cookie
would. The launch then goes through the platform's storage, or is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from autograd_playground.web.lti import errors
from autograd_playground.web.lti.model import RESOURCE_LINK
from autograd_playground.web.lti.storage import FIELD
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.lti.conftest import Tool, auth_form, free_port, serve_tool
from tests.lti.platform import Platform, Served
from tests.lti.test_negative import sentence

NOT_CONFIRMED = ("The course platform did not confirm this launch; open the activity again, "
                 "or in a new window.")


def data_of(html: str) -> dict[str, str]:
    found = re.search(r'<div id="lti-storage"[^>]*>', html)
    assert found, html[:500]
    return {k: unescape(v) for k, v in re.findall(r'data-([a-z]+)="([^"]*)"', found.group(0))}


def test_a_login_with_a_storage_target_puts_the_state_there_first(platform, tool):
    hint = platform.prepare(storage=True)
    login = httpx.get(f"{tool.url}/lti/login", params=platform.login_params(hint))
    assert login.status_code == 200
    assert login.headers["cache-control"] == "no-store"
    data = data_of(login.text)
    assert data["mode"] == "put" and data["target"] == "_parent"
    assert data["origin"] == platform.url  # the auth URL's origin: where postMessage goes
    state = data["value"]
    assert data["key"] == f"lti_state_{state}"
    assert data["redirect"].startswith(f"{platform.url}/auth?") and f"state={state}" in (
        data["redirect"])
    assert login.headers["set-cookie"].startswith(f"lti_state_{state}={state};")  # both


def storage_launch(platform: Platform, tool: Tool) -> tuple[httpx.Client, str, dict[str, str]]:
    """Login with a storage target and the platform's auth, in a browser without the cookie."""
    browser = httpx.Client()
    hint = platform.prepare(storage=True)
    data = data_of(browser.get(f"{tool.url}/lti/login", params=platform.login_params(hint)).text)
    browser.cookies.clear()
    action, fields = auth_form(browser.get(data["redirect"]).text)
    return browser, action, fields


def test_without_the_cookie_the_launch_asks_the_platforms_storage(platform, tool, handled):
    browser, action, fields = storage_launch(platform, tool)
    writes = tool.writes()
    answer = browser.post(action, data=fields)
    assert answer.status_code == 200
    data = data_of(answer.text)
    assert data["mode"] == "get" and data["key"] == f"lti_state_{fields['state']}"
    assert (data["token"], data["state"], data["action"]) == (
        fields["id_token"], fields["state"], "/lti/launch")
    assert tool.writes() == writes and handled == []
    # What the page's script submits once the platform gave the state back:
    again = browser.post(action, data={**fields, FIELD: fields["state"]},
                         headers={"Sec-Fetch-Site": "same-origin"})
    assert again.status_code == 200 and again.text == f"handled {RESOURCE_LINK}"
    assert len(handled) == 1
    browser.close()


@pytest.mark.parametrize("value", ["another-state", ""], ids=["another-value", "empty"])
def test_a_storage_answer_that_is_not_the_state_is_refused(platform, tool, handled, value):
    browser, action, fields = storage_launch(platform, tool)
    writes = tool.writes()
    answer = browser.post(action, data={**fields, FIELD: value},
                          headers={"Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 403 and sentence(answer) == errors.NO_COOKIE
    assert tool.writes() == writes and handled == []
    browser.close()


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "http://localhost:1"},  # a browser without Sec-Fetch-*: the Origin decides
    {"Origin": "null"},
    {},  # neither: nothing says that the page was ours
], ids=["cross-site", "same-site", "other-origin", "null-origin", "no-headers"])
def test_another_site_cannot_send_the_storage_field(platform, tool, handled, headers):
    browser, action, fields = storage_launch(platform, tool)
    answer = browser.post(action, data={**fields, FIELD: fields["state"]}, headers=headers)
    assert answer.status_code == 403 and sentence(answer) == errors.NO_COOKIE
    assert handled == []
    browser.close()


def test_a_browser_without_sec_fetch_headers_is_known_by_its_origin(platform, tool, handled):
    browser, action, fields = storage_launch(platform, tool)
    answer = browser.post(action, data={**fields, FIELD: fields["state"]},
                          headers={"Origin": tool.url})
    assert answer.status_code == 200 and answer.text == f"handled {RESOURCE_LINK}"
    browser.close()


def test_the_field_does_not_stand_for_a_cookie_when_the_login_used_none(authorize, tool,
                                                                           handled):
    authorized = authorize()
    authorized.client.cookies.clear()
    answer = authorized.client.post(
        authorized.action, data={**authorized.fields, FIELD: authorized.fields["state"]},
        headers={"Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 403 and sentence(answer) == errors.NO_COOKIE
    assert handled == []


# --- in Chromium, across sites ---------------------------------------------------------


@pytest.fixture(scope="module")
def other_site(tmp_path_factory) -> Iterator[tuple[Platform, Tool]]:
    """A platform on http://localhost:port and a tool registered with it (127.0.0.1)."""
    platform = Platform()
    port = free_port()
    platform.url = f"http://localhost:{port}"
    with Served(platform.app(), port), serve_tool(
            platform, tmp_path_factory.mktemp("other-site")) as tool:
        yield platform, tool


@pytest.fixture
def page(playwright: Playwright) -> Iterator[Page]:
    # The tool's frame in the page's own process: Playwright can lose an out-of-process
    # frame that navigates while a locator resolves it, and then waits past any timeout
    # (seen under load). Cookies and postMessage between the two sites are as before.
    browser: Browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--disable-site-isolation-trials"],
        headless=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    yield context.new_page()
    browser.close()


@pytest.mark.e2e
def test_a_cross_site_launch_goes_through_the_platforms_storage(page, other_site, handled):
    platform, tool = other_site
    page.goto(f"{platform.url}/course/{platform.prepare(storage=True, user='u-storage')}")
    expect(page.frame_locator("#tool").locator("body")).to_have_text(f"handled {RESOURCE_LINK}")
    assert [launch.user for launch in handled] == ["u-storage"]
    log = page.evaluate("() => window.storageLog")
    assert [subject for subject, _ in log] == ["lti.put_data", "lti.get_data"]
    assert log[0][1] == log[1][1]  # the same key, put at login and read at launch


@pytest.mark.e2e
def test_a_cross_site_launch_without_the_cookie_or_storage_is_refused(page, other_site,
                                                                       handled):
    platform, tool = other_site
    writes = tool.writes()
    page.goto(f"{platform.url}/course/{platform.prepare(storage=True)}?storage=off")
    expect(page.frame_locator("#tool").locator('[data-testid="error"]')).to_have_text(
        NOT_CONFIRMED)
    assert handled == []
    assert tool.writes() == writes + 1  # the login's state, and nothing after it
