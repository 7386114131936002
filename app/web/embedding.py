"""Sharing a page state on another site: the iframe snippet, its options, oEmbed.

A teacher picks the options in the share panel (or an oEmbed consumer asks with a
link); the frame they get is the state at /embed with those options applied.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..core.language.program import is_program
from ..core.language.rules import Limits
from .state import FIELDS, PageState, all_values, first_value, output_of, variables_of, visible

EMBED_WIDTH, EMBED_HEIGHT = 700, 450
# The smallest frame in which the graph and the current step still work together.
EMBED_MIN_WIDTH, EMBED_MIN_HEIGHT = 320, 240


@dataclass(frozen=True)
class EmbedOptions:
    """What a teacher chose in the share dialog for an iframe."""

    readonly: bool = True
    lang: str | None = None
    step: int = 0
    hide: tuple[str, ...] = ("code", "examples")
    autoplay: bool = False
    exercise: bool = False
    order: int = 1
    accumulate: bool = False


# The share panel's options: the fields of the page state a teacher chooses for a frame.
OPTIONS = tuple(f for f in FIELDS if f.share == "option")
# Options that the share panel's form always sends; a link with none of them asks for
# the panel's defaults.
PANEL_ONLY = ("readonly", "hide", "autoplay", "exercise", "order", "accumulate")


def default_options(state: PageState) -> EmbedOptions:
    """The share panel as it opens for ``state``: its language, step and modes kept."""
    return EmbedOptions(lang=state.lang, step=state.step, exercise=state.exercise,
                        order=state.order, accumulate=state.accumulate)


def embed_options(params: Any, state: PageState) -> EmbedOptions:
    """Options from the share dialog's form (or an oEmbed link); defaults where absent."""
    if first_value(params, "options") != "1" and not any(k in params for k in PANEL_ONLY):
        return default_options(state)
    return EmbedOptions(**{f.name: f.read(all_values(params, f.key)) for f in OPTIONS})


def embed_url(state: PageState, options: EmbedOptions) -> str:
    """The frame's address: the state at /embed, with the chosen options."""
    chosen = {f.name: getattr(options, f.name) for f in OPTIONS}
    reset = {f.name: f.read([]) for f in FIELDS if f.share == "reset"}
    return state.url("/embed", **chosen, **reset)


def title_of(state: PageState) -> str:
    """A title for a shared state: the function if it can be read, else the app's name."""
    if not state.expr or variables_of(state.expr, Limits())[1] is not None:
        return "Autograd Playground"
    return named_function(state.expr)


def named_function(expr: str) -> str:
    """The function with its output's name, ``y = ...``; a program's last line, which names it."""
    if is_program(expr):
        return visible(expr.strip().split("\n")[-1].strip())
    return f"{output_of(expr)} = {visible(expr)}"


def snippet(base: str, state: PageState, options: EmbedOptions,
            width: int = EMBED_WIDTH, height: int = EMBED_HEIGHT) -> str:
    """The HTML a teacher pastes into a course page. Attribute values are escaped here.

    The frame is on another origin than the course page, so the sandbox may
    keep allow-same-origin: the frame stays the playground's origin (its
    modules and htmx requests are same-origin to it) and still cannot reach
    the course page. allow-forms lets an editable frame's Compute and training
    forms submit; the exercise does not need it (it submits no form), so frames
    pasted before it was added, or sandboxed harder by a host, still check answers."""
    src = html.escape(base + embed_url(state, options), quote=True)
    title = html.escape(
        f"Autograd Playground: {named_function(state.expr)}", quote=True
    )
    return (
        f'<iframe src="{src}" title="{title}" width="{width}" height="{height}" '
        'loading="lazy" '
        'sandbox="allow-scripts allow-same-origin allow-forms allow-popups '
        'allow-popups-to-escape-sandbox" '
        'style="border:0;max-width:100%"></iframe>\n'
        f'<script src="{html.escape(base, quote=True)}/static/embed-host.js" async></script>'
    )


def frame_size(maxwidth: int | None, maxheight: int | None) -> tuple[int, int] | None:
    """The frame for a consumer's limits: as large as allowed up to 700x450,
    or None if the limits are below the smallest frame that works."""
    width = EMBED_WIDTH if maxwidth is None else min(EMBED_WIDTH, maxwidth)
    height = EMBED_HEIGHT if maxheight is None else min(EMBED_HEIGHT, maxheight)
    if width < EMBED_MIN_WIDTH or height < EMBED_MIN_HEIGHT:
        return None
    return width, height


def oembed(state: PageState, options: EmbedOptions, base: str,
           size: tuple[int, int] = (EMBED_WIDTH, EMBED_HEIGHT)) -> dict[str, Any]:
    width, height = size
    return {
        "version": "1.0",
        "type": "rich",
        "provider_name": "Autograd Playground",
        "provider_url": base + "/",
        "title": title_of(state),
        "html": snippet(base, state, options, width, height),
        "width": width,
        "height": height,
    }


def lesson_frames(lang: str) -> dict[str, str]:
    """The three live frames of the demo lesson, as root-relative /embed URLs."""
    seed = PageState(lang=lang, values={"x": "2"})
    return {
        "tensor": embed_url(
            PageState(expr="x**2", values={"x": "3"}, lang=lang),
            EmbedOptions(readonly=True, lang=lang, hide=("steps", "details", "examples")),
        ),
        "graph": embed_url(
            seed, EmbedOptions(readonly=True, lang=lang, hide=("steps", "code", "examples"))
        ),
        "backward": embed_url(
            seed, EmbedOptions(readonly=True, lang=lang, hide=("code", "examples"))
        ),
    }
