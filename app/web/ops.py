"""For the people who run the server: health, metrics and the API's own docs."""

from __future__ import annotations

import shutil

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app.web.deps import MetricsDep, TemplatesDep

health = APIRouter()
metrics = APIRouter(include_in_schema=False)
docs = APIRouter(include_in_schema=False)


@health.get("/healthz", summary="200 when the app can serve")
def healthz() -> JSONResponse:
    if shutil.which("dot") is None:
        return JSONResponse({"status": "Graphviz is missing"}, status_code=503)
    return JSONResponse({"status": "ok"})


@metrics.get("/metrics")
def prometheus(registry: MetricsDep) -> Response:
    body, content_type = registry.render()
    return Response(body, media_type=content_type)


@docs.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request, templates: TemplatesDep) -> HTMLResponse:
    html = templates["en"].get_template("docs.html").render(openapi_url=request.app.openapi_url)
    return HTMLResponse(html)
