"""LTI 1.3 launches that pass: login -> the platform's auth -> launch -> the activity or picker.

The tool answers a verified launch with deeplink.handle or grading.handle; here
both are replaced by a recorder (conftest's ``handled``), so that these tests
see the Launch that the checks built, whatever the activity and the picker do
with it.
"""

from __future__ import annotations

import logging

from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from autograd_playground.serve.settings import Settings
from autograd_playground.web.lti import keys
from autograd_playground.web.lti.model import (
    AGS_CLAIM,
    CUSTOM_STATE,
    DEEP_LINKING,
    RESOURCE_LINK,
)
from autograd_playground.web.main import create_app
from tests.conftest import TestClient
from tests.lti.conftest import TOOL_SETTINGS

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
