"""A launched activity: the playground's embed view, and for a graded exercise its score.

routes.py hands :func:`handle` a verified LtiResourceLinkRequest. Its custom
parameter ``playground_state`` is the playground's query string, as a Share
link carries it; the activity is that state's embed view, in the launch's
language when it is English or German.

An exercise whose launch grants the AGS score scope and names a line item is
graded. Then the page sends no answer before it is answered: it shows the
function, its values and the plain graph, and one question at a time. An
answer goes to ``POST /lti/answer``, which checks it against the server's own
result of the state signed at launch (kept in the session, never read from the
page), counts the try and, once the step is decided, shows its worked part.
When every question is decided, or the student finishes, the score goes to the
platform through AGS (ags.py). A score the browser sends is refused: the
server counts the points itself (answers.score).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import QueryParams

from ...core.language.rules import N_
from ...core.result import from_json
from ...core.teach import explain
from .. import highlight, i18n
from ..errors import BUSY_MESSAGE
from ..markup import inline_svg
from ..pages import Pages
from ..state import PageState, from_query, output_of, read_step
from ..templating import render
from . import ags, answers, attempts
from .errors import BAD_REQUEST, FORBIDDEN, UNAVAILABLE, language, refuse
from .forms import form_pairs
from .model import CUSTOM_STATE, Launch
from .stores import StoreDown

if TYPE_CHECKING:
    from .routes import Lti

log = logging.getLogger(__name__)
router = APIRouter()
NOT_FOUND, CONFLICT = HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT

# Parts a graded page never shows: each holds or links to an answer.
GRADED_HIDE = ("output", "details", "code", "derivative", "training", "examples", "lines")
MAX_STATE_CHARS = 12_000  # a session, state included, must fit one store value
ANSWER_FIELDS = {"session", "step", "answer", "action"}
MAX_FIELDS = 64

NOT_OPEN = N_("This graded attempt is not open any more; open the activity again from the course.")
SCORE_REFUSED = N_("The score is counted by the server from your answers; a score sent with them is refused.")
NOT_A_QUESTION = N_("That step asks no question here.")
NOT_YET = N_("Answer the questions in order: this one is not open yet.")
DECIDED = N_("This step is decided already.")
FINISHED = N_("This attempt is finished: its score has been sent to the course.")
NO_ATTEMPTS = N_("You have used every attempt at this exercise; the course keeps your latest score.")
STORE_DOWN = N_("The playground cannot keep graded answers right now; please try again in a minute.")


def lti_of(request: Request) -> Lti:
    """The LTI routes' shared parts (routes.Lti, made in the app's lifespan)."""
    return request.app.state.lti


def pages_of(request: Request) -> Pages:
    s = request.app.state
    return Pages(request, s.settings, s.engine, s.templates, s.page_cache)


def launch_state(text: str, lang: str | None) -> PageState:
    """The resource link's state (its query string), in the launch's language if it has one."""
    state = from_query(QueryParams(text[:MAX_STATE_CHARS]), path="/embed")
    return dataclasses.replace(state, lang=lang or state.lang)


def is_graded(launch: Launch, state: PageState) -> bool:
    """An exercise, with the platform's leave to post its score to a line item."""
    ags_claim = launch.ags or {}
    scopes = ags_claim.get("scope") or []
    return (
        state.exercise and bool(launch.user) and isinstance(scopes, list)
        and ags.SCORE_SCOPE in scopes and isinstance(ags_claim.get("lineitem"), str)
        and bool(ags_claim["lineitem"])
    )


def graded_state(state: PageState) -> PageState:
    """The state a graded page computes and shows: the exercise, with nothing that answers it."""
    return dataclasses.replace(
        state, exercise=True, order=1, accumulate=False, train=(), forward=False,
        view="torchviz", hide=GRADED_HIDE, step=0, autoplay=False, present=False,
        readonly=True, path="/embed",
    )


@dataclass(frozen=True)
class Computed:
    """A graded state's result: what the page draws and the questions it asks."""

    state: PageState
    result: Any
    steps: list[Any]
    questions: list[answers.Question]

    def question(self, step: int) -> answers.Question | None:
        return next((q for q in self.questions if q.step == step), None)


async def compute(request: Request, state: PageState, lang: str) -> Computed | int:
    """The graded state's result, or the status of why there is none (an error: 400, busy: 503)."""
    pages = pages_of(request)
    state_, outcome, status, _ = await pages.result(
        graded_state(state), lang, with_result=True, extras=Pages.plain(graded_state(state))
    )
    if not outcome or "result" not in outcome:
        return status if status >= 400 else 400
    result = from_json(outcome["result"])
    return Computed(state_, result, explain.steps(result), answers.questions(result.steps))


async def handle(request: Request, launch: Launch) -> Response:
    """Answer a verified LtiResourceLinkRequest with the activity."""
    text = str(launch.custom.get(CUSTOM_STATE, ""))
    lang = language(launch.locale)
    state = launch_state(text, lang)
    if not is_graded(launch, state) or len(text) > MAX_STATE_CHARS:
        return await embed_view(request, state)
    page_lang = i18n.negotiate(state.lang, request.headers.get("accept-language"))
    computed = await compute(request, state, page_lang)
    if isinstance(computed, int) or not computed.questions:
        return await embed_view(request, state)  # nothing to grade: the view says why
    ags_claim = launch.ags or {}
    session = attempts.Session(
        state=text, lang=lang, issuer=launch.issuer, client_id=launch.client_id,
        deployment_id=launch.deployment_id, user=launch.user,
        lineitem=ags_claim["lineitem"], owner=attempts.attempt_key(launch),
    )
    lti = lti_of(request)
    try:
        sid = await attempts.open_session(lti.store, launch, session)
        if sid is None:
            log.info("LTI graded launch refused: no attempt left")
            return refuse(FORBIDDEN, NO_ATTEMPTS, lang)
        return await activity(request, sid, session, computed, page_lang)
    except StoreDown:
        return refuse(UNAVAILABLE, STORE_DOWN, lang)


async def embed_view(request: Request, state: PageState) -> Response:
    """The playground's embed view of the state (an ungraded activity)."""
    pages = pages_of(request)
    return await pages.respond(state, None, "embed.html")


@dataclass(frozen=True)
class Progress:
    """Where a session stands: each question's outcome and tries, the score, and its post."""

    outcomes: dict[int, str]
    current: answers.Question | None  # the first question not decided; None when all are
    tries: int
    sent: str | None  # "sent", "failed", or None before the score is posted

    @property
    def done(self) -> bool:
        return self.current is None or self.sent == "sent"


async def progress(lti: Lti, sid: str, computed: Computed) -> Progress:
    outcomes = await attempts.outcomes(lti.store, sid, [q.step for q in computed.questions])
    current = next((q for q in computed.questions if q.step not in outcomes), None)
    tries = await attempts.tries(lti.store, sid, current.step) if current else 0
    sent = await lti.store.get(attempts.SENT, sid)
    return Progress(outcomes, current, tries, sent)


async def activity(
    request: Request, sid: str, session: attempts.Session, computed: Computed, lang: str,
    feedback: str = "", kept: tuple[str, ...] = (), invalid: tuple[int, ...] = (),
) -> Response:
    """The graded page (or, for htmx, its activity block): the steps decided so far, the
    question open now, and at the end the score and whether the course has it."""
    lti = lti_of(request)
    now = await progress(lti, sid, computed)
    if now.current is None and now.sent is None:
        now = dataclasses.replace(now, sent=await send_score(lti, sid, session, computed, now))
    steps = computed.steps
    upto = now.current.step if now.current and not now.done else len(steps)
    shown = [(view, now.outcomes.get(i)) for i, view in enumerate(steps[:upto])]
    # The graph lit at the open question (a collapsed line's nodes as its box); at the end,
    # every step done.
    boxes = {node: line.box for line in computed.result.lines if line.box for node in line.nodes}
    paint = highlight.paints([], steps, boxes)
    lit = paint[upto + 1] if upto < len(steps) else highlight.Paint(
        done=(*paint[-1].done, paint[-1].current))
    context = dict(
        # No base_url: base.html would link the state's oEmbed, the open playground's.
        state=computed.state, lang=lang, result=computed.result,
        output=output_of(computed.state.expr), svg=inline_svg(computed.result.svg, lit.classes()),
        session=sid, shown=shown, current=steps[upto] if upto < len(steps) else None, at=upto,
        expected=len(now.current.expected) if now.current else 0, tries=now.tries,
        feedback=feedback, kept=kept, invalid=invalid, done=now.done, sent=now.sent,
        asked=len(computed.questions), decided=len(now.outcomes),
        points=answers.score(now.outcomes.values()),
    )
    htmx = request.headers.get("hx-request") == "true"
    html = render(
        request.app.state.templates[lang], "lti/activity.html", "stage" if htmx else None,
        **context,
    )
    headers = {"Cache-Control": "no-store", "Content-Language": lang, "Vary": "HX-Request"}
    return HTMLResponse(html, headers=headers)


async def send_score(
    lti: Lti, sid: str, session: attempts.Session, computed: Computed, now: Progress,
) -> str | None:
    """Post the session's score through AGS, once; "sent", "failed", or None if another
    request is posting it."""
    if not await attempts.claim_post(lti.store, sid):
        return await lti.store.get(attempts.SENT, sid)
    body = ags.score_body(
        session.user, answers.score(now.outcomes.values()), len(computed.questions)
    )
    registration = lti.tool.find(session.issuer, session.client_id)
    try:
        if registration is None:
            raise ags.AgsError("the platform is no longer registered")
        await ags.post_score(lti.http, lti.store, lti.tool, registration, session.lineitem, body)
        result = "sent"
    except ags.AgsError as exc:
        log.warning("LTI score not posted: %s", exc)  # URLs and statuses, never a user
        await attempts.allow_retry(lti.store, sid)
        result = "failed"
    await lti.store.put(attempts.SENT, sid, result, attempts.SESSION_SECONDS)
    return result


async def form_fields(request: Request) -> QueryParams | None:
    """An answer's form fields, or None when it carries one an answer does not have (such
    as a score): the server counts the points itself."""
    try:
        fields = QueryParams(await form_pairs(request, MAX_FIELDS))
    except ValueError:  # more fields than an answer has
        return None
    if set(fields.keys()) - ANSWER_FIELDS:
        return None
    return fields


async def opened(request: Request, fields: QueryParams) -> tuple[str, attempts.Session] | Response:
    """The session an answer names, once it is open; or the refusal."""
    lti = lti_of(request)
    sid = fields.get("session", "")
    session = await attempts.load(lti.store, sid)
    if session is None:
        log.info("LTI answer refused: no such session")
        return refuse(NOT_FOUND, NOT_OPEN)
    if await lti.store.get(attempts.SENT, sid) == "sent":
        return refuse(CONFLICT, FINISHED, session.lang)
    return sid, session


async def worked_out(request: Request, fields: QueryParams) -> tuple[Any, ...] | Response:
    """The open session an answer or a finish names, its state computed as kept at launch,
    the page's language and the progress so far; or the refusal. Raises StoreDown."""
    found = await opened(request, fields)
    if isinstance(found, Response):
        return found
    sid, session = found
    lang = i18n.negotiate(session.lang, request.headers.get("accept-language"))
    computed = await compute(request, launch_state(session.state, session.lang), lang)
    if isinstance(computed, int):
        return refuse(UNAVAILABLE, BUSY_MESSAGE, session.lang)
    return sid, session, computed, lang, await progress(lti_of(request), sid, computed)


@router.post("/lti/answer", summary="A graded exercise: one answer (or a reveal) of one step")
async def answer(request: Request) -> Response:
    fields = await form_fields(request)
    if fields is None:
        log.info("LTI answer refused: fields other than an answer's")
        return refuse(BAD_REQUEST, SCORE_REFUSED)
    try:
        found = await worked_out(request, fields)
        if isinstance(found, Response):
            return found
        sid, session, computed, lang, now = found
        step = read_step(fields.get("step"))
        question = computed.question(step)
        if question is None:
            return refuse(BAD_REQUEST, NOT_A_QUESTION, session.lang)
        if step in now.outcomes:
            return refuse(CONFLICT, DECIDED, session.lang)
        if now.current is None or step != now.current.step:
            return refuse(CONFLICT, NOT_YET, session.lang)
        return await judge(request, sid, session, computed, question, fields, lang)
    except StoreDown:
        return refuse(UNAVAILABLE, STORE_DOWN)


async def judge(
    request: Request, sid: str, session: attempts.Session, computed: Computed,
    question: answers.Question, fields: QueryParams, lang: str,
) -> Response:
    """Count the try and decide the step: right, a second try, or its worked part."""
    store = lti_of(request).store
    if fields.get("action") == "reveal":
        await attempts.count_try(store, sid, question.step)
        await attempts.decide(store, sid, question.step, answers.REVEALED)
        return await activity(request, sid, session, computed, lang)
    typed = tuple(fields.getlist("answer"))
    if len(typed) != len(question.expected):
        return refuse(BAD_REQUEST, NOT_A_QUESTION, session.lang)
    numbers = [answers.parse_number(text) for text in typed]
    kept = tuple(text[: answers.MAX_ANSWER_CHARS] for text in typed)
    unreadable = tuple(i for i, n in enumerate(numbers) if math.isnan(n))
    if unreadable:  # not a number: not a try
        return await activity(request, sid, session, computed, lang, "unreadable", kept, unreadable)
    tries = await attempts.count_try(store, sid, question.step)
    if tries > answers.TRIES:
        return refuse(CONFLICT, DECIDED, session.lang)
    rights = [answers.is_right(n, e) for n, e in zip(numbers, question.expected, strict=True)]
    outcome = answers.judged(all(rights), tries)
    if outcome is None:  # as the browser exercise marks them: each box that is wrong
        wrong = tuple(i for i, right in enumerate(rights) if not right)
        return await activity(request, sid, session, computed, lang, "wrong", kept, wrong)
    await attempts.decide(store, sid, question.step, outcome)
    return await activity(request, sid, session, computed, lang)  # the outcome is on its step


@router.post("/lti/finish", summary="A graded exercise: finish now, and send the score")
async def finish(request: Request) -> Response:
    fields = await form_fields(request)
    if fields is None:
        return refuse(BAD_REQUEST, SCORE_REFUSED)
    try:
        found = await worked_out(request, fields)
        if isinstance(found, Response):
            return found
        sid, session, computed, lang, now = found
        if now.sent != "sent":
            await send_score(lti_of(request), sid, session, computed, now)
        return await activity(request, sid, session, computed, lang)
    except StoreDown:
        return refuse(UNAVAILABLE, STORE_DOWN)
