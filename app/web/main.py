"""The web app, wired: ``create_app(settings)`` puts the parts together and defines nothing.

``uvicorn autograd_playground.web.main:create_app --factory`` builds it with settings from the
environment. The routes are in api.py, pages.py and ops.py (and lti/ when the
``lti_config`` setting names a file), the middleware in
observe.py, cors.py, guard.py, compress.py, known_requests.py and body_limit.py, the error
answers in errors.py.
"""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..serve.build import build_engine, build_limiter
from ..serve.cache import MemoryCache
from ..serve.metrics import Metrics
from ..serve.settings import Settings, frame_sources
from . import api, errors, ops, pages
from .assets import PLAIN_CACHE, VERSIONED_CACHE, CachedStaticFiles, static_version
from .body_limit import BodyLimit
from .compress import Compress
from .cors import ApiCors
from .guard import Guard
from .headers import content_security_policy
from .known_requests import KnownRequests
from .lti import config as lti_config
from .lti import routes as lti_routes
from .lti.framing import LtiFraming
from .lti.stores import build_store
from .observe import Observe
from .templating import STATIC, environments


@asynccontextmanager
async def lifespan(app: FastAPI):
    state = app.state
    state.engine.start()
    settings = state.settings
    # A network policy filters ports, not paths: on a port of its own, /metrics can
    # be opened to the scraper while students reach only the app's port.
    listener = None
    if settings.metrics_enabled and settings.metrics_port:
        listener = state.metrics.listen(settings.metrics_port)
    if state.settings.warm_cache:
        await pages.warm_cache(state.engine, state.settings)
    if state.lti_tool is not None:
        # The platforms' keys, AGS and token calls; redirects are not followed.
        http = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        state.lti = lti_routes.Lti(state.lti_tool, build_store(settings), http, settings)
    # All the server built to start (some 235,000 objects) leaves the collector's
    # generations: a full collection, which stops every request, walks only what came
    # later, not 80 ms of objects that live as long as the process. Not where many apps
    # come and go in one process (workers=0: development, tests); and given back at the end.
    frozen = state.engine.isolated
    if frozen:
        gc.freeze()
    yield
    if frozen:
        gc.unfreeze()
    if state.lti_tool is not None:
        await state.lti.close()
    if listener is not None:
        listener.shutdown()
        listener.server_close()
    state.engine.close()
    for shared in (state.engine.cache, state.limiter):
        if hasattr(shared, "close"):
            await shared.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        lifespan=lifespan,
        max_body_size=None,  # BodyLimit answers with a sentence, declared length or not
        title="Autograd Playground",
        description="Type a function; real PyTorch builds its graph and backpropagates.",
        docs_url=None,  # served by ops.docs from static/vendor, not from a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    state = app.state
    state.settings = settings
    state.metrics = Metrics()
    state.engine = build_engine(settings, state.metrics)
    state.limiter = build_limiter(settings)
    version = static_version(STATIC)
    state.templates = environments(version)
    state.page_cache = MemoryCache(int(settings.page_cache_mb * 2**20))
    # LTI is on when its configuration names a file; a broken file stops the start.
    state.lti_tool = lti_config.load(settings.lti_config) if settings.lti_config else None

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # Outside BodyLimit, which raises past the limit only as a route reads the body.
    app.add_middleware(
        KnownRequests,
        engine=state.engine,
        text_chars=settings.log_expression_chars,
        max_body=min(16_384, settings.max_body_bytes),
    )
    hosts = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    if hosts and "*" not in hosts:
        # Inside Observe: a refused Host is still logged, counted and given the headers.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False)
    # HTML, JSON and SVG are text that shrinks to a fifth. Level 6: within a few
    # per cent of 9's size at a third of its time. API results come gzipped from
    # the cache already (Content-Encoding set), and this leaves them alone.
    app.add_middleware(Compress, minimum_size=1024, compresslevel=6)
    # Inside the API's CORS: a 413, 414, 429 or 500 from /api/* names the allowed
    # origin too, so that a course page's script can read the sentence.
    app.add_middleware(
        Guard, settings=settings, limiter=state.limiter, templates=state.templates
    )
    # Inside Observe: a preflight is logged and given the security headers. It is
    # answered before Guard, so it is not rate limited (it computes nothing).
    app.add_middleware(ApiCors, sources=frame_sources(settings.allowed_frame_ancestors))
    if state.lti_tool is not None:
        # Inside Observe, whose default policy it rewrites for /lti/ (and only there).
        app.add_middleware(
            LtiFraming,
            origins=state.lti_tool.origins(),
            default_policy=content_security_policy(settings.playground_frame_ancestors),
        )
    app.add_middleware(Observe, settings=settings, metrics=state.metrics)
    errors.install(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(ops.health)
    if state.lti_tool is not None:
        app.include_router(lti_routes.router)
    if settings.docs_enabled:
        app.include_router(ops.docs)
    if settings.metrics_enabled and not settings.metrics_port:
        app.include_router(ops.metrics)
    app.mount(
        f"/static/{version}",
        CachedStaticFiles(directory=STATIC, cache_control=VERSIONED_CACHE),
        name="static-versioned",
    )
    app.mount(
        "/static", CachedStaticFiles(directory=STATIC, cache_control=PLAIN_CACHE), name="static"
    )
    return app
