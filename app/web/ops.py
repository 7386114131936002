"""For the people who run the server: health, metrics and the API's own docs."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..core.draw.layout import layout_available
from ..serve.settings import metrics_networks
from .deps import EngineDep, MetricsDep, SettingsDep, TemplatesDep
from .templating import VERSION

health = APIRouter()
metrics = APIRouter(include_in_schema=False)
docs = APIRouter(include_in_schema=False)


@health.get("/healthz", summary="200 when the app can compute; 503 while it cannot")
async def healthz(engine: EngineDep) -> JSONResponse:
    """Reads the worker pool's state; queues no computation, so it stays fast under load."""
    if not layout_available():
        return health_answer("Graphviz is missing", 503)
    if not engine.healthy:
        return health_answer("The workers cannot compute right now; they are being restarted.", 503)
    return health_answer("ok", 200)


@health.get("/livez", summary="200 while the process answers, whatever its workers do")
async def livez() -> JSONResponse:
    """For a liveness probe: only a wedged event loop fails it, never a pool being rebuilt.

    /healthz's 503 while the workers restart should take a replica out of
    service, not restart it; restarting it then would turn a rebuild into a loop.
    """
    return health_answer("alive", 200)


def health_answer(status: str, code: int) -> JSONResponse:
    return JSONResponse({"status": status, "version": VERSION}, status_code=code)


@metrics.get("/metrics")
async def prometheus(request: Request, registry: MetricsDep, settings: SettingsDep) -> Response:
    allowed = metrics_networks(settings.metrics_allow)
    if allowed is not None and not _peer_in(request, allowed):
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    body, content_type = registry.render()
    return Response(body, media_type=content_type)


def _peer_in(request: Request, networks: list) -> bool:
    """Whether the connecting address (not a forwarded one) is in ``networks``."""
    try:
        peer = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(peer in network for network in networks)


@docs.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request, templates: TemplatesDep) -> HTMLResponse:
    html = templates["en"].get_template("docs.html").render(openapi_url=request.app.openapi_url)
    return HTMLResponse(html)
