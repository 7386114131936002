"""The web app: routes that translate HTTP to core calls and back.

Build it with ``create_app(settings)``; ``uvicorn app.web.main:create_app
--factory`` does that with settings from the environment.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import QueryParams
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core import explain
from app.web import i18n, page
from app.serve.engine import Busy, Engine, Overrun, default_workers, make_job
from app.core.expr import N_, ExprError
from app.serve.metrics import Metrics
from app.serve.cache import Encoded, MemoryCache, RedisCache
from app.serve.ratelimit import RateLimiter, RedisRateLimiter, client_address
from app.core.render import RenderError, inline_svg, layout_available
from app.serve.settings import Settings
from app.core.values import format_value

def content_security_policy(frame_ancestors: str, also: str = "") -> str:
    """Scripts and styles only from this server (plus ``also``): no inline script, no CDN."""
    extra = f" {also}" if also else ""
    return (
        f"default-src 'self'; script-src 'self'{extra}; style-src 'self'; "
        f"img-src 'self' data:; frame-src 'self'{extra}; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {frame_ancestors}"
    )


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# Routes a client address is rate-limited on, and which of them answer with HTML.
LIMITED_ROUTES = {"/", "/embed", "/fields", "/share", "/oembed", "/api/graph", "/lesson"}
PAGE_ROUTES = {"/", "/embed", "/fields", "/share", "/lesson"}
ROUTE_LABELS = LIMITED_ROUTES | {"/healthz", "/metrics", "/docs", "/openapi.json"}
RATE_LIMITED_MESSAGE = N_(
    "Too many requests from your network; please wait {seconds} s and try again."
)
BODY_TOO_LARGE = N_("The request body is larger than {limit} bytes.")
ADDRESS_TOO_LONG = N_("The address is longer than {limit} characters; use a shorter function.")

access_log = logging.getLogger("playground.access")

HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")

# Blocks that need no computed result.
SMALL_BLOCKS = ("fields", "share_snippet")

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

class GraphRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "expression": "5*x**3 + 2*x**2 + 4*x + 8",
                    "inputs": {"x": 2},
                    "requires_grad": {"x": True},
                }
            ]
        },
    )

    # A coarse bound on the body; the setting max_length gives the real, explained limit.
    expression: str = Field(max_length=100_000, description="The function, e.g. 5*x**3 + 2*x**2.")
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        max_length=100,
        description="A value per variable: a number or a nested list of numbers.",
    )
    requires_grad: dict[str, StrictBool] | None = Field(
        default=None, max_length=100, description="Per variable; true where missing."
    )
    view: Literal["torchviz", "annotated"] = Field(
        default="torchviz", description="Which picture `svg` holds."
    )


class Refusal(BaseModel):
    detail: str = Field(description="A sentence a student can act on.")
    error: dict[str, Any] | None = Field(
        default=None, description="Where the problem is: column, start, end, token."
    )


REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {"model": Refusal, "description": "The function is too long."},
    422: {"model": Refusal, "description": "The function or its values were refused."},
    503: {"model": Refusal, "description": "The server is busy, or the graph could not be drawn."},
}


def refusal_body(error: ExprError) -> dict[str, Any]:
    return {
        "detail": error.message,
        "error": {
            "template": error.template,
            "params": {k: str(v) for k, v in error.params.items()},
            "column": error.column,
            "start": error.start,
            "end": error.end,
        },
    }


def _validation_sentence(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "The request could not be read."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    if tuple(first.get("loc", ())) == ("body",):
        return (
            "The request body must be a JSON object such as "
            '{"expression": "x**2", "inputs": {"x": 3}}, sent as application/json.'
        )
    message = str(first.get("msg", "is invalid")).rstrip(".")
    if where:
        return f"The field '{where}' is not valid: {message}."
    return f"The request is not valid: {message}."


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def overrun_error(exc: Overrun, settings: Settings) -> ExprError:
    if exc.reason == "timeout":
        return ExprError(
            "The computation took longer than {limit} s and was stopped; make the function "
            "smaller.",
            {"limit": f"{settings.request_timeout:g}"},
        )
    return ExprError(
        "The computation was stopped because it needed more than the server allows; make the "
        "function smaller."
    )


NOT_DRAWN = N_("The graph could not be drawn right now; please try again.")
BUSY_MESSAGE = N_("The server is busy with other students' work; please try again in a moment.")


def build_engine(settings: Settings, metrics: Metrics) -> Engine:
    workers = default_workers() if settings.workers is None else settings.workers

    def on_event(kind: str, value: str) -> None:
        if kind == "cache":
            metrics.cache_event(value)
        elif kind == "restart":
            metrics.worker_restart(value)
        elif kind == "queue":
            metrics.set_queue_depth(int(value))

    if settings.redis_url:
        cache = RedisCache(settings.redis_url, settings.cache_ttl_seconds)
    else:
        cache = MemoryCache(int(settings.cache_mb * 2**20))
    return Engine(
        on_event=on_event,
        cache=cache,
        workers=workers,
        timeout=settings.request_timeout,
        limits=settings.limits(),
        dot_timeout=settings.dot_timeout,
        max_queue=settings.max_queue,
        max_wait=settings.max_wait,
        max_tasks=settings.worker_max_tasks,
        memory_mb=settings.worker_memory_mb,
        cache_bytes=int(settings.cache_mb * 2**20),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    engine = build_engine(settings, metrics)
    if settings.redis_url:
        limiter = RedisRateLimiter(
            settings.redis_url, settings.rate_limit_per_minute, settings.rate_limit_burst
        )
    else:
        limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    trusted = frozenset(p for p in settings.trusted_proxies.split(",") if p)
    # The HTML of successful pages: a page is a pure function of its address,
    # language and htmx target, so a class opening one link costs one rendering.
    rendered: MemoryCache[str] = MemoryCache(int(settings.page_cache_mb * 2**20), size_of=len)
    _setup_access_log()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine.start()
        if settings.warm_cache:
            await _warm_cache(engine, settings)
        yield
        engine.close()
        for shared in (engine.cache, limiter):
            if hasattr(shared, "close"):
                await shared.close()

    app = FastAPI(
        lifespan=lifespan,
        max_body_size=None,  # BodyLimit below answers with a sentence, declared length or not
        title="Autograd Playground",
        description="Type a function; real PyTorch builds its graph and backpropagates.",
        docs_url=None,  # served below from static/vendor, not from a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.state.settings = settings
    app.state.engine = engine
    app.state.metrics = metrics
    default_policy = content_security_policy(settings.playground_frame_ancestors)
    # Course sites are many and unknown: /embed may be framed by what the setting allows.
    embed_policy = content_security_policy(settings.allowed_frame_ancestors)
    lesson_policy = content_security_policy(
        settings.playground_frame_ancestors, settings.lesson_embed_origin
    )

    @app.middleware("http")
    async def observe(request: Request, call_next):
        """Rate limit, security headers, metrics and one log line, for every request."""
        start = time.perf_counter()
        path = request.url.path
        peer = request.client.host if request.client else None
        forwarded = ", ".join(request.headers.getlist("x-forwarded-for")) or None
        client = client_address(peer, forwarded, trusted)
        wait = await limiter.take(client) if path in LIMITED_ROUTES else 0.0
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_body_bytes:
            response = refuse_early(request, 413, BODY_TOO_LARGE, limit=settings.max_body_bytes)
            request.state.outcome = "refused"
        elif len(request.url.query) > settings.max_query_chars:
            response = refuse_early(request, 414, ADDRESS_TOO_LONG, limit=settings.max_query_chars)
            request.state.outcome = "refused"
        elif wait > 0:
            seconds = math.ceil(wait)
            response = refuse_early(
                request, 429, RATE_LIMITED_MESSAGE, {"Retry-After": str(seconds)}, seconds=seconds
            )
            request.state.outcome = "rate_limited"
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", default_policy)
        cache = getattr(request.state, "cache", None)
        if cache:
            response.headers["X-Cache"] = cache
        if settings.replica_name:
            response.headers["X-Served-By"] = settings.replica_name
        seconds = time.perf_counter() - start
        route = path if path in ROUTE_LABELS else "/static" if path.startswith("/static/") else "unmatched"
        outcome = getattr(request.state, "outcome", None) or _outcome_of(response.status_code)
        metrics.observe_request(route, response.status_code, seconds)
        metrics.outcome(outcome)
        access_log.info(
            json.dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "ms": round(seconds * 1000, 1),
                    "cache": getattr(request.state, "cache", "-"),
                    "outcome": outcome,
                    "expr": getattr(request.state, "expr", "")[: settings.log_expression_chars],
                },
                ensure_ascii=False,
            )
        )
        return response

    def refuse_early(
        request: Request,
        status: int,
        template: str,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> Response:
        """A refusal before any route runs: a JSON sentence, or on pages, a page saying it."""
        if request.url.path not in PAGE_ROUTES:
            detail = template.format(**params)
            return JSONResponse({"detail": detail}, status_code=status, headers=headers)
        lang_param = request.query_params.get("lang")
        state = page.PageState(lang=lang_param if lang_param in i18n.LANGUAGES else None)
        lang = i18n.negotiate(state.lang, request.headers.get("accept-language"))
        message = i18n.message(lang, template, **params)
        env = environments[lang]
        context = {"state": state, "lang": lang, "message": message}
        if request.headers.get("hx-request") == "true":
            html = render_block(env, "message.html", "message", **context)
        else:
            html = env.get_template("message.html").render(**context)
        return HTMLResponse(html, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's words when it cannot even decode the body (not UTF-8, nested
            # beyond its parser's depth, a number too long): the JSON is the problem.
            request.state.outcome = "refused"
            return JSONResponse({"detail": "The request body is not valid JSON."}, 422)
        return JSONResponse({"detail": str(exc.detail)}, exc.status_code, headers=exc.headers)

    @app.exception_handler(ExprError)
    async def expr_error(request: Request, exc: ExprError) -> JSONResponse:
        request.state.outcome = "refused"
        return JSONResponse(refusal_body(exc), status_code=exc.status)

    @app.exception_handler(RenderError)
    async def render_error(_: Request, exc: RenderError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        request.state.outcome = "busy"
        return JSONResponse(
            {"detail": BUSY_MESSAGE}, status_code=503, headers={"Retry-After": str(exc.retry_after)}
        )

    @app.exception_handler(Overrun)
    async def overrun(request: Request, exc: Overrun) -> JSONResponse:
        request.state.outcome = "timeout"
        error = overrun_error(exc, settings)
        return JSONResponse(refusal_body(error), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        too_long = any(
            e.get("type") == "string_too_long" and tuple(e.get("loc", ()))[-1:] == ("expression",)
            for e in exc.errors()
        )
        if too_long:
            error = ExprError(
                "The function is longer than {limit} characters.", {"limit": settings.max_length},
                status=413,
            )
            return JSONResponse(refusal_body(error), status_code=413)
        return JSONResponse({"detail": _validation_sentence(exc)}, status_code=422)

    @app.post("/api/graph", responses=REFUSALS, summary="Build, backpropagate and draw a function")
    async def graph(request: Request, body: GraphRequest, config: SettingsDep) -> JSONResponse:
        if len(body.inputs) > config.max_variables:
            raise ExprError(
                "Too many variables: {count}; the limit is {limit}.",
                {"count": len(body.inputs), "limit": config.max_variables},
            )
        request.state.expr = body.expression
        job = make_job(
            body.expression, body.inputs, body.requires_grad, body.view, config.limits()
        )
        result, request.state.cache = await engine.compute(job)
        # Sent as the worker encoded it: no validation, no encoding per request.
        return encoded_response(result, request.headers.get("accept-encoding", ""))

    environments = {lang: _environment(lang) for lang in i18n.LANGUAGES}
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def page_response(
        request: Request,
        state: page.PageState,
        block: str | None,
        template: str = "index.html",
        **extra: Any,
    ) -> HTMLResponse:
        lang = i18n.negotiate(state.lang, request.headers.get("accept-language"))
        request.state.expr = state.expr
        base_url = public_base_url(request)
        key = "\n".join(
            (template, block or "", lang, state.path, request.url.query, base_url, repr(extra))
        )
        hit = await rendered.get(key)
        if hit is not None:
            request.state.cache = "hit"
            return html_response(hit, 200, {}, lang)
        state, outcome, status, headers = await page_result(
            request, state, lang, with_result=block not in SMALL_BLOCKS
        )
        context = page_context(state, lang, outcome)
        context.update(base_url=base_url, **extra)
        env = environments[lang]
        if block:
            # Blocks live in index.html; embed.html only inherits them, and a block is
            # rendered from the template that defines it. Links in it follow state.path.
            html = render_block(env, "index.html", block, **context)
        else:
            html = env.get_template(template).render(**context)
        if outcome and "result" in outcome:
            await rendered.put(key, html)
        return html_response(html, status, headers, lang)

    def html_response(html: str, status: int, headers: dict[str, str], lang: str) -> HTMLResponse:
        response = HTMLResponse(html, status_code=status, headers=headers)
        response.headers["Vary"] = "HX-Request, HX-Target, Accept-Language"
        response.headers["Content-Language"] = lang
        return response

    async def page_result(
        request: Request, state: page.PageState, lang: str, with_result: bool
    ) -> tuple[page.PageState, dict[str, Any] | None, int, dict[str, str]]:
        """The state with its variables, and the result or the error to show, and the status."""
        limits = settings.limits()
        names, parse_error = page.variables_of(state.expr, limits)
        if parse_error is None:
            state = page.with_variables(state, names)
        if not with_result:
            return state, None, 200, {}
        status, headers = 200, {}
        try:
            if parse_error is not None:
                raise parse_error
            page.check_names(state.values)
            inputs = {name: page.parse_value(name, text) for name, text in state.values.items()}
            grads = {name: state.grad_on(name) for name in state.values}
            job = make_job(state.expr, inputs, grads, state.view, limits)
            result, request.state.cache = await engine.compute(job)
            return state, {"result": result.data()}, 200, {}
        except ExprError as error:
            request.state.outcome = "refused"
            outcome = {"error": _error_view(error, state.expr, lang)}
        except Overrun as exc:
            request.state.outcome = "timeout"
            outcome = {"error": _error_view(overrun_error(exc, settings), state.expr, lang)}
        except Busy as exc:
            request.state.outcome = "busy"
            status, headers = 503, {"Retry-After": str(exc.retry_after)}
            outcome = {"error": {"message": i18n.message(lang, BUSY_MESSAGE), "where": None}}
        except RenderError:
            status, headers = 503, {"Retry-After": "2"}
            outcome = {"error": {"message": i18n.message(lang, NOT_DRAWN), "where": None}}
        return state, outcome, status, headers

    def public_base_url(request: Request) -> str:
        """This server as the browser reaches it, for links others will open (share, oEmbed).

        Behind a trusted proxy that terminates TLS, the proxy's X-Forwarded-Proto and
        -Host say how; from anyone else, those headers are ignored.
        """
        base = urlsplit(str(request.base_url))
        scheme, host = base.scheme, base.netloc
        if request.client and request.client.host in trusted:
            proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            forwarded_host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
            if proto in ("http", "https"):
                scheme = proto
            if HOST_HEADER.match(forwarded_host):
                host = forwarded_host
        return f"{scheme}://{host}"

    def htmx_block(request: Request) -> str | None:
        """The block an htmx request asks for by its target; None for a full page."""
        target = request.headers.get("hx-target")
        if request.headers.get("hx-request") == "true" and target in ("result", "fields"):
            return target
        return None

    def read_state(request: Request, path: str = "/") -> page.PageState:
        # The whole query is already bounded by max_query_chars.
        return page.from_query(request.query_params, settings.max_query_chars, path)

    @app.get("/", response_class=HTMLResponse, summary="The playground page")
    async def index(request: Request) -> HTMLResponse:
        return await page_response(request, read_state(request), htmx_block(request))

    @app.get("/embed", response_class=HTMLResponse, summary="The compact view for an iframe")
    async def embed(request: Request) -> HTMLResponse:
        state = read_state(request, "/embed")
        response = await page_response(request, state, htmx_block(request), "embed.html")
        response.headers["Content-Security-Policy"] = embed_policy
        return response

    @app.get("/fields", response_class=HTMLResponse, summary="The value fields for a function")
    async def fields(request: Request) -> HTMLResponse:
        return await page_response(request, read_state(request), "fields")

    @app.get("/share", response_class=HTMLResponse, summary="The embed snippet for a state")
    async def share(request: Request) -> HTMLResponse:
        state = page.from_query(QueryParams(request.query_params.get("state", "")[:20_000]))
        options = page.embed_options(request.query_params, state)
        return await page_response(request, state, "share_snippet", share=options)

    @app.get(
        "/oembed",
        summary="oEmbed for a playground link",
        responses={404: {"model": Refusal}, 422: REFUSALS[422], 501: {"model": Refusal}},
    )
    def oembed(request: Request, url: str, format: str = "json") -> JSONResponse:
        if format != "json":
            return JSONResponse({"detail": "Only the json format is offered."}, status_code=501)
        parts = urlsplit(url)
        if parts.path not in ("/", "/embed") or len(url) > 20_000:
            return JSONResponse(
                {"detail": "Only links to the playground (/) or /embed can be embedded."},
                status_code=404,
            )
        state = page.from_query(QueryParams(parts.query))
        options = page.embed_options(QueryParams(parts.query), state)
        return JSONResponse(page.oembed(state, options, public_base_url(request)))

    @app.get("/lesson", response_class=HTMLResponse, summary="A demo course page with live frames")
    def lesson(request: Request) -> HTMLResponse:
        language = i18n.negotiate(
            request.query_params.get("lang"), request.headers.get("accept-language")
        )
        origin = settings.lesson_embed_origin
        state = page.PageState(lang=language)
        frames = {name: origin + url for name, url in page.lesson_frames(language).items()}
        html = environments[language].get_template(f"lesson_{language}.html").render(
            state=state,
            lang=language,
            frames=frames,
            host_script=f"{origin}/static/embed-host.js",
            playground_url=page.PageState(lang=language).url("/"),
            other_lang_url="/lesson?lang=" + ("en" if language == "de" else "de"),
        )
        response = HTMLResponse(html)
        response.headers["Content-Security-Policy"] = lesson_policy
        response.headers["Vary"] = "Accept-Language"
        response.headers["Content-Language"] = language
        return response

    if settings.docs_enabled:

        @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
        def docs() -> HTMLResponse:
            html = environments["en"].get_template("docs.html").render(openapi_url=app.openapi_url)
            return HTMLResponse(html)

    if settings.metrics_enabled:

        @app.get("/metrics", include_in_schema=False)
        def prometheus() -> Response:
            body, content_type = metrics.render()
            return Response(body, media_type=content_type)

    @app.get("/healthz", summary="200 when the app can serve")
    def healthz() -> JSONResponse:
        if not layout_available():
            return JSONResponse({"status": "Graphviz is missing"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app


def _environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)
    env.globals["fmt"] = format_value
    env.globals["snippet"] = page.snippet
    env.globals["hideable"] = page.HIDEABLE
    env.globals["default_share"] = lambda state: page.EmbedOptions(lang=state.lang, step=state.step)
    return env


def page_context(
    state: page.PageState, lang: str, outcome: dict[str, Any] | None
) -> dict[str, Any]:
    """Everything index.html shows for one state and its result or error."""
    context: dict[str, Any] = {
        "state": state,
        "lang": lang,
        "examples": page.EXAMPLES,
        "result": None,
        "error": None,
        "share": None,
        "base_url": "",
    }
    if not outcome:
        return context
    if "error" in outcome:
        context["error"] = outcome["error"]
        return context
    result = outcome["result"]
    steps = explain.steps(result)
    forward = explain.forward(result) if state.forward else []
    total = len(forward) + len(steps)
    step = min(max(state.step, 0), total)
    state = dataclasses.replace(state, step=step)
    context.update(
        state=state,
        result=result,
        steps=steps,
        forward=forward,
        total=total,
        nodes=explain.node_views(result, steps),
        svg=inline_svg(result["svg"], _node_classes(step, forward, steps)),
    )
    return context


async def _warm_cache(engine: Engine, settings: Settings) -> None:
    """Compute the examples and the lesson's frames before the first student asks."""
    lesson = page.Example("", "x**2", {"x": "3"})
    for example in (*page.EXAMPLES, lesson):
        inputs = {name: page.parse_value(name, text) for name, text in example.values.items()}
        grads = {name: name not in example.nograd for name in example.values}
        for view in ("torchviz", "annotated"):
            try:
                await engine.compute(make_job(example.expr, inputs, grads, view, settings.limits()))
            except (ExprError, Overrun, Busy, RenderError):
                continue  # a start-up without the cache still serves


def _node_classes(step: int, forward: list, steps: list) -> dict[str, str]:
    """The classes the graph's nodes carry at ``step``, as the script sets them."""
    classes: dict[str, str] = {}
    if 0 < step <= len(forward):
        built = set(forward[step - 1].built)
        for view in forward:
            for node in view.built:
                classes.setdefault(node, "")
        for node in ["out"] + [s.node for s in steps]:
            if node not in built:
                classes[node] = "unbuilt"
        if forward[step - 1].node:
            classes[forward[step - 1].node] = "current"
    elif step > len(forward):
        k = step - len(forward)
        for done in steps[: k - 1]:
            classes[done.node] = "done"
        classes[steps[k - 1].node] = "current"
    return {k: v for k, v in classes.items() if v}


def _error_view(error: ExprError, text: str, lang: str) -> dict[str, Any]:
    params = dict(error.params)
    where = None
    if error.start is not None and error.start <= len(text):
        end = max(error.end or error.start + 1, error.start)
        where = {"before": text[: error.start], "bad": text[error.start : end] or " ",
                 "after": text[end:]}
    return {"message": i18n.message(lang, error.template, error.column, **params), "where": where}


def _outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status == 503:
        return "busy"
    return "refused" if status < 500 else "error"


def encoded_response(result: Encoded, accept_encoding: str) -> Response:
    """A cached or new result as it was encoded once: gzip where the client takes it."""
    headers = {"Vary": "Accept-Encoding"}
    if accepts_gzip(accept_encoding):
        headers["Content-Encoding"] = "gzip"
        return Response(result.gzip, media_type="application/json", headers=headers)
    return Response(result.json, media_type="application/json", headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (``gzip;q=0`` refuses it)."""
    for part in accept_encoding.lower().split(","):
        name, _, params = part.partition(";")
        if name.strip() in ("gzip", "x-gzip"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip("0.") == "")
    return False


def _setup_access_log() -> None:
    """One JSON line per request on standard error, whatever the server's log set-up."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


class BodyLimit:
    """Stops reading a request body past ``max_bytes``, declared or not (chunked).

    observe() already refuses a body whose Content-Length is too large before
    reading it; this catches bodies that say nothing of their length. The
    route that reads too much gets an HTTP 413 with a sentence.
    """

    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise StarletteHTTPException(
                        413, BODY_TOO_LARGE.format(limit=self.max_bytes)
                    )
            return message

        await self.app(scope, limited_receive, send)
