"""Launches that fail a check: each gets a 4xx (or 503) page with one sentence, and
nothing is stored, nothing posted, no activity or picker reached.

"Nothing stored": the tool's store takes no write during the refused launch
(MemoryStore.writes; the login's own write came before). "Nothing posted": the
platform records no score and no deep-linking answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup

from autograd_playground.web.lti import errors
from autograd_playground.web.lti.model import CLAIM, DEEP_LINKING
from autograd_playground.web.lti.stores import StoreDown
from tests.lti.conftest import serve_tool
from tests.lti.platform import new_key


def sentence(answer: httpx.Response) -> str:
    found = BeautifulSoup(answer.text, "html.parser").select('[data-testid="error"] p')
    assert len(found) == 1, answer.text[:400]
    return found[0].get_text(strip=True)


@pytest.fixture
def nothing_kept(tool, platform, handled) -> Iterator[None]:
    """The test's refused launch writes nothing to the store and posts nothing."""
    scores, links = len(platform.scores), len(platform.deep_links)
    yield
    assert handled == []
    assert (len(platform.scores), len(platform.deep_links)) == (scores, links)


def refused(authorized, tool, status: int, text: str, **changes: str) -> None:
    """POST the launch (with ``changes``): ``status``, the sentence, no store write."""
    writes = tool.writes()
    answer = authorized.post(**changes)
    assert answer.status_code == status, answer.text[:400]
    assert sentence(answer) == text
    assert answer.headers["cache-control"] == "no-store"
    assert tool.writes() == writes


def test_a_bad_signature(authorize, tool, platform, nothing_kept):
    # Signed by a stranger's key under the platform's own kid.
    authorized = authorize(key=new_key(), header={"kid": platform.keys[-1].kid})
    refused(authorized, tool, 403, errors.BAD_TOKEN)


def test_a_token_cut_short(authorize, tool, nothing_kept):
    authorized = authorize()
    token = authorized.fields["id_token"]
    refused(authorized, tool, 403, errors.BAD_TOKEN, id_token=token[: len(token) // 2])


def test_an_unknown_kid_is_refused_after_one_refetch(authorize, tool, platform, nothing_kept):
    authorized = authorize(key=new_key())
    fetches = platform.jwks_fetches
    refused(authorized, tool, 403, errors.BAD_TOKEN)
    assert platform.jwks_fetches == fetches + 1


def test_a_rotated_key_is_fetched_once_and_then_kept(authorize, tool, platform, handled):
    platform.rotate()
    fetches = platform.jwks_fetches
    assert authorize().post().status_code == 200
    assert authorize().post().status_code == 200
    assert platform.jwks_fetches == fetches + 1
    assert len(handled) == 2


@pytest.mark.parametrize("claims", [
    {"aud": "another-tool"},
    {"aud": ["another-tool", "and-another"]},
    {"aud": ["playground-tool", "another-tool"]},  # several audiences and no azp
    {"aud": ["playground-tool", "another-tool"], "azp": "another-tool"},
    {"azp": "another-tool"},
    {"iss": "https://impostor.example.org"},
], ids=["aud", "aud-list", "no-azp", "azp-list", "azp", "iss"])
def test_a_token_for_someone_else(authorize, tool, nothing_kept, claims):
    refused(authorize(claims=claims), tool, 403, errors.BAD_CLAIMS)


def test_several_audiences_with_our_azp_pass(authorize, handled):
    claims = {"aud": ["playground-tool", "another-tool"], "azp": "playground-tool"}
    assert authorize(claims=claims).post().status_code == 200
    assert len(handled) == 1


@pytest.mark.parametrize("claims", [
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000},
    {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 4000},
    {"exp": "tomorrow"},
], ids=["expired", "issued-in-the-future", "exp-not-a-number"])
def test_a_token_out_of_its_time(authorize, tool, nothing_kept, claims):
    refused(authorize(claims=claims), tool, 403, errors.BAD_CLAIMS)


def test_a_token_within_the_leeway_passes(authorize, handled):
    now = int(time.time())
    assert authorize(claims={"exp": now - 20, "iat": now + 20}).post().status_code == 200


def test_a_replayed_launch(authorize, tool, platform, handled):
    authorized = authorize()
    assert authorized.post().status_code == 200
    assert len(handled) == 1
    refused(authorized, tool, 403, errors.REPLAYED)
    assert len(handled) == 1


def test_a_nonce_not_the_logins(authorize, tool, nothing_kept):
    refused(authorize(claims={"nonce": "a-nonce-of-another-login"}), tool, 403, errors.BAD_CLAIMS)


def test_an_unknown_deployment(authorize, tool, nothing_kept):
    authorized = authorize(claims={CLAIM + "deployment_id": "deployment-2"})
    refused(authorized, tool, 403, errors.UNKNOWN_DEPLOYMENT)


@pytest.mark.parametrize("claims", [
    {CLAIM + "message_type": "LtiSubmissionReviewRequest"},
    {CLAIM + "version": "1.1"},
    {CLAIM + "resource_link": {"title": "no id"}},
    {CLAIM + "message_type": DEEP_LINKING},  # without its deep_linking_settings
], ids=["type", "version", "no-resource-link-id", "no-deep-link-settings"])
def test_a_message_the_tool_does_not_take(authorize, tool, nothing_kept, claims):
    refused(authorize(claims=claims), tool, 403, errors.BAD_MESSAGE)


def test_a_target_link_uri_not_the_logins(authorize, tool, nothing_kept):
    claims = {CLAIM + "target_link_uri": "http://127.0.0.1:9/elsewhere"}
    refused(authorize(claims=claims), tool, 403, errors.BAD_CLAIMS)


def test_a_wrong_state(authorize, tool, nothing_kept):
    refused(authorize(), tool, 403, errors.NO_LOGIN, state="a-state-no-login-made")


def test_a_state_from_another_browser(authorize, tool, nothing_kept):
    """The other browser's state is real, but this browser has no cookie for it."""
    mine, theirs = authorize(), authorize()
    refused(mine, tool, 403, errors.NO_COOKIE, state=theirs.fields["state"])


def test_a_launch_without_login_initiation(tool, platform, nothing_kept):
    hint = platform.prepare()
    token = platform.id_token(hint, "a-nonce", f"{tool.url}/lti/launch")
    writes = tool.writes()
    answer = httpx.post(f"{tool.url}/lti/launch", data={"id_token": token, "state": "made-up"})
    assert answer.status_code == 403
    assert sentence(answer) == errors.NO_LOGIN
    assert tool.writes() == writes


def test_a_launch_with_no_token(tool, nothing_kept):
    answer = httpx.post(f"{tool.url}/lti/launch", data={"state": "x"})
    assert answer.status_code == 400
    assert sentence(answer) == errors.NO_LOGIN


def test_a_refusal_speaks_the_launchs_language(authorize, tool, nothing_kept):
    authorized = authorize(locale="de-DE", claims={CLAIM + "deployment_id": "deployment-2"})
    answer = authorized.post()
    assert answer.status_code == 403
    assert sentence(answer) == "Diese Bereitstellung des Werkzeugs ist beim Playground nicht registriert."
    assert answer.headers["content-language"] == "de"


def test_a_login_from_an_unknown_platform(tool, platform):
    params = {**platform.login_params(platform.prepare()), "iss": "https://unknown.example.org"}
    answer = httpx.get(f"{tool.url}/lti/login", params=params)
    assert answer.status_code == 403
    assert sentence(answer) == errors.NOT_REGISTERED
    assert "set-cookie" not in answer.headers


def test_a_login_with_another_client_id(tool, platform):
    params = {**platform.login_params(platform.prepare()), "client_id": "another-tool"}
    assert httpx.get(f"{tool.url}/lti/login", params=params).status_code == 403


def test_a_login_for_another_site(tool, platform):
    params = platform.login_params(platform.prepare(), target="https://evil.example.org/x")
    answer = httpx.get(f"{tool.url}/lti/login", params=params)
    assert answer.status_code == 400
    assert sentence(answer) == errors.BAD_LOGIN


class Down:
    """A store that cannot be reached."""

    writes = 0

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: Any) -> None:
            raise StoreDown("down")

        return fail


def test_a_store_that_is_down_fails_closed(authorize, tool, platform, nothing_kept, monkeypatch):
    authorized = authorize()  # the login's state was kept while the store was up
    monkeypatch.setattr(tool.lti, "store", Down())
    answer = authorized.post()
    assert answer.status_code == 503
    assert sentence(answer) == errors.STORE_DOWN
    login = httpx.get(f"{tool.url}/lti/login", params=platform.login_params(platform.prepare()))
    assert login.status_code == 503
    assert sentence(login) == errors.STORE_DOWN
    assert "set-cookie" not in login.headers


def test_a_launch_body_past_the_limit_is_refused_unread(tool):
    limit = tool.app.state.settings.max_body_bytes
    writes = tool.writes()
    declared = httpx.post(f"{tool.url}/lti/launch",
                          data={"id_token": "x" * limit, "state": "s"})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: BodyLimit stops the reading
        yield b"state=s&id_token="
        for _ in range(limit // 8192 + 2):
            yield b"x" * 8192

    chunked = httpx.post(f"{tool.url}/lti/launch", content=chunks(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert chunked.status_code == 413
    assert tool.writes() == writes


def test_the_login_and_launch_are_rate_limited(platform, tmp_path):
    with serve_tool(platform, tmp_path, rate_limit_burst=3, rate_limit_per_minute=1) as tool:
        params = platform.login_params(platform.prepare())
        statuses = [httpx.get(f"{tool.url}/lti/login", params=params).status_code
                    for _ in range(3)]
        assert statuses == [302, 302, 302]
        assert httpx.post(f"{tool.url}/lti/launch", data={"state": "s"}).status_code == 429
        assert httpx.get(f"{tool.url}/lti/jwks").status_code == 200  # not limited
        # The picker's choice and a graded answer compute: limited as well, before any work.
        for path in ("/lti/deeplink", "/lti/answer", "/lti/finish"):
            assert httpx.post(f"{tool.url}{path}", data={"x": "1"}).status_code == 429, path


@pytest.mark.parametrize("field, size", [
    ("target_link_uri", 20_000), ("login_hint", 5_000), ("lti_message_hint", 5_000),
])
def test_a_login_with_an_overlong_field(tool, platform, field, size):
    params = platform.login_params(platform.prepare())
    params[field] = (params[field] + "x" * size) if field == "target_link_uri" else "h" * size
    writes = tool.writes()
    answer = httpx.post(f"{tool.url}/lti/login", data=params)
    assert answer.status_code == 400
    assert sentence(answer) == errors.BAD_LOGIN
    assert tool.writes() == writes
