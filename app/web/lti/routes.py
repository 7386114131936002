"""LTI 1.3's routes: login initiation, the launch, and the tool's public keys.

A launch is an OpenID Connect third-party login (LTI 1.3 core, 5.1):

1. the platform calls ``/lti/login`` with ``iss``, ``login_hint``,
   ``target_link_uri`` (and ``lti_message_hint``, ``client_id``);
2. the tool keeps a new ``state`` and ``nonce`` (stores.py), binds the state to
   the browser with a cookie for ``/lti/launch`` only, and redirects to the
   platform's auth URL;
3. the platform POSTs a signed ``id_token`` and the state to ``/lti/launch``;
4. the tool takes the state (once), checks the token's signature against the
   platform's JWKS (keys.py) and every claim (checks.py), marks the nonce used,
   and hands the :class:`~.model.Launch` to deeplink.handle or grading.handle.

A failed check answers with a page of one sentence (errors.py) before anything
is stored or posted; a store that is down refuses the launch (503).

The routes are a thin async layer over joserfc and httpx; no synchronous
framework adapter. They exist only when the ``lti_config`` setting names a
file (main.py), so without it every /lti route answers 404.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from ...serve.settings import Settings
from ..links import public_base_url
from . import deeplink, grading, storage
from .checks import LEEWAY, Failed, launch_of
from .config import ToolConfig
from .errors import (
    BAD_LOGIN,
    BAD_REQUEST,
    BAD_TOKEN,
    FORBIDDEN,
    NO_COOKIE,
    NO_LOGIN,
    NOT_REGISTERED,
    REPLAYED,
    STORE_DOWN,
    UNAVAILABLE,
    refuse,
)
from .forms import form_pairs
from .keys import KeyProblem, PlatformKeys, unverified_header
from .model import DEEP_LINKING
from .stores import MemoryStore, RedisStore, StoreDown

log = logging.getLogger(__name__)

LOGIN_PATH = "/lti/login"
LAUNCH_PATH = "/lti/launch"
JWKS_PATH = "/lti/jwks"
# Seconds between the login and the launch: the platform's auth step, a click at most.
LOGIN_TTL = 600
COOKIE_PREFIX = "lti_state_"
# At most this many form fields are read from a login or launch POST.
MAX_FIELDS = 64
# The longest login fields taken (a platform's hints are opaque ids or short JWTs);
# what is kept with the state, and the redirect to the platform, stay bounded.
FIELD_CHARS = {"iss": 1024, "client_id": 1024, "target_link_uri": 2048, "login_hint": 4096,
               "lti_message_hint": 4096}


@dataclass
class Lti:
    """What the LTI routes share, made once in the app's lifespan (main.py)."""

    tool: ToolConfig
    store: MemoryStore | RedisStore
    http: httpx.AsyncClient
    settings: Settings
    keys: PlatformKeys = field(init=False)

    def __post_init__(self) -> None:
        self.keys = PlatformKeys(self.http)

    async def close(self) -> None:
        await self.http.aclose()
        await self.store.close()


async def lti(request: Request) -> Lti:
    return request.app.state.lti


LtiDep = Annotated[Lti, Depends(lti)]

router = APIRouter()
router.include_router(deeplink.router)
router.include_router(grading.router)


@router.api_route(LOGIN_PATH, methods=["GET", "POST"], summary="LTI 1.3 login initiation")
async def login(request: Request, lti: LtiDep) -> Response:
    params = {**request.query_params, **(await form_of(request))}
    issuer, hint, target = (params.get(n, "") for n in ("iss", "login_hint", "target_link_uri"))
    too_long = any(len(params.get(name, "")) > most for name, most in FIELD_CHARS.items())
    if not (issuer and hint and target) or too_long:
        return refuse(BAD_REQUEST, BAD_LOGIN)
    registration = lti.tool.find(issuer, params.get("client_id") or None)
    if registration is None:
        log.info("LTI login refused: issuer or client_id not registered")
        return refuse(FORBIDDEN, NOT_REGISTERED)
    base = public_base_url(request, lti.settings)
    if not own(target, base):
        return refuse(BAD_REQUEST, BAD_LOGIN)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    record = {"iss": issuer, "client_id": registration.client_id, "nonce": nonce, "target": target}
    target_window = storage.usable_target(params.get("lti_storage_target"))
    if target_window:
        record["storage"] = target_window
    try:
        await lti.store.put("state", state, json.dumps(record), LOGIN_TTL)
    except StoreDown:
        return refuse(UNAVAILABLE, STORE_DOWN)
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": registration.client_id,
        "redirect_uri": base + LAUNCH_PATH,
        "login_hint": hint,
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    url = registration.auth_login_url
    redirect = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"
    response: Response = RedirectResponse(redirect, 302)
    if target_window:  # the platform's storage too, for a browser that drops the cookie
        response = storage.put_page(request, target_window, url, state, redirect)
    set_state_cookie(response, state, base.startswith("https:"))
    return response


@router.post(LAUNCH_PATH, summary="LTI 1.3 launch: resource links and deep-linking requests")
async def launch(request: Request, lti: LtiDep) -> Response:
    form = await form_of(request)
    token, state = form.get("id_token", ""), form.get("state", "")
    if not token or not state or len(state) > 128:
        return refuse(BAD_REQUEST, NO_LOGIN)
    by_cookie = request.cookies.get(COOKIE_PREFIX + state) == state
    from_storage = form.get(storage.FIELD)
    try:
        if not by_cookie and from_storage is None:
            # Without the cookie, a login that used the platform's storage reads it back.
            peek = await lti.store.get("state", state)
            pending = json.loads(peek) if peek else {}
            if pending.get("storage"):
                return storage_check(request, lti, pending, state, token)
        kept = await lti.store.take("state", state)
        if kept is None:
            replayed = await seen_nonce(lti, token)
            log.info("LTI launch refused: %s", "replayed" if replayed else "no such state")
            return refuse(FORBIDDEN, REPLAYED if replayed else NO_LOGIN)
    except StoreDown:
        return refuse(UNAVAILABLE, STORE_DOWN)
    login = json.loads(kept)
    by_storage = (bool(login.get("storage")) and from_storage == state
                  and storage.from_our_page(request, public_base_url(request, lti.settings)))
    if not (by_cookie or by_storage):
        log.info("LTI launch refused: the state is not bound to this browser")
        return refuse(FORBIDDEN, NO_COOKIE)
    registration = lti.tool.find(login["iss"], login["client_id"])
    if registration is None:  # removed from the configuration since the login
        return refuse(FORBIDDEN, NOT_REGISTERED)
    try:
        claims = await lti.keys.verify(token, registration)
        verified = launch_of(claims, registration, login, time.time())
    except KeyProblem as problem:
        log.info("LTI launch refused: %s", problem)
        return refuse(FORBIDDEN, BAD_TOKEN)
    except Failed as failed:
        log.info("LTI launch refused: %s", failed.reason)
        return refuse(failed.status, failed.sentence, locale_of(claims))
    try:
        ttl = int(max(claims["exp"] - time.time(), 0)) + 2 * LEEWAY
        if await lti.store.incr("nonce", claims["nonce"], ttl) != 1:
            return refuse(FORBIDDEN, REPLAYED, verified.locale)
    except StoreDown:
        return refuse(UNAVAILABLE, STORE_DOWN, verified.locale)
    handle = deeplink.handle if verified.message_type == DEEP_LINKING else grading.handle
    response = await handle(request, verified)
    forget_state_cookie(response, state, public_base_url(request, lti.settings))
    return response


def storage_check(request: Request, lti: Lti, login: dict[str, Any], state: str,
                  token: str) -> Response:
    """The page that reads the state back from the platform's storage (storage.py)."""
    registration = lti.tool.find(login["iss"], login["client_id"])
    if registration is None:
        return refuse(FORBIDDEN, NOT_REGISTERED)
    return storage.get_page(request, login["storage"], registration.auth_login_url, state, token,
                            LAUNCH_PATH, None)


@router.get(JWKS_PATH, summary="The tool's public keys (JWKS)")
async def jwks(lti: LtiDep) -> JSONResponse:
    return JSONResponse(lti.tool.jwks(), headers={"Cache-Control": "public, max-age=300"})


async def form_of(request: Request) -> dict[str, str]:
    """An url-encoded POST body's fields (BodyLimit bounds its size); else nothing."""
    if request.method != "POST":
        return {}
    try:
        return dict(await form_pairs(request, MAX_FIELDS, "ascii"))
    except ValueError:  # more fields than MAX_FIELDS
        return {}


def own(target: str, base: str) -> bool:
    """Whether a target_link_uri points at this server (its scheme and host)."""
    target_parts, base_parts = urlsplit(target), urlsplit(base)
    return (target_parts.scheme, target_parts.netloc) == (base_parts.scheme, base_parts.netloc)


def set_state_cookie(response: Response, state: str, https: bool, forget: bool = False) -> None:
    """The state, bound to this browser for the launch only.

    Over https: ``SameSite=None; Secure; Partitioned``, so that it comes back
    with the platform's cross-site POST inside the course page's iframe, in
    that page's partition (CHIPS). Over plain http a browser drops a
    ``SameSite=None`` cookie that is not ``Secure``, so the cookie is
    ``SameSite=Lax``: it then comes back only when the platform is the same
    site (the loopback tests, a laptop); a real platform needs https.

    Written by hand: Starlette writes ``Partitioned`` only on Python 3.14.
    """
    attributes = f"Max-Age={0 if forget else LOGIN_TTL}; Path={LAUNCH_PATH}; HttpOnly"
    attributes += "; Secure; SameSite=None; Partitioned" if https else "; SameSite=Lax"
    # The state is URL-safe base64 (secrets.token_urlsafe): a cookie name and value as it is.
    value = "" if forget else state
    response.headers.append("Set-Cookie", f"{COOKIE_PREFIX}{state}={value}; {attributes}")


def forget_state_cookie(response: Response, state: str, base: str) -> None:
    set_state_cookie(response, state, base.startswith("https:"), forget=True)


async def seen_nonce(lti: Lti, token: str) -> bool:
    """Whether a token without a kept state carries a nonce used before (a replay).

    Only the sentence depends on it: the launch is refused either way.
    """
    try:
        unverified_header(token)
        payload = token.split(".")[1]
        claims = json.loads(_b64(payload))
    except (KeyProblem, IndexError, ValueError):
        return False
    nonce = claims.get("nonce") if isinstance(claims, dict) else None
    if not isinstance(nonce, str) or not nonce or len(nonce) > 256:
        return False
    return await lti.store.get("nonce", nonce) is not None


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def locale_of(claims: dict[str, Any]) -> str | None:
    presentation = claims.get("https://purl.imsglobal.org/spec/lti/claim/launch_presentation")
    locale = presentation.get("locale") if isinstance(presentation, dict) else None
    locale = locale or claims.get("locale")
    return locale if isinstance(locale, str) else None
