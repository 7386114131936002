"""Deep linking: the picker a teacher sees in the platform's dialog, and the signed answer.

The claims are read back from the signed response, verified against the tool's
own JWKS (/lti/jwks), as a platform reads them.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.requests import Request

from autograd_playground.serve.settings import Settings
from autograd_playground.web.lti import deeplink
from autograd_playground.web.lti.model import CUSTOM_ATTEMPTS, CUSTOM_STATE, DEEP_LINKING, Launch
from autograd_playground.web.main import create_app
from autograd_playground.web.state import from_query
from tests.conftest import IN_PROCESS
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

ISSUER = "https://platform.example.org"
CLIENT_ID = "tool-1"
DEPLOYMENT = "deployment-1"
RETURN_URL = "https://platform.example.org/deep-link/return?course=7"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LESSON = "5*x**3 + 2*x**2 + 4*x + 8"


def write_config(folder: Path) -> Path:
    """A tool configuration of one platform whose keys are given inline (nothing fetched)."""
    key = RSAKey.generate_key(2048)
    (folder / "private.pem").write_bytes(key.as_pem(private=True))
    platform = RSAKey.generate_key(2048, parameters={"kid": "platform-1"})
    config = {ISSUER: [{
        "client_id": CLIENT_ID,
        "auth_login_url": ISSUER + "/auth",
        "auth_token_url": ISSUER + "/token",
        "key_set": {"keys": [platform.as_dict(private=False)]},
        "private_key_file": "private.pem",
        "deployment_ids": [DEPLOYMENT],
    }]}
    path = folder / "tool.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def client(tmp_path: Path, clean_env: None) -> Iterator[TestClient]:
    settings = Settings(**IN_PROCESS, lti_config=str(write_config(tmp_path)))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def dialog(**settings: Any) -> Launch:
    """A verified deep-linking launch, with the settings claim given (defaults otherwise)."""
    claim = {"deep_link_return_url": RETURN_URL, "accept_types": ["ltiResourceLink"],
             "accept_presentation_document_targets": ["iframe", "window"], **settings}
    return Launch(issuer=ISSUER, client_id=CLIENT_ID, deployment_id=DEPLOYMENT,
                  message_type=DEEP_LINKING, user="teacher-7", locale="en-US",
                  resource_link=None, deep_linking=claim)


def opened(client: TestClient, verified: Launch) -> Any:
    """The answer of deeplink.handle to a launch (as routes.py calls it after its checks)."""
    scope = {"type": "http", "app": client.app, "method": "POST", "path": "/lti/launch",
             "headers": [(b"accept-language", b"en")], "query_string": b""}
    return client.portal.call(deeplink.handle, Request(scope), verified)


def picker(client: TestClient, verified: Launch | None = None) -> BeautifulSoup:
    response = opened(client, verified or dialog(data="opaque-7"))
    assert response.status_code == 200
    return BeautifulSoup(response.body, "html.parser")


def key_of(page: BeautifulSoup) -> str:
    return page.select_one("input[name=lti-context]")["value"]


def choose(client: TestClient, key: str, expr: str = LESSON, mode: str = "exercise",
           **fields: str) -> Any:
    form = {"lti-context": key, "expr": expr, "lti-mode": mode, "lti-lang": "de",
            "lti-title": "Gradients of a cubic", "lti-attempts": "2", "x": "2", **fields}
    return client.post("/lti/deeplink", data=form)


def claims_of(client: TestClient, response: Any) -> dict[str, Any]:
    """The signed response of the answer page, verified against the tool's JWKS."""
    page = BeautifulSoup(response.text, "html.parser")
    form = page.select_one("form[data-autosubmit]")
    assert form["action"] == RETURN_URL and form["method"] == "post"
    token = form.select_one("input[name=JWT]")["value"]
    keys = KeySet.import_key_set(client.get("/lti/jwks").json())
    return dict(jwt.decode(token, keys, algorithms=["RS256"]).claims)


# --- the picker -------------------------------------------------------------------------------


def test_the_picker_carries_a_key_not_the_platforms_context(client):
    page = picker(client)
    form = page.select_one("form[data-testid=picker]")
    assert form["action"] == "/lti/deeplink" and form["method"] == "post"
    assert len(key_of(page)) == deeplink.KEY_CHARS
    html = str(page)
    assert RETURN_URL not in html and "opaque-7" not in html and ISSUER not in html
    # The playground's own value fields, refreshed by /fields as the function is typed.
    assert page.select_one("#fields [data-testid=value-x]")["value"] == "2"
    assert page.select_one("textarea#expr")["hx-get"] == "/fields"
    modes = [i["value"] for i in page.select("input[name=lti-mode]")]
    assert modes == ["walkthrough", "exercise", "order"]


def test_the_picker_speaks_the_launchs_language(client):
    page = picker(client, dataclasses.replace(dialog(), locale="de-DE"))
    assert page.select_one("html")["lang"] == "de"
    assert page.select_one("[data-testid=picker-add]").get_text(strip=True) == "Zum Kurs hinzufügen"


def test_a_platform_that_takes_no_resource_link_is_told_so(client):
    response = opened(client, dialog(accept_types=["file", "html"]))
    assert response.status_code == 400 and response.sentence == deeplink.NO_RESOURCE_LINK
    assert not client.app.state.lti.store.entries  # nothing kept


# --- the signed answer ------------------------------------------------------------------------


def test_an_exercise_is_a_resource_link_with_a_line_item(client):
    response = choose(client, key_of(picker(client)))
    assert response.status_code == 200
    claims = claims_of(client, response)
    assert claims["iss"] == CLIENT_ID and claims["aud"] == ISSUER
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == DEPLOYMENT
    assert claims[DL + "data"] == "opaque-7"
    assert 0 < claims["exp"] - claims["iat"] <= 600 and len(claims["nonce"]) >= 16
    [item] = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["title"] == "Gradients of a cubic"
    assert item["url"] == "http://testserver/lti/launch"
    assert item["custom"][CUSTOM_ATTEMPTS] == "2"
    # By hand: ((5x³ + 2x²) + 4x) + 8 runs 3 AddBackward0, 3 MulBackward0, 2 PowBackward0
    # and x's AccumulateGrad, each sending on single numbers: 9 questions.
    line = item["lineItem"]
    assert line["scoreMaximum"] == 9
    assert line["label"] == "Gradients of a cubic" and line["tag"] == "exercise"
    assert line["resourceId"].startswith("playground-")


def test_the_custom_state_is_the_share_links_query(client):
    response = choose(client, key_of(picker(client)))
    [item] = claims_of(client, response)[DL + "content_items"]
    state = item["custom"][CUSTOM_STATE]
    assert parse_qs(state) == {"expr": [LESSON], "x": ["2"], "lang": ["de"], "exercise": ["1"]}
    assert state == from_query(parse_qs(state)).query()  # as PageState writes it


def test_tensor_steps_ask_no_question(client):
    # x*sum(v): MulBackward0 sends 3 and 2, x's AccumulateGrad gets 3 (two questions);
    # SumBackward0 sends [2, 2] and v's AccumulateGrad gets a tensor (none).
    response = choose(client, key_of(picker(client)), "x*sum(v)", v="[1, 2]")
    [item] = claims_of(client, response)[DL + "content_items"]
    assert item["lineItem"]["scoreMaximum"] == 2


def test_a_walk_through_has_no_line_item(client):
    response = choose(client, key_of(picker(client)), mode="order")
    [item] = claims_of(client, response)[DL + "content_items"]
    assert "lineItem" not in item
    assert parse_qs(item["custom"][CUSTOM_STATE])["order"] == ["2"]


def test_an_untitled_choice_is_named_by_its_function(client):
    response = choose(client, key_of(picker(client)), "x**2", mode="walkthrough", **{"lti-title": " "})
    [item] = claims_of(client, response)[DL + "content_items"]
    assert item["title"] == "y = x**2"


def test_data_is_left_out_when_the_platform_sent_none(client):
    response = choose(client, key_of(picker(client, dialog())))
    assert DL + "data" not in claims_of(client, response)


# --- what is refused --------------------------------------------------------------------------


def test_a_function_that_does_not_compute_shows_the_picker_again(client):
    key = key_of(picker(client))
    response = choose(client, key, "5*x**", mode="walkthrough")
    assert response.status_code == 422
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("[data-testid=error]").get_text(strip=True)
    assert page.select_one("textarea#expr").get_text() == "5*x**"
    assert key_of(page) == key  # the same dialog: corrected, it can still be sent
    # The value fields are the function's; the picker's own fields are none of them.
    assert [i["name"] for i in page.select("#fields input[type=text]")] == ["x"]
    assert str(page).count(key) == 1
    assert choose(client, key).status_code == 200


def test_an_exercise_without_questions_is_refused_with_a_sentence(client):
    response = choose(client, key_of(picker(client)), "sum(v)", v="[1, 2]")
    assert response.status_code == 422
    assert "would ask no questions" in response.text
    assert "JWT" not in response.text


def test_attempts_out_of_range_are_refused_with_a_sentence(client):
    response = choose(client, key_of(picker(client)), **{"lti-attempts": "0"})
    assert response.status_code == 422
    assert "whole number from 1 to 10" in response.text


@pytest.mark.parametrize("key", ["", "x" * deeplink.KEY_CHARS, "forged"])
def test_an_unknown_key_is_refused_and_nothing_is_signed(client, key):
    response = choose(client, key)
    assert response.status_code == 400
    assert "already sent, or it waited too long" in response.text
    assert "JWT" not in response.text


def test_a_key_is_answered_once(client):
    key = key_of(picker(client))
    assert choose(client, key).status_code == 200
    again = choose(client, key)
    assert again.status_code == 400 and "JWT" not in again.text


def test_a_store_that_is_down_refuses_the_dialog(client, monkeypatch):
    from autograd_playground.web.lti.stores import StoreDown

    async def down(*args: Any) -> None:
        raise StoreDown("no connection")

    monkeypatch.setattr(client.app.state.lti.store, "put", down)
    response = opened(client, dialog())
    assert response.status_code == 503


def test_the_answer_may_post_to_the_return_url_only(client):
    response = choose(client, key_of(picker(client)))
    policy = response.headers["content-security-policy"]
    action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert "https://platform.example.org" in action.split()
    assert response.headers["cache-control"] == "no-store"


def test_context_round_trips_through_the_store():
    context = deeplink.Context(RETURN_URL, ISSUER, CLIENT_ID, DEPLOYMENT, None, "de")
    assert deeplink.Context.loads(context.dumps()) == context


# --- end to end, with the loopback platform (tests/lti/platform.py) ---------------------------

# x**3 * sin(x) at 1.3, by hand: MulBackward0 sends sin(x) and x**3 on (one question),
# PowBackward0 and SinBackward0 one number each, x's AccumulateGrad one: 4 questions.
CUBIC_SINE = "x**3 * sin(x)"


def platform_dialog(launch: Callable[..., httpx.Response], **prepared: Any) -> BeautifulSoup:
    page = launch(message_type=DEEP_LINKING, user="teacher-" + secrets.token_hex(4), **prepared)
    assert page.status_code == 200, page.text
    return BeautifulSoup(page.text, "html.parser")


def send_choice(tool: Any, key: str, **fields: str) -> httpx.Response:
    form = {"lti-context": key, "expr": CUBIC_SINE, "x": "1.3", "rg": "1", "grad": "x",
            "lti-mode": "exercise", "lti-lang": "en", "lti-title": "", "lti-attempts": "3",
            **fields}
    return httpx.post(f"{tool.url}/lti/deeplink", data=form, timeout=30)


def back_to_platform(answer: httpx.Response) -> httpx.Response:
    """What the answer page's form does in a browser: POST the JWT to the return URL."""
    form = BeautifulSoup(answer.text, "html.parser").select_one("form[data-autosubmit]")
    token = form.select_one("input[name=JWT]")["value"]
    return httpx.post(form["action"], data={"JWT": token}, timeout=30)


def test_the_platform_verifies_the_answer_and_a_launch_opens_its_state(launch, tool, platform):
    key = key_of(platform_dialog(launch))
    answer = send_choice(tool, key)
    assert answer.status_code == 200, answer.text
    before = len(platform.deep_links)
    received = back_to_platform(answer)
    # The platform checked the signature against /lti/jwks, aud, nonce, type, version,
    # deployment and its data, and recorded the item.
    assert received.status_code == 200, received.text
    assert "Received 1 item(s)" in received.text
    [item] = platform.deep_links[before][DL + "content_items"]
    assert item["url"] == f"{tool.url}/lti/launch"
    assert item["lineItem"]["scoreMaximum"] == 4
    assert item["custom"][CUSTOM_ATTEMPTS] == "3"
    assert parse_qs(item["custom"][CUSTOM_STATE]) == {
        "expr": [CUBIC_SINE], "x": ["1.3"], "lang": ["en"], "exercise": ["1"]}
    # The link, launched as the platform launches it: the activity of that state.
    activity = launch(custom=item["custom"], ags=True, user="student-" + secrets.token_hex(4))
    assert activity.status_code == 200, activity.text
    assert CUBIC_SINE in BeautifulSoup(activity.text, "html.parser").get_text()


def test_a_replayed_or_forged_choice_is_refused_and_nothing_is_signed(launch, tool, platform):
    key = key_of(platform_dialog(launch))
    assert send_choice(tool, key).status_code == 200
    for replayed in (key, "forged-" + key[7:], ""):
        refused = send_choice(tool, replayed)
        assert refused.status_code == 400
        assert "already sent, or it waited too long" in refused.text
        assert "JWT" not in refused.text


def test_the_picker_may_be_framed_by_the_platform_only(launch, tool, platform):
    page = launch(message_type=DEEP_LINKING, user="teacher-" + secrets.token_hex(4))
    policy = page.headers["content-security-policy"]
    ancestors = next(d for d in policy.split(";") if d.strip().startswith("frame-ancestors"))
    assert ancestors.split()[1:] == [platform.url]


@pytest.mark.e2e
def test_a_teacher_picks_an_exercise_in_the_platforms_dialog(platform, tool, playwright):
    hint = platform.prepare(message_type=DEEP_LINKING, user="teacher-" + secrets.token_hex(4))
    before = len(platform.deep_links)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{platform.url}/course/{hint}")
        frame = page.frame_locator("#tool")
        # Typed as a teacher types it: the value fields follow the function (htmx).
        frame.locator("textarea#expr").fill(CUBIC_SINE)
        frame.locator("[data-testid=value-x]").wait_for()
        frame.locator("[data-testid=value-x]").fill("1.3")
        frame.locator("[data-testid=mode-exercise]").check()
        frame.locator("[data-testid=picker-attempts]").fill("2")
        frame.locator("[data-testid=picker-title]").fill("Cubic times sine")
        frame.locator("[data-testid=picker-add]").click()
        # picker.js posts the signed answer back at once: the platform's page says so.
        frame.locator("[data-testid=received]").wait_for()
        assert errors == []
    finally:
        browser.close()
    [item] = platform.deep_links[before][DL + "content_items"]
    assert item["title"] == "Cubic times sine"
    assert item["lineItem"] == {"scoreMaximum": 4, "label": "Cubic times sine",
                                "resourceId": item["lineItem"]["resourceId"], "tag": "exercise"}
    assert item["custom"][CUSTOM_ATTEMPTS] == "2"
    assert parse_qs(item["custom"][CUSTOM_STATE])["expr"] == [CUBIC_SINE]


@pytest.mark.e2e
@pytest.mark.parametrize("width, height, locale", [(800, 600, "en"), (375, 740, "de")])
def test_the_picker_fits_a_dialog_without_sideways_scroll(platform, tool, width, height, locale, playwright):
    hint = platform.prepare(message_type=DEEP_LINKING, locale=locale,
                            user="teacher-" + secrets.token_hex(4))
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(15_000)
        page.goto(f"{tool.url}/lti/login?" + urlencode(platform.login_params(hint)))
        page.locator("[data-testid=mode-exercise]").check()
        page.locator("[data-testid=picker-attempts]").wait_for()
        sizes = page.evaluate("""() => ({
          scroll: document.documentElement.scrollWidth,
          right: Math.max(...[...document.querySelectorAll('.picker *')]
                            .map(e => e.getBoundingClientRect().right)),
        })""")
    finally:
        browser.close()
    assert sizes["scroll"] <= width
    assert sizes["right"] <= width - 4  # every part of the picker inside the frame
