"""LTI 1.3 launches that pass: login -> the platform's auth -> launch -> the activity or picker.

The tool answers a verified launch with deeplink.handle or grading.handle; here
both are replaced by a recorder (conftest's ``handled``), so that these tests
see the Launch that the checks built, whatever the activity and the picker do
with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Browser, Page, Playwright, expect

from autograd_playground.serve.settings import Settings
from autograd_playground.web.lti import config, keys
from autograd_playground.web.lti.model import (
    AGS_CLAIM,
    CLAIM,
    CUSTOM_STATE,
    DEEP_LINKING,
    RESOURCE_LINK,
)
from autograd_playground.web.main import create_app
from tests.conftest import TestClient, run_on_own_loop, until
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.lti.conftest import TOOL_SETTINGS
from tests.lti.platform import new_key

PRIVATE_PARTS = {"d", "p", "q", "dp", "dq", "qi", "oth"}


def test_a_resource_link_launch_reaches_the_activity(launch, handled, platform, tool):
    state = "f=x**2&x=3&mode=exercise&lang=de"
    answer = launch(custom={CUSTOM_STATE: state}, ags=True, locale="de-DE", user="u-42")
    assert answer.status_code == 200, answer.text
    assert answer.text == f"handled {RESOURCE_LINK}"
    [seen] = handled
    assert (seen.issuer, seen.client_id, seen.deployment_id) == (
        platform.issuer, platform.client_id, platform.deployment_id)
    assert seen.message_type == RESOURCE_LINK
    assert (seen.user, seen.locale, seen.resource_link) == ("u-42", "de-DE", "link-1")
    assert seen.custom == {CUSTOM_STATE: state}
    assert seen.ags is not None and seen.ags["lineitem"].endswith("/lineitems/link-1")
    assert seen.claims[AGS_CLAIM] == seen.ags
    assert seen.deep_linking is None


def test_a_deep_linking_request_reaches_the_picker(launch, handled):
    answer = launch(message_type=DEEP_LINKING)
    assert answer.status_code == 200, answer.text
    [seen] = handled
    assert seen.message_type == DEEP_LINKING
    assert seen.deep_linking is not None
    assert seen.deep_linking["deep_link_return_url"].endswith("/deep_link_return")
    assert seen.deep_linking["data"] == "platform-data-1"


def test_the_login_redirects_to_the_platform_with_what_oidc_asks(platform, tool):
    hint = platform.prepare()
    with httpx.Client() as client:
        login = client.get(f"{tool.url}/lti/login", params=platform.login_params(hint))
    assert login.status_code == 302
    where = urlsplit(login.headers["location"])
    assert f"{where.scheme}://{where.netloc}{where.path}" == f"{platform.url}/auth"
    query = {k: v[0] for k, v in parse_qs(where.query).items()}
    assert {k: query[k] for k in ("scope", "response_type", "response_mode", "prompt")} == {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none"}
    assert query["client_id"] == platform.client_id
    assert query["redirect_uri"] == f"{tool.url}/lti/launch"
    assert query["login_hint"] == "student-1"
    assert query["lti_message_hint"] == hint
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["state"] != query["nonce"]
    # On plain http the state's cookie is SameSite=Lax, for the launch only (docs/lti.md).
    cookie = login.headers["set-cookie"]
    assert cookie.startswith(f"lti_state_{query['state']}={query['state']};")
    lowered = cookie.lower()
    assert "path=/lti/launch" in lowered and "httponly" in lowered and "samesite=lax" in lowered
    assert "secure" not in lowered and "partitioned" not in lowered


def test_the_login_is_also_a_post(platform, tool):
    hint = platform.prepare()
    with httpx.Client() as client:
        login = client.post(f"{tool.url}/lti/login", data=platform.login_params(hint))
    assert login.status_code == 302
    assert login.headers["location"].startswith(f"{platform.url}/auth?")


def test_the_state_cookie_is_partitioned_and_secure_over_https(platform, tool):
    """Served over https, the cookie comes back in a cross-site iframe (CHIPS)."""
    settings = Settings(**TOOL_SETTINGS, lti_config=str(tool.config))
    params = platform.login_params(platform.prepare(),
                                   target="https://tool.example.org/lti/launch")
    with TestClient(create_app(settings), base_url="https://tool.example.org") as client:
        login = client.get("/lti/login", params=params, follow_redirects=False)
    assert login.status_code == 302, login.text
    query = parse_qs(urlsplit(login.headers["location"]).query)
    assert query["redirect_uri"] == ["https://tool.example.org/lti/launch"]
    cookie = login.headers["set-cookie"]
    assert cookie.endswith("; Max-Age=600; Path=/lti/launch; HttpOnly; Secure; SameSite=None; "
                           "Partitioned")


def test_the_jwks_publishes_the_public_key_only(tool):
    answer = httpx.get(f"{tool.url}/lti/jwks")
    assert answer.status_code == 200
    [key] = answer.json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert not PRIVATE_PARTS & key.keys()
    assert {"n", "e", "kid"} <= key.keys()
    # What the tool signs (a deep-linking answer, a client assertion) verifies with it.
    token = keys.sign(tool.lti.tool, {"iss": "me", "aud": "you"})
    decoded = jwt.decode(token, KeySet.import_key_set(answer.json()), algorithms=["RS256"])
    assert decoded.header == {"alg": "RS256", "kid": key["kid"], "typ": "JWT"}
    assert decoded.claims == {"iss": "me", "aud": "you"}


def test_only_the_lti_routes_may_be_framed_by_the_platform(platform, tool):
    lti = httpx.get(f"{tool.url}/lti/jwks").headers["content-security-policy"]
    assert f"frame-ancestors {platform.url}" in lti
    assert f"form-action 'self' {platform.url}" in lti
    page = httpx.get(f"{tool.url}/healthz").headers["content-security-policy"]
    assert "frame-ancestors 'self'" in page and platform.url not in page


def test_without_a_configuration_every_lti_route_is_missing(client):
    for method, path in (("GET", "/lti/login"), ("POST", "/lti/login"),
                         ("POST", "/lti/launch"), ("GET", "/lti/jwks")):
        assert client.request(method, path).status_code == 404, path


def test_no_log_line_carries_the_token_a_name_or_an_address(authorize, handled):
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    keep = Keep()
    loggers = [logging.getLogger(name) for name in ("playground.access", "autograd_playground")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(keep)
        logger.setLevel(logging.INFO)
    try:
        authorized = authorize(user="user-7f3a")
        assert authorized.post().status_code == 200
        assert authorized.post().status_code == 403  # a refusal's line too
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(keep)
            logger.setLevel(level)
    assert any('"route": "/lti/launch"' in line for line in lines)
    assert any("LTI launch refused" in line for line in lines)
    text = "\n".join(lines)
    for secret in (authorized.fields["id_token"], authorized.fields["state"], "Ada",
                   "ada@school.example", "user-7f3a"):
        assert secret not in text


# --- in a browser: the course page frames the launch ------------------------------------


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.mark.e2e
def test_a_course_page_frames_the_launch(page, platform, tool, handled):
    page.goto(f"{platform.url}/course/{platform.prepare(user='u-frame')}")
    expect(page.frame_locator("#tool").locator("body")).to_have_text(
        f"handled {RESOURCE_LINK}")
    assert [launch.user for launch in handled] == ["u-frame"]


@pytest.mark.e2e
def test_a_refusal_says_its_sentence_in_the_course_frame(page, platform, tool, handled):
    hint = platform.prepare(locale="de-DE", claims={CLAIM + "deployment_id": "deployment-2"})
    page.goto(f"{platform.url}/course/{hint}")
    expect(page.frame_locator("#tool").locator('[data-testid="error"]')).to_have_text(
        "Diese Bereitstellung des Werkzeugs ist beim Playground nicht registriert.")
    assert handled == []


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["/lti/jwks", "/healthz"])
def test_another_site_may_not_frame_the_lti_routes(page, platform, tool, path):
    """The registered platform may frame /lti/jwks, and a page of another site may not
    (http://localhost:port is another site than http://127.0.0.1:port); /healthz, like
    the rest of the app, keeps its own policy and is framed by neither."""
    src = quote(f"{tool.url}{path}", safe="")
    shown = {}
    for origin in (platform.url, platform.url.replace("127.0.0.1", "localhost")):
        page.goto(f"{origin}/frame?src={src}")  # waits for the frame's load, refused or not
        framed = page.frames[1]
        shown[origin] = framed.evaluate("() => document.body ? document.body.innerText : ''")
    platform_text, stranger_text = shown.values()
    body = httpx.get(f"{tool.url}{path}").text[:12]
    assert (body in platform_text) == (path == "/lti/jwks")
    assert body not in stranger_text


# --- the configuration and the platforms' keys, on their own ----------------------------


def registration_entry(**changes: Any) -> dict[str, Any]:
    return {
        "client_id": "c1", "auth_login_url": "https://lms.example.org/auth",
        "auth_token_url": "https://lms.example.org/token",
        "key_set_url": "https://keys.example.org/jwks", "private_key_file": "tool.pem",
        "deployment_ids": ["d1"], **changes,
    }


def write_tool_config(folder: Path, data: dict[str, Any]) -> Path:
    (folder / "tool.pem").write_bytes(new_key().as_pem(private=True))
    path = folder / "lti.json"
    path.write_text(json.dumps(data))
    return path


def test_the_config_reads_pylti1p3s_format(tmp_path):
    path = write_tool_config(tmp_path, {
        "https://lms.example.org": [registration_entry(), registration_entry(
            client_id="c2", default=True, deployment_ids=["d2", "d3"])],
        "https://other.example.org": registration_entry(key_set_url=None, key_set={"keys": []},
                                                        client_id="c3"),
    })
    tool = config.load(path)
    assert tool.find("https://lms.example.org", "c1").deployment_ids == ("d1",)
    assert tool.find("https://lms.example.org").client_id == "c2"  # the default
    assert tool.find("https://lms.example.org", "c9") is None
    assert tool.find("https://other.example.org").key_set == {"keys": []}
    assert tool.find("https://unknown.example.org") is None
    assert tool.origins() == ["https://keys.example.org", "https://lms.example.org",
                              "https://other.example.org"]
    assert tool.private_key.kid == tool.private_key.thumbprint()


@pytest.mark.parametrize("entry, problem", [
    (registration_entry(client_id=""), "missing client_id"),
    (registration_entry(key_set_url=None), "missing key_set_url or key_set"),
    (registration_entry(deployment_ids="d1"), "deployment_ids must be a list"),
], ids=["client_id", "keys", "deployments"])
def test_a_config_with_a_fault_says_which(tmp_path, entry, problem):
    path = write_tool_config(tmp_path, {"https://lms.example.org": entry})
    with pytest.raises(ValueError, match=problem):
        config.load(path)


def test_every_registration_names_the_same_key(tmp_path):
    path = write_tool_config(tmp_path, {
        "https://a.example.org": registration_entry(),
        "https://b.example.org": registration_entry(private_key_file="other.pem"),
    })
    (tmp_path / "other.pem").write_bytes(new_key().as_pem(private=True))
    with pytest.raises(ValueError, match="same private_key_file"):
        config.load(path)


def test_a_platforms_key_set_past_its_bound_is_refused():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"keys": [' + b" " * keys.MAX_JWKS_BYTES + b"]}")

    async def fetch() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            registration = config.Registration(
                "https://lms.example.org", "c1", "https://lms.example.org/auth",
                "https://lms.example.org/token", "https://lms.example.org/jwks", None, ("d1",))
            with pytest.raises(keys.KeyProblem, match="larger than"):
                await keys.PlatformKeys(http).key_set(registration, refetch=False)

    run_on_own_loop(fetch())


def test_a_slow_platform_holds_up_no_other_platforms_keys():
    release = asyncio.Event()
    served: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "slow.example.org":
            await release.wait()
        served.append(request.url.host)
        return httpx.Response(200, json={"keys": [new_key().as_dict(private=False)]})

    def registration(host: str) -> config.Registration:
        return config.Registration(f"https://{host}", "c1", f"https://{host}/auth",
                                   f"https://{host}/token", f"https://{host}/jwks", None, ("d1",))

    async def fetch() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            platform_keys = keys.PlatformKeys(http)
            slow = asyncio.create_task(platform_keys.key_set(registration("slow.example.org"),
                                                             refetch=False))
            await until(lambda: platform_keys.fetches == 1)  # the slow one is waiting
            fast = asyncio.create_task(platform_keys.key_set(registration("fast.example.org"),
                                                             refetch=False))
            await until(fast.done)
            assert served == ["fast.example.org"]
            release.set()
            await slow
            assert served == ["fast.example.org", "slow.example.org"]

    run_on_own_loop(fetch())


def test_the_lifespan_makes_the_lti_parts_and_closes_its_client(tool):
    app = create_app(Settings(**TOOL_SETTINGS, lti_config=str(tool.config)))
    with TestClient(app) as client:
        assert client.get("/lti/jwks").status_code == 200
        http = app.state.lti.http
        assert not http.is_closed
    assert http.is_closed
