"""A loopback LTI 1.3 platform with its own RSA keys, for the tool's end-to-end tests.

Built on joserfc and a small Starlette app, served by uvicorn on a free port in
a thread. It plays the parts of a course platform that the tool talks to:

- ``/jwks``: its public keys (``rotate()`` adds one; ``sign`` may use a stranger's);
- ``/auth``: the OIDC auth endpoint; it checks the tool's redirect and answers
  with a form that POSTs the signed id_token and the state to the launch URL
  (a browser submits it by itself; httpx tests read its fields);
- ``/token``: OAuth2 client credentials, with a ``client_assertion`` JWT checked
  against the tool's JWKS, scopes checked, a bearer token returned;
- ``/lineitems``, ``/lineitems/{id}/scores``: AGS; a score is accepted only as
  ``application/vnd.ims.lis.v1.score+json`` with a bearer token of the score
  scope, and every accepted one is recorded in ``scores``;
- ``/deep_link_return``: checks the tool's LtiDeepLinkingResponse JWT and
  records its content items in ``deep_links``;
- ``/course/{hint}``: a course page that frames the tool's login, as a
  platform shows an activity; ``/frame?src=`` a page that frames any address.

A launch is prepared first (``prepare``): its message type, custom parameters,
AGS claim and any claim or header changed; the returned hint travels as
``lti_message_hint`` through the tool's login to ``/auth``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from markupsafe import escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from autograd_playground.web.lti.model import (
    AGS_CLAIM,
    CLAIM,
    DEEP_LINKING,
    DL_CLAIM,
    RESOURCE_LINK,
)

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
SCOPES = {
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
}
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
DELETE = object()  # a claim given this value in ``claims`` is left out of the token


def new_key() -> RSAKey:
    key = RSAKey.generate_key(2048, private=True)
    return RSAKey.import_key(key.as_dict(private=True), parameters={"kid": key.thumbprint()})


@dataclass
class Prepared:
    message_type: str = RESOURCE_LINK
    custom: dict[str, str] = field(default_factory=dict)
    ags: bool = False
    user: str = "student-1"
    locale: str = "en"
    resource_link: str = "link-1"
    claims: dict[str, Any] = field(default_factory=dict)  # changes to the claims
    header: dict[str, Any] = field(default_factory=dict)  # changes to the JWS header
    key: RSAKey | None = None  # sign with this key instead of the platform's
    storage: bool = False  # offer the platform's storage (lti_storage_target=_parent)


class Platform:
    """The platform's state and its Starlette app; ``url`` once started."""

    def __init__(self, client_id: str = "playground-tool", deployment_id: str = "deployment-1"):
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.keys = [new_key()]
        self.url = ""
        self.tool_url = ""  # the tool's base URL, for its JWKS and launch
        self.prepared: dict[str, Prepared] = {}
        self.auth_requests: list[dict[str, str]] = []
        self.tokens: dict[str, set[str]] = {}
        self.assertions: set[str] = set()  # jti of client assertions seen
        self.scores: list[dict[str, Any]] = []
        self.deep_links: list[dict[str, Any]] = []
        self.jwks_fetches = 0
        self.lock = threading.Lock()

    # --- what tests call ---------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.url

    def registration(self, private_key_file: str) -> dict[str, Any]:
        """This platform's entry in a tool-config JSON file."""
        return {
            "default": True,
            "client_id": self.client_id,
            "auth_login_url": f"{self.url}/auth",
            "auth_token_url": f"{self.url}/token",
            "key_set_url": f"{self.url}/jwks",
            "key_set": None,
            "private_key_file": private_key_file,
            "deployment_ids": [self.deployment_id],
        }

    def prepare(self, **options: Any) -> str:
        """Keep a launch to make at /auth; the hint to send as lti_message_hint."""
        hint = secrets.token_urlsafe(12)
        self.prepared[hint] = Prepared(**options)
        return hint

    def login_params(self, hint: str, target: str | None = None) -> dict[str, str]:
        """What the platform sends to the tool's login URL for a prepared launch."""
        params = {
            "iss": self.issuer,
            "login_hint": self.prepared[hint].user,
            "target_link_uri": target or f"{self.tool_url}/lti/launch",
            "lti_message_hint": hint,
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }
        if self.prepared[hint].storage:
            params["lti_storage_target"] = "_parent"
        return params

    def rotate(self) -> RSAKey:
        """A new signing key, published beside the old ones."""
        self.keys.append(new_key())
        return self.keys[-1]

    def claims_for(self, prepared: Prepared, nonce: str, target: str) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": prepared.user,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            # What platforms send about a person, which the tool must not keep or log.
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "email": "ada@school.example",
            CLAIM + "message_type": prepared.message_type,
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": target,
            CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            CLAIM + "context": {"id": "course-1", "title": "Deep learning"},
            CLAIM + "launch_presentation": {"locale": prepared.locale, "document_target": "iframe"},
            CLAIM + "custom": prepared.custom,
        }
        if prepared.message_type == RESOURCE_LINK:
            claims[CLAIM + "resource_link"] = {"id": prepared.resource_link, "title": "Activity"}
        if prepared.message_type == DEEP_LINKING:
            claims[CLAIM + "roles"] = [
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
            ]
            claims[DL_CLAIM + "deep_linking_settings"] = {
                "deep_link_return_url": f"{self.url}/deep_link_return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": False,
                "auto_create": True,
                "data": "platform-data-1",
            }
        if prepared.ags:
            claims[AGS_CLAIM] = {
                "scope": sorted(SCOPES),
                "lineitems": f"{self.url}/lineitems",
                "lineitem": f"{self.url}/lineitems/{prepared.resource_link}",
            }
        for name, value in prepared.claims.items():
            if value is DELETE:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None, **header: Any) -> str:
        key = key or self.keys[-1]
        head = {"alg": "RS256", "typ": "JWT", "kid": key.kid, **header}
        return jwt.encode(head, claims, key)

    def id_token(self, hint: str, nonce: str, target: str) -> str:
        prepared = self.prepared[hint]
        claims = self.claims_for(prepared, nonce, target)
        return self.sign(claims, prepared.key, **prepared.header)

    # --- the endpoints ---------------------------------------------------------------

    async def jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        return JSONResponse({"keys": [k.as_dict(private=False) for k in self.keys]})

    async def auth(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.auth_requests.append(query)
        expected = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                    "prompt": "none", "client_id": self.client_id}
        wrong = [name for name, value in expected.items() if query.get(name) != value]
        hint = query.get("lti_message_hint", "")
        if wrong or hint not in self.prepared or not query.get("nonce") or not query.get("state"):
            return HTMLResponse(f"bad auth request: {wrong}", status_code=400)
        if query.get("redirect_uri") != f"{self.tool_url}/lti/launch":
            return HTMLResponse("redirect_uri is not registered", status_code=400)
        if query.get("login_hint") != self.prepared[hint].user:
            return HTMLResponse("login_hint does not match", status_code=400)
        token = self.id_token(hint, query["nonce"], self.prepared_target(query))
        return HTMLResponse(auto_post(query["redirect_uri"], {"id_token": token,
                                                             "state": query["state"]}))

    def prepared_target(self, query: dict[str, str]) -> str:
        return f"{self.tool_url}/lti/launch"

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            claims = await self.tool_claims(form.get("client_assertion", ""))
        except ValueError as exc:
            return JSONResponse({"error": "invalid_client", "why": str(exc)}, status_code=401)
        now = time.time()
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud or []
        if (claims.get("iss") != self.client_id or claims.get("sub") != self.client_id
                or f"{self.url}/token" not in audiences or claims.get("exp", 0) < now
                or not claims.get("jti") or claims["jti"] in self.assertions):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        self.assertions.add(claims["jti"])
        scopes = set(form.get("scope", "").split())
        if not scopes or not scopes <= SCOPES:
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = scopes
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                             "scope": " ".join(sorted(scopes))})

    async def tool_claims(self, assertion: str) -> dict[str, Any]:
        """The claims of a JWT the tool signed, checked against the tool's JWKS."""
        async with httpx.AsyncClient() as client:
            keys = KeySet.import_key_set((await client.get(f"{self.tool_url}/lti/jwks")).json())
        try:
            return dict(jwt.decode(assertion, keys, algorithms=["RS256"]).claims)
        except Exception as exc:  # any failure: the token is refused
            raise ValueError(repr(exc)) from None

    def bearer_scopes(self, request: Request) -> set[str]:
        kind, _, token = request.headers.get("authorization", "").partition(" ")
        return self.tokens.get(token, set()) if kind.lower() == "bearer" else set()

    async def lineitems(self, request: Request) -> Response:
        if not self.bearer_scopes(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse([], media_type="application/vnd.ims.lis.v2.lineitemcontainer+json")

    async def scores_of(self, request: Request) -> Response:
        if SCORE_SCOPE not in self.bearer_scopes(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if request.headers.get("content-type", "").split(";")[0].strip() != SCORE_TYPE:
            return JSONResponse({"error": "unsupported media type"}, status_code=415)
        try:
            score = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        needed = ("userId", "activityProgress", "gradingProgress", "timestamp")
        if not isinstance(score, dict) or any(name not in score for name in needed):
            return JSONResponse({"error": f"a score needs {needed}"}, status_code=400)
        given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
        if given is not None and (maximum is None or not 0 <= given <= maximum):
            return JSONResponse({"error": "scoreGiven outside 0..scoreMaximum"}, status_code=400)
        with self.lock:
            self.scores.append({**score, "lineitem": request.path_params["item"]})
        return Response(status_code=204)

    async def deep_link_return(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        try:
            claims = await self.tool_claims(form.get("JWT", ""))
        except ValueError as exc:
            return HTMLResponse(f"refused: {escape(str(exc))}", status_code=400)
        aud = claims.get("aud")
        checks = {
            "iss": claims.get("iss") == self.client_id,
            "aud": aud == self.issuer or (isinstance(aud, list) and self.issuer in aud),
            "nonce": bool(claims.get("nonce")),
            "exp": claims.get("exp", 0) >= time.time(),
            "type": claims.get(CLAIM + "message_type") == "LtiDeepLinkingResponse",
            "version": claims.get(CLAIM + "version") == "1.3.0",
            "deployment": claims.get(CLAIM + "deployment_id") == self.deployment_id,
            "data": claims.get(DL_CLAIM + "data") == "platform-data-1",
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            return HTMLResponse(f"refused: {', '.join(failed)}", status_code=400)
        with self.lock:
            self.deep_links.append(claims)
        items = claims.get(DL_CLAIM + "content_items", [])
        return HTMLResponse(f"<p data-testid='received'>Received {len(items)} item(s).</p>")

    async def course(self, request: Request) -> Response:
        hint = request.path_params["hint"]
        if hint not in self.prepared:
            return HTMLResponse("no such launch", status_code=404)
        src = f"{self.tool_url}/lti/login?" + urlencode(self.login_params(hint))
        # ?storage=off: a platform that offers its storage but never answers.
        script = "" if request.query_params.get("storage") == "off" else STORAGE_SCRIPT
        return HTMLResponse(
            "<!doctype html><title>Course</title><h1>Course page</h1>"
            f'<iframe id="tool" title="Activity" src="{escape(src)}" width="1000" height="700">'
            f"</iframe><script>{script}</script>"
        )

    async def frame(self, request: Request) -> Response:
        """A page that frames ``src``: opened as http://localhost:port it is another site's."""
        src = request.query_params.get("src", "")
        return HTMLResponse(f'<!doctype html><iframe id="tool" src="{escape(src)}"></iframe>')

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/jwks", self.jwks),
            Route("/auth", self.auth),
            Route("/token", self.token, methods=["POST"]),
            Route("/lineitems", self.lineitems, methods=["GET", "POST"]),
            Route("/lineitems/{item}/scores", self.scores_of, methods=["POST"]),
            Route("/deep_link_return", self.deep_link_return, methods=["POST"]),
            Route("/course/{hint}", self.course),
            Route("/frame", self.frame),
        ])


# The platform's storage (LTI Client Side postMessages): values kept per origin of the
# tool's frame; window.storageLog records each request for the tests.
STORAGE_SCRIPT = """
const kept = new Map();
window.storageLog = [];
window.addEventListener("message", (event) => {
  const m = event.data || {};
  if (event.source !== document.getElementById("tool").contentWindow) return;
  window.storageLog.push([m.subject, m.key]);
  const reply = (data) => event.source.postMessage(
    {...data, subject: m.subject + ".response", message_id: m.message_id}, event.origin);
  const key = event.origin + " " + m.key;
  if (m.subject === "lti.put_data") { kept.set(key, m.value); reply({key: m.key, value: m.value}); }
  else if (m.subject === "lti.get_data" && kept.has(key)) reply({key: m.key, value: kept.get(key)});
  else reply({key: m.key, error: {code: "bad_request", message: "no such key"}});
});
"""


def auto_post(url: str, fields: dict[str, str]) -> str:
    """The form_post answer: a form that submits itself (the platform's own page)."""
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return (f'<!doctype html><form id="launch" method="post" action="{escape(url)}">{inputs}'
            "</form><script>document.getElementById('launch').submit()</script>")


class Served:
    """An ASGI app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: Any, port: int):
        self.server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
            # In the test process: uvicorn's dictConfig would close every handler there,
            # pytest's log capture among them, for every later test.
            log_config=None,
        ))
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.url} did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
