"""Deep linking: the playground's picker in the platform's dialog, and the signed answer.

A teacher adds the playground to a course: the platform sends an
LtiDeepLinkingRequest (routes.py checks it) and :func:`handle` answers with the
picker. What the platform said about its dialog (where the answer goes, its
opaque ``data``, the issuer, client and deployment) stays on the server, in the
LTI store under a one-time key, which is all that the picker's form carries: a
browser cannot change where the answer goes or for whom it is signed. The
picker's POST computes the chosen state as the playground does, takes the key
(once, and only for a state that computes, so that a refused function can be
corrected), and answers with a form that posts the signed LtiDeepLinkingResponse
to the platform.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.datastructures import ImmutableMultiDict

from ...core.language.rules import N_
from ...core.result import from_json
from .. import i18n
from ..embedding import title_of
from ..headers import content_security_policy
from ..links import public_base_url
from ..pages import Pages
from ..state import PageState, from_query, variables_of, with_variables
from ..templating import render
from .answers import questions
from .errors import language, refuse
from .forms import form_pairs
from .keys import sign
from .model import CLAIM, CUSTOM_ATTEMPTS, CUSTOM_STATE, DL_CLAIM, Launch
from .stores import StoreDown

if TYPE_CHECKING:
    from .routes import Lti

router = APIRouter()

KIND = "deeplink"  # the store's kind for a dialog's context
CONTEXT_SECONDS = 3600  # how long a teacher may take to choose
ANSWER_SECONDS = 300  # the signed answer's lifetime (exp - iat)
KEY_CHARS = 43  # secrets.token_urlsafe(32)
MAX_ATTEMPTS = 10
TITLE_CHARS = 200
MAX_FIELDS = 256  # a picker's fields: two per variable (value, grad) and a few of its own
# The picker's own frame-ancestors; framing.LtiFraming names the registered platforms instead.
FRAMED = "'self'"
MODES = ("walkthrough", "exercise", "order")
# The picker's own fields: not identifiers, so that no variable of a function can take them.
NAMES = {"context": "lti-context", "mode": "lti-mode", "title": "lti-title",
         "attempts": "lti-attempts", "lang": "lti-lang"}

NO_RESOURCE_LINK = N_(
    "This platform does not accept a resource link from this dialog, so the playground cannot "
    "be added here."
)
NO_RETURN_URL = N_("The platform's request names no web address to send the choice back to.")
UNKNOWN_CONTEXT = N_(
    "This choice was already sent, or it waited too long; open the dialog from the course again."
)
NO_QUESTIONS = N_(
    "This function's exercise would ask no questions: no step sends on a single number. Choose "
    "the walk-through, or a function of numbers."
)
BAD_ATTEMPTS = N_("The attempts allowed must be a whole number from 1 to {limit}.")
STORE_DOWN = N_("The playground cannot keep this choice right now; please try again in a minute.")


@dataclass(frozen=True)
class Context:
    """What the platform's deep-linking request says about its dialog, kept on the server."""

    return_url: str
    issuer: str
    client_id: str
    deployment_id: str
    data: str | None
    lang: str  # the picker's language, from the launch's locale

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> Context:
        return cls(**json.loads(text))


def context_of(launch: Launch, lang: str) -> Context | str:
    """The dialog's context, or the sentence that says why the picker cannot answer it."""
    settings = launch.deep_linking or {}
    accepted = settings.get("accept_types")
    if not isinstance(accepted, list) or "ltiResourceLink" not in accepted:
        return NO_RESOURCE_LINK
    url = settings.get("deep_link_return_url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return NO_RETURN_URL
    data = settings.get("data")
    return Context(
        return_url=url,
        issuer=launch.issuer,
        client_id=launch.client_id,
        deployment_id=launch.deployment_id,
        data=data if isinstance(data, str) else None,
        lang=lang,
    )


@dataclass(frozen=True)
class Choice:
    """What the teacher chose: the state (function, values, mode, language), title, attempts."""

    state: PageState
    title: str = ""
    attempts: int | None = 1  # None: what was typed is not a number of attempts
    asked: int = 0  # the questions its exercise asks, once computed

    @property
    def mode(self) -> str:
        return "exercise" if self.state.exercise else "order" if self.state.order == 2 else MODES[0]


def read_choice(form: Any, limit: int) -> Choice:
    """The picker's form as a choice: the playground's fields read as a page reads them."""
    typed = from_query(form, limit)
    mode, lang = _first(form, NAMES["mode"]), _first(form, NAMES["lang"])
    own = set(NAMES.values())  # the picker's fields are no variable's values
    state = PageState(
        expr=typed.expr,
        values={name: text for name, text in typed.values.items() if name not in own},
        grads={name: on for name, on in typed.grads.items() if name not in own},
        lang=lang if lang in i18n.LANGUAGES else None,
        exercise=mode == "exercise", order=2 if mode == "order" else 1,
    )
    text = (_first(form, NAMES["attempts"]) or "1").strip()
    readable = text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ATTEMPTS
    title = " ".join((_first(form, NAMES["title"]) or "").split())[:TITLE_CHARS]
    return Choice(state, title, int(text) if readable else None)


def _first(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def resource_id(state: PageState) -> str:
    """The line item's resourceId: the same state gives the same id."""
    return "playground-" + hashlib.sha256(state.query().encode()).hexdigest()[:16]


def content_item(choice: Choice, launch_url: str) -> dict[str, Any]:
    """The ltiResourceLink for a choice; an exercise's carries its gradebook column."""
    title = choice.title or title_of(choice.state)
    item: dict[str, Any] = {
        "type": "ltiResourceLink",
        "title": title,
        "url": launch_url,
        "custom": {CUSTOM_STATE: choice.state.query(), CUSTOM_ATTEMPTS: str(choice.attempts or 1)},
    }
    if choice.state.exercise:
        item["lineItem"] = {
            "scoreMaximum": choice.asked,
            "label": title,
            "resourceId": resource_id(choice.state),
            "tag": "exercise",
        }
    return item


def answer_claims(context: Context, item: dict[str, Any], now: int) -> dict[str, Any]:
    """The LtiDeepLinkingResponse's claims: from the tool (its client id) to the platform."""
    claims: dict[str, Any] = {
        "iss": context.client_id,
        "aud": context.issuer,
        "iat": now,
        "exp": now + ANSWER_SECONDS,
        "nonce": secrets.token_urlsafe(24),
        CLAIM + "deployment_id": context.deployment_id,
        CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": "1.3.0",
        DL_CLAIM + "content_items": [item],
    }
    if context.data is not None:
        claims[DL_CLAIM + "data"] = context.data
    return claims


# --- the routes --------------------------------------------------------------------------


async def handle(request: Request, launch: Launch) -> Response:
    """Answer a verified LtiDeepLinkingRequest with the picker; its context stays here."""
    lang = language(launch.locale) or i18n.negotiate(None, request.headers.get("accept-language"))
    context = context_of(launch, lang)
    if isinstance(context, str):
        return refuse(400, context, lang)
    key = secrets.token_urlsafe(32)
    try:
        await lti_of(request).store.put(KIND, key, context.dumps(), CONTEXT_SECONDS)
    except StoreDown:
        return refuse(503, STORE_DOWN, lang)
    return picker_page(request, key, lang, Choice(PageState(lang=lang)))


@router.post("/lti/deeplink", response_class=HTMLResponse,
             summary="The picker's choice, answered with the signed deep-linking response")
async def choose(request: Request) -> Response:
    form = await form_of(request)
    key = _first(form, NAMES["context"]) or ""
    store = lti_of(request).store
    try:
        kept = await store.get(KIND, key) if len(key) == KEY_CHARS else None
    except StoreDown:
        return refuse(503, STORE_DOWN)
    if kept is None:
        return refuse(400, UNKNOWN_CONTEXT)
    context = Context.loads(kept)
    choice = read_choice(form, request.app.state.settings.max_query_chars)
    checked = await computed(request, choice, context.lang)
    if isinstance(checked, tuple):
        status, sentence = checked
        return picker_page(request, key, context.lang, choice, sentence, status)
    choice = checked
    # Taken only now, and once: the same key is never answered twice, even by two replicas.
    try:
        taken = await store.take(KIND, key)
    except StoreDown:
        return refuse(503, STORE_DOWN, context.lang)
    if taken is None:
        return refuse(400, UNKNOWN_CONTEXT, context.lang)
    launch_url = public_base_url(request, request.app.state.settings) + "/lti/launch"
    item = content_item(choice, launch_url)
    token = sign(lti_of(request).tool, answer_claims(context, item, int(time.time())))
    return answer_page(request, context, token)


async def form_of(request: Request) -> ImmutableMultiDict[str, str]:
    """The picker's url-encoded fields, repeated ones (grad) kept; BodyLimit bounds the body."""
    try:
        return ImmutableMultiDict(await form_pairs(request, MAX_FIELDS))
    except ValueError:  # more fields than a picker has
        return ImmutableMultiDict()


async def computed(request: Request, choice: Choice, lang: str) -> Choice | tuple[int, str]:
    """The choice with exactly its function's variables, once its state computes as the
    playground's page computes it; else the status and the sentence that refuse it."""
    if choice.attempts is None:
        return 422, i18n.message(lang, BAD_ATTEMPTS, limit=MAX_ATTEMPTS)
    app = request.app.state
    pages = Pages(request, app.settings, app.engine, app.templates, app.page_cache)
    state, outcome, status, _ = await pages.result(choice.state, lang, True, Pages.plain(choice.state))
    if outcome is None or "result" not in outcome:
        error = (outcome or {}).get("error") or {}
        return (status if status != 200 else 422), str(error.get("message", ""))
    asked = len(questions(from_json(outcome["result"]).steps))  # as the graded activity asks them
    if state.exercise and not asked:
        return 422, i18n.message(lang, NO_QUESTIONS)
    return replace(choice, state=state, asked=asked)


# --- the pages ---------------------------------------------------------------------------


def picker_page(request: Request, key: str, lang: str, choice: Choice,
                error: str | None = None, status: int = 200) -> HTMLResponse:
    """The picker, with the teacher's choice and the sentence that refused it, if one did."""
    state = choice.state
    names, parse_error = variables_of(state.expr, request.app.state.settings.limits())
    if parse_error is None:
        state = with_variables(state, names)
    env = request.app.state.templates[lang]
    # The value fields are the playground's own block, rendered as /fields renders it.
    shown = PageState(expr=state.expr, values=state.values, grads=state.grads, lang=lang,
                      new_values=state.new_values, set_by_lines=state.set_by_lines)
    fields = Markup(render(env, "index.html", "fields", state=shown, lang=lang))
    html = render(
        env, "lti/picker.html", state=PageState(lang=lang), lang=lang, key=key, choice=choice,
        chosen=shown, fields=fields, error=error, modes=MODES, max_attempts=MAX_ATTEMPTS,
        names=NAMES, title_chars=TITLE_CHARS,
    )
    return _html(html, lang, status, content_security_policy(FRAMED))


def answer_page(request: Request, context: Context, token: str) -> HTMLResponse:
    """The form that posts the signed answer back to the platform: sent at once by
    static/app/picker.js, or by its button without scripts."""
    env = request.app.state.templates[context.lang]
    html = render(env, "lti/answer.html", state=PageState(lang=context.lang), lang=context.lang,
                  return_url=context.return_url, token=token)
    parts = urlsplit(context.return_url)
    policy = content_security_policy(FRAMED).replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )
    return _html(html, context.lang, 200, policy)


def _html(html: str, lang: str, status: int, policy: str) -> HTMLResponse:
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = policy
    response.headers["Content-Language"] = lang
    response.headers["Cache-Control"] = "no-store"
    return response


def lti_of(request: Request) -> Lti:
    """What the LTI routes share (routes.lti; imported here only for its type, as routes.py
    imports this module)."""
    return request.app.state.lti
