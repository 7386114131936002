"""The HTML pages: the playground, its embed view, the htmx blocks, the share panel, the lesson.

A page is a pure function of its address, language and htmx target, so the
HTML of successful pages is cached: a class opening one link costs one
rendering.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import QueryParams

from ..core.draw.layout import RenderError
from ..core.draw.render import VIEWS
from ..core.language.rules import ExprError, Extras
from ..serve.cache import Encoded, MemoryCache
from ..serve.engine import Busy, Engine, Overrun
from ..serve.jobs import make_job, make_train_job
from ..serve.settings import Settings
from . import i18n
from .context import error_view, page_context
from .deps import (
    SettingsDep,
    TemplatesDep,
    get_engine,
    get_page_cache,
    get_settings,
    get_templates,
)
from .embedding import embed_options, lesson_frames
from .errors import BUSY_MESSAGE, NOT_DRAWN, overrun_error
from .examples import EXAMPLES, Example
from .headers import content_security_policy, encoded_html_response
from .links import public_base_url
from .state import (
    PageState,
    check_names,
    from_query,
    variables_of,
    with_variables,
)
from .templating import Environments, render

logger = logging.getLogger(__name__)
router = APIRouter()

# Blocks that need no computed result.
SMALL_BLOCKS = ("fields", "share_snippet")

# A derivative panel computed within this many seconds marks its function as quick
# (in the page cache): the playground's later results of that function carry the
# panel, so the page asks once, not twice, if the worker that computes the result has
# derived the formula before (Pages.carried). sympy's work per function is bounded
# (autograd_playground.core.teach.calculus), and each worker keeps the formula it derived.
QUICK_CALCULUS_SECONDS = 0.25
QUICK = Encoded.of_text("")


@dataclass
class Pages:
    """One request's view of the page machinery: its settings, engine, templates, cache."""

    request: Request
    settings: Settings
    engine: Engine
    templates: Environments
    cache: MemoryCache

    @property
    def client(self) -> str | None:
        """Whose share of the workers this page's computations count against (Guard)."""
        return getattr(self.request.state, "client", None)

    def state(self, path: str = "/") -> PageState:
        # The whole query is already bounded by max_query_chars.
        return from_query(self.request.query_params, self.settings.max_query_chars, path)

    def htmx_block(self) -> str | None:
        """The block an htmx request asks for by its target; None for a full page."""
        headers = self.request.headers
        target = headers.get("hx-target")
        if headers.get("hx-request") == "true" and target in ("result", "fields"):
            return target
        return None

    async def respond(
        self,
        state: PageState,
        block: str | None,
        template: str = "index.html",
        **extra: Any,
    ) -> Response:
        request = self.request
        lang = i18n.negotiate(state.lang, request.headers.get("accept-language"))
        request.state.expr = state.expr
        base_url = public_base_url(request, self.settings)
        # The state with one value per variable: what the page shows, and its cache key.
        shown, parse_error = self.named(state)
        key = self.page_key(shown, template, block, lang, base_url, extra)
        hit = await self.cache.get(key)
        if hit is not None:
            request.state.cache = "hit"
            return encoded_html_response(hit, lang, request.headers)

        async def make() -> tuple[Encoded, int, dict[str, str], str | None]:
            carried = block != "calculus" and await self.calculus_is_quick(state, block)
            state_, outcome, status, headers = await self.result(
                state, lang, with_result=block not in SMALL_BLOCKS, named=(shown, parse_error),
                extras=self.carried(state) if carried else (
                    state.extras if block == "calculus" else self.plain(state)),
                aside=block == "calculus",
            )
            if carried and getattr(request.state, "outcome", None) == "timeout":
                # The panel made the result too slow: the result alone, the panel apart.
                request.state.outcome = None
                state_, outcome, status, headers = await self.result(
                    state, lang, with_result=True, extras=self.plain(state),
                    named=(shown, parse_error),
                )
            # Quick only if computed just now (an answer from the result cache says nothing
            # about how long the panel takes), by the worker's time: a panel aside may
            # have waited its turn for a worker (Engine.aside_slots).
            took = getattr(request.state, "took", None)
            if block == "calculus" and outcome and "result" in outcome and took is not None \
                    and getattr(request.state, "cache", None) == "miss" \
                    and took < QUICK_CALCULUS_SECONDS:
                await self.cache.put(quick_calculus_key(state), QUICK)
            context = page_context(state_, lang, outcome, only_calculus=block == "calculus")
            context.update(base_url=base_url, **extra)
            # Blocks live in index.html; embed.html only inherits them, and a block is
            # rendered from the template that defines it. Links in it follow state.path.
            html = render(
                self.templates[lang], "index.html" if block else template, block, **context
            )
            # Encoded once, gzip too, for everyone sharing it and every later hit.
            body = Encoded.of_text(html)
            if outcome and "result" in outcome:
                await self.cache.put(key, body)
            # What the result told the log line, for the requests that share this page.
            outcome = getattr(request.state, "outcome", None)
            return body, status, headers, outcome

        # The same page asked for by many at once (a class opening one link) is
        # rendered once; the others get its HTML.
        (body, status, headers, outcome), shared = await self.cache.flights.run(key, make)
        if shared:
            request.state.cache = "shared"
            if outcome:
                request.state.outcome = outcome
        return encoded_html_response(body, lang, request.headers, status, headers)

    def named(self, state: PageState) -> tuple[PageState, ExprError | None]:
        """The state with exactly one value per variable of its function (with_variables),
        or as it is with the reason the function cannot be read."""
        names, parse_error = variables_of(state.expr, self.settings.limits())
        return (state if parse_error is not None else with_variables(state, names)), parse_error

    @staticmethod
    def page_key(
        shown: PageState, template: str, block: str | None, lang: str, base_url: str,
        extra: dict[str, Any],
    ) -> str:
        """The page cache's key: the state the page shows (``named``), not the address as
        typed.

        Values of names the function does not use (``&zz=1``) change nothing on
        the page, so they make no new entry: a unique address of a kept page is a
        hit, not a new rendering.
        """
        return "\n".join((template, block or "", lang, base_url, repr(shown), repr(extra)))

    @staticmethod
    def plain(state: PageState) -> Extras:
        """What a result asks for without the derivative panel: no formula, but the numbers
        of the mode on (second order, accumulation), which the output panel and the code
        show on the first screen."""
        return Extras(order=state.order, accumulate=state.accumulate, retain_grad=state.retain)

    @staticmethod
    def carried(state: PageState) -> Extras:
        """What a result that carries its panel asks for: the panel only if its worker
        has the formula already. A worker new to the function (just started, or
        replaced after ``worker_max_tasks``) answers the result alone at once, and the
        page loads the panel apart, as for a function not yet quick."""
        return replace(state.extras, known_only=True)

    async def calculus_is_quick(self, state: PageState, block: str | None) -> bool:
        """Whether the playground's result (page or block) should carry the derivative
        panel: the function's panel was answered quickly here before. An embed keeps its
        panel closed until asked for, so it is never carried there."""
        return (
            block in (None, "result") and state.path == "/" and state.shows("derivative")
            and await self.cache.get(quick_calculus_key(state)) is not None
        )

    async def result(
        self, state: PageState, lang: str, with_result: bool, extras: Extras = Extras(),
        named: tuple[PageState, ExprError | None] | None = None, aside: bool = False,
    ) -> tuple[PageState, dict[str, Any] | None, int, dict[str, str]]:
        """The state with its variables, and the result or the error to show, and the status.

        ``named``: ``self.named(state)``, when the caller has it already. ``aside``: the
        derivative panel loaded apart (Engine.compute)."""
        request = self.request
        limits = self.settings.limits()
        state, parse_error = named or self.named(state)
        if not with_result:
            return state, None, 200, {}
        status, headers = 200, {}
        try:
            if parse_error is not None:
                raise parse_error
            check_names(state.values)
            inputs = {name: parse_value(name, text) for name, text in state.values.items()}
            grads = {name: state.grad_on(name) for name in state.values}
            # The annotated view writes every gradient on the graph: an exercise draws the plain one.
            view = "torchviz" if state.exercise else state.view
            job = make_job(state.expr, inputs, grads, view, limits, extras, state.collapse)
            result, request.state.cache = await self.engine.compute(
                job, client=self.client, aside=aside)
            request.state.took = self.engine.took.get(job.key)
            # Our own worker's SVG is inlined as it is; any other is sanitized again.
            outcome = {"result": result.data(), "sanitized": self.engine.made_here(result)}
            if state.train and state.shows("training"):
                outcome["training"] = await self.training(state, inputs, lang)
            return state, outcome, 200, {}
        except ExprError as error:
            request.state.outcome = "refused"
            outcome = {"error": error_view(error, state.expr, lang)}
        except Overrun as exc:
            request.state.outcome = "timeout"
            outcome = {"error": error_view(overrun_error(exc, self.settings), state.expr, lang)}
        except Busy as exc:
            request.state.outcome = "busy"
            status, headers = 503, {"Retry-After": str(exc.retry_after)}
            outcome = {"error": {"message": i18n.message(lang, BUSY_MESSAGE), "where": None}}
        except RenderError:
            logger.warning("the graph of a page could not be drawn", exc_info=True)
            status, headers = 503, {"Retry-After": "2"}
            outcome = {"error": {"message": i18n.message(lang, NOT_DRAWN), "where": None}}
        return state, outcome, status, headers


    async def training(self, state: PageState, inputs: dict[str, Any], lang: str) -> dict[str, Any]:
        """The training view's run, or the sentence that says why there is none.

        A run that cannot be made leaves the rest of the page as it is.
        """
        try:
            job = make_train_job(
                state.expr, inputs, list(state.train), parse_rate(state.lr), state.steps,
                not state.accumulate, self.settings.limits(),
            )
            run, _ = await self.engine.train(job, client=self.client)
            return {"run": run.data()}
        except ExprError as error:
            return {"error": error_view(error, state.expr, lang)}
        except Overrun as exc:
            return {"error": error_view(overrun_error(exc, self.settings), state.expr, lang)}
        except Busy:
            return {"error": {"message": i18n.message(lang, BUSY_MESSAGE), "where": None}}


async def get_pages(request: Request) -> Pages:
    """The page machinery, from deps.py's providers called here: one dependency for FastAPI
    to resolve on every page, not five."""
    return Pages(
        request, await get_settings(request), await get_engine(request),
        await get_templates(request), await get_page_cache(request),
    )


PagesDep = Annotated[Pages, Depends(get_pages)]


def quick_calculus_key(state: PageState) -> str:
    """The page cache's mark for a function whose derivative panel is quick (any values)."""
    return "\n".join(("quick-calculus", state.expr, repr(state.extras)))


@router.get("/", response_class=HTMLResponse, summary="The playground page")
async def index(pages: PagesDep) -> HTMLResponse:
    return await pages.respond(pages.state(), pages.htmx_block())


@router.get("/embed", response_class=HTMLResponse, summary="The compact view for an iframe")
async def embed(pages: PagesDep) -> HTMLResponse:
    response = await pages.respond(pages.state("/embed"), pages.htmx_block(), "embed.html")
    # Course sites are many and unknown: /embed may be framed by what the setting allows.
    response.headers["Content-Security-Policy"] = content_security_policy(
        pages.settings.allowed_frame_ancestors
    )
    return response


@router.get("/fields", response_class=HTMLResponse, summary="The value fields for a function")
async def fields(pages: PagesDep) -> HTMLResponse:
    return await pages.respond(pages.state(), "fields")


@router.get("/share", response_class=HTMLResponse, summary="The embed snippet for a state")
async def share(request: Request, pages: PagesDep) -> HTMLResponse:
    state = from_query(QueryParams(request.query_params.get("state", "")[:20_000]))
    options = embed_options(request.query_params, state)
    return await pages.respond(state, "share_snippet", share=options)


@router.get("/calculus", response_class=HTMLResponse,
            summary="The derivative, plot, second order and accumulation for a state (htmx)")
async def calculus(pages: PagesDep) -> HTMLResponse:
    return await pages.respond(pages.state(), "calculus")


@router.get("/lesson", response_class=HTMLResponse, summary="A demo course page with live frames")
async def lesson(request: Request, settings: SettingsDep, templates: TemplatesDep) -> HTMLResponse:
    language = i18n.negotiate(
        request.query_params.get("lang"), request.headers.get("accept-language")
    )
    origin = settings.lesson_embed_origin
    frames = {name: origin + url for name, url in lesson_frames(language).items()}
    html = templates[language].get_template("lesson.html").render(
        state=PageState(lang=language),
        lang=language,
        other_lang="en" if language == "de" else "de",
        frames=frames,
        host_script=f"{origin}/static/embed-host.js",
        playground_url=PageState(lang=language).url("/"),
    )
    response = HTMLResponse(html)
    response.headers["Content-Security-Policy"] = content_security_policy(
        settings.playground_frame_ancestors, origin
    )
    response.headers["Vary"] = "Accept-Language"
    response.headers["Content-Language"] = language
    return response


async def warm_cache(engine: Engine, settings: Settings) -> None:
    """Compute the examples and the lesson's frames before the first student asks, and the
    first example's derivative panel: admission then prices the heavy jobs (sympy) by a
    measurement, not by its first guess, which refused plain jobs queued behind a few
    heavy ones at a class's first minute."""
    lesson = Example("", "x**2", {"x": "3"})
    jobs = [(example, view, Extras()) for example in (*EXAMPLES, lesson) for view in VIEWS]
    jobs.append((EXAMPLES[0], VIEWS[0], Extras(symbolic=True)))
    for example, view, extras in jobs:
        inputs = {name: parse_value(name, text) for name, text in example.values.items()}
        grads = {name: name not in example.nograd for name in example.values}
        try:
            await engine.compute(
                make_job(example.expr, inputs, grads, view, settings.limits(), extras))
        except (ExprError, Overrun, Busy, RenderError):
            # A start-up without the cache still serves.
            logger.warning("could not warm the cache with %r", example.expr, exc_info=True)


def parse_value(name: str, text: str) -> Any:
    """A value field's text as a number or a nested list of numbers (JSON, never code)."""
    text = text.strip()
    try:
        if text.startswith("["):
            return json.loads(text)
        # A decimal comma, as many German students write it.
        return float(text.replace(",", "."))
    except (ValueError, RecursionError):
        raise ExprError(
            "The value of '{name}' is not a number or a list like [1, 2, 3].", {"name": name}
        ) from None


def parse_rate(text: str) -> float:
    """The learning rate's text as a number (a decimal comma too), or a sentence."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise ExprError("The learning rate '{text}' is not a number.", {"text": text}) from None
