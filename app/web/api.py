"""The JSON API: one function built, backpropagated and drawn; oEmbed for playground links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from starlette.datastructures import QueryParams

from ..core.draw.render import View
from ..core.language.rules import ExprError, Extras
from ..core.result import GraphResult, Training
from ..serve.cache import Encoded
from ..serve.jobs import Job, TrainJob, make_job, make_train_job
from . import embedding
from .deps import EngineDep, SettingsDep
from .errors import REFUSALS, Refusal
from .headers import encoded_response
from .links import public_base_url
from .state import from_query

router = APIRouter()


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
    view: View = Field(
        default="torchviz", description="Which picture `svg` holds."
    )
    symbolic: StrictBool = Field(
        default=False,
        description="Add `symbolic` (dy/dx per variable as a formula, its value beside x.grad; "
        "a central finite difference for tensor functions) and `plot` (y(x) with its tangent, "
        "for one scalar variable).",
    )
    order: Literal[1, 2] = Field(
        default=1,
        description="2 adds `second_order`: d²y/dx² per variable (create_graph=True) and the "
        "graph of the gradient computation, with its steps.",
    )

    @field_validator("order", mode="before")
    @classmethod
    def _order_is_a_whole_number(cls, value: Any) -> Any:
        # A Literal takes anything equal to 1 or 2: true and 2.0 too.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be the number 1 or 2")
        return value
    accumulate: StrictBool = Field(
        default=False,
        description="Add `accumulation`: x.grad after one backward() and after a second one "
        "without zero_grad().",
    )
    retain_grad: StrictBool = Field(
        default=False,
        description="Call `retain_grad()` on each named intermediate of a program (h in "
        "`h = tanh(z)`) before backward(), so that `intermediates[].grad` holds its gradient "
        "instead of None, as in PyTorch. A single function has no named intermediates.",
    )
    collapse: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list,
        max_length=100,
        description="Names of a program's lines (`h` for `h = tanh(z)`) to draw as one box "
        "each, `box-h` in `svg` instead of the line's nodes; `lines[].box` says which. A name "
        "that is not a line of the program is refused. Changes only the picture: `nodes`, "
        "`steps` and the values stay the same.",
    )


GRAPH_DESCRIPTION = """
The graph PyTorch builds for the function, its backward pass step by step, and
the picture. Values are numbers, the strings "nan", "inf" and "-inf", or nested
lists of these. A value with more numbers than the server's max_shown_elements
(1000 by default) comes as a summary instead:

    {"shape": [10000], "first": [0.5, 0.51, 0.52, 0.53, 0.54],
     "min": 0.5, "max": 1.49, "mean": 0.99}

shape is the tensor's shape, first its first five numbers in row-major order,
min, max and mean are over all numbers (min and max skip nan). Inputs the
function does not use are ignored. A result larger than max_result_bytes is
refused with a sentence (422).
"""


def check_inputs(inputs: dict[str, Any], limit: int) -> None:
    """Refuse more values than variables may be, before the text is even read."""
    if len(inputs) > limit:
        raise ExprError(
            "Too many variables: {count}; the limit is {limit}.",
            {"count": len(inputs), "limit": limit},
        )


@router.post(
    "/api/graph",
    responses={200: {"model": GraphResult, "description": "The graph, its steps and gradients."},
               **REFUSALS},
    summary="Build, backpropagate and draw a function",
    description=GRAPH_DESCRIPTION,
)
async def graph(
    request: Request, body: GraphRequest, settings: SettingsDep, engine: EngineDep
) -> Response:
    check_inputs(body.inputs, settings.max_variables)
    request.state.expr = body.expression
    extras = Extras(body.symbolic, body.order, body.accumulate, body.retain_grad)
    job = make_job(
        body.expression, body.inputs, body.requires_grad, body.view, settings.limits(), extras,
        tuple(body.collapse),
    )
    return await answer(request, engine.compute, job)


async def answer(request: Request,
                 run: Callable[[Any, bool, str | None], Awaitable[tuple[Encoded, str]]],
                 job: Job | TrainJob) -> Response:
    """``run(job, missed, client)``'s result, sent as the worker encoded it: no validation, no
    encoding per request.

    The job's key is named for autograd_playground.web.known_requests.KnownRequests (the same bytes
    again are the same key), which may already have found nothing kept under it.
    """
    request.state.answer = job.key
    missed = getattr(request.state, "missed", None) == job.key
    client = getattr(request.state, "client", None)
    result, request.state.cache = await run(job, missed, client)
    return encoded_response(result, request.headers.get("accept-encoding", ""))


class TrainRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "expression": "(tanh(w*x + b) - t)^2",
                    "inputs": {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1},
                    "params": ["w", "b"],
                    "lr": 0.1,
                    "steps": 20,
                    "zero_grad": True,
                }
            ]
        },
    )

    expression: str = Field(max_length=100_000, description="The loss, e.g. (w*x - 3)**2.")
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        max_length=100,
        description="A starting value per variable: a number or a nested list of numbers.",
    )
    params: list[str] = Field(
        max_length=100, description="The variables to train (requires_grad); the others are data."
    )
    # Strict: a JSON number only; "100" or true is refused, not read as 100 or 1.
    lr: float = Field(strict=True, description="The learning rate: above 0, at most 10.")
    steps: int = Field(
        strict=True, description="How many updates; at most the server's max_train_steps."
    )
    zero_grad: StrictBool = Field(
        default=True,
        description="false leaves optimizer.zero_grad() out, so gradients accumulate.",
    )


TRAIN_DESCRIPTION = """
Gradient descent with real PyTorch: per step, zero_grad() (unless zero_grad is
false), the loss, loss.backward(), and the update p <- p - lr * p.grad (the
update torch.optim.SGD makes). Entry k of `steps` holds the parameters before
update k, the loss at them, and the gradient update k uses. A run whose loss or
parameters stop being finite numbers ends there: `diverged_at` names that step.
`code` is the same loop as a PyTorch program. Values are as in /api/graph.
"""


@router.post(
    "/api/train",
    responses={200: {"model": Training, "description": "One entry per update, in order."},
               **REFUSALS},
    summary="Train a function's parameters by gradient descent",
    description=TRAIN_DESCRIPTION,
)
async def train(
    request: Request, body: TrainRequest, settings: SettingsDep, engine: EngineDep
) -> Response:
    check_inputs(body.inputs, settings.max_variables)
    request.state.expr = body.expression
    job = make_train_job(
        body.expression, body.inputs, body.params, body.lr, body.steps, body.zero_grad,
        settings.limits(),
    )
    return await answer(request, engine.train, job)


@router.get(
    "/oembed",
    summary="oEmbed for a playground link",
    responses={404: {"model": Refusal}, 422: REFUSALS[422], 501: {"model": Refusal}},
)
async def oembed(
    request: Request, settings: SettingsDep, url: str, format: str = "json",
    maxwidth: int | None = None, maxheight: int | None = None,
) -> JSONResponse:
    if format != "json":
        return JSONResponse({"detail": "Only the json format is offered."}, status_code=501)
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1" and other addresses urlsplit cannot read
        parts = None
    if parts is None or parts.path not in ("/", "/embed") or len(url) > 20_000:
        return JSONResponse(
            {"detail": "Only links to the playground (/) or /embed can be embedded."},
            status_code=404,
        )
    size = embedding.frame_size(maxwidth, maxheight)
    if size is None:
        return JSONResponse(
            {"detail": f"The smallest frame that works is {embedding.EMBED_MIN_WIDTH}x{embedding.EMBED_MIN_HEIGHT}."},
            status_code=404,
        )
    state = from_query(QueryParams(parts.query))
    if embedding.title_of(state) == "Autograd Playground":  # the function cannot be read
        return JSONResponse({"detail": "This link's function cannot be read."}, status_code=404)
    options = embedding.embed_options(QueryParams(parts.query), state)
    return JSONResponse(embedding.oembed(state, options, public_base_url(request, settings), size))
