"""Refusals as HTTP: which status each error of the core and the pool gets, and its body.

The core's errors carry no HTTP status; this module is the one place that maps
them: too long is 413, any other refusal 422, a busy pool or a failed layout 503.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.draw.layout import RenderError
from ..core.language.rules import N_, ExprError, TooLong
from ..serve.engine import Busy, Overrun
from ..serve.settings import Settings

logger = logging.getLogger(__name__)

NOT_DRAWN = N_("The graph could not be drawn right now; please try again.")
BUSY_MESSAGE = N_("The server is busy with other students' work; please try again in a moment.")


class Refusal(BaseModel):
    detail: str = Field(description="A sentence a student can act on.")
    error: dict[str, Any] | None = Field(
        default=None,
        description="Where the problem is: line (in a program of several lines), column "
        "(within that line), start and end (offsets into the whole text), template, params.",
    )


REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {"model": Refusal, "description": "The function is too long."},
    422: {"model": Refusal, "description": "The function or its values were refused."},
    503: {"model": Refusal, "description": "The server is busy, or the graph could not be drawn."},
}


def status_of(error: ExprError) -> int:
    return 413 if isinstance(error, TooLong) else 422


def refusal_body(error: ExprError) -> dict[str, Any]:
    return {
        "detail": error.message,
        "error": {
            "template": error.template,
            "params": {k: str(v) for k, v in error.params.items()},
            "line": error.line,
            "column": error.column,
            "start": error.start,
            "end": error.end,
        },
    }


def refusal(error: ExprError) -> JSONResponse:
    return JSONResponse(refusal_body(error), status_code=status_of(error))


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


def validation_sentence(exc: RequestValidationError) -> str:
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


# --- handlers: the JSON API's answers to each error ---------------------------


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400:
        # FastAPI's words when it cannot even decode the body (not UTF-8, nested
        # beyond its parser's depth, a number too long): the JSON is the problem.
        request.state.outcome = "refused"
        return JSONResponse({"detail": "The request body is not valid JSON."}, 422)
    return JSONResponse({"detail": str(exc.detail)}, exc.status_code, headers=exc.headers)


async def expr_error(request: Request, exc: ExprError) -> JSONResponse:
    request.state.outcome = "refused"
    return refusal(exc)


async def render_error(_: Request, exc: RenderError) -> JSONResponse:
    logger.warning("a graph could not be drawn", exc_info=exc)
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "2"})


async def busy(request: Request, exc: Busy) -> JSONResponse:
    request.state.outcome = "busy"
    return JSONResponse(
        {"detail": BUSY_MESSAGE}, status_code=503, headers={"Retry-After": str(exc.retry_after)}
    )


async def overrun(request: Request, exc: Overrun) -> JSONResponse:
    request.state.outcome = "timeout"
    return refusal(overrun_error(exc, request.app.state.settings))


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    too_long = any(
        e.get("type") == "string_too_long" and tuple(e.get("loc", ()))[-1:] == ("expression",)
        for e in exc.errors()
    )
    if too_long:
        limit = request.app.state.settings.max_length
        return refusal(TooLong("The function is longer than {limit} characters.", {"limit": limit}))
    return JSONResponse({"detail": validation_sentence(exc)}, status_code=422)


def install(app: FastAPI) -> None:
    """Answer each error of the core, the pool and the request with its status and sentence."""
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ExprError, expr_error)
    app.add_exception_handler(RenderError, render_error)
    app.add_exception_handler(Busy, busy)
    app.add_exception_handler(Overrun, overrun)
    app.add_exception_handler(RequestValidationError, invalid_request)
