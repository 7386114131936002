"""The training view of a page: a run's records, its chart and a link to each step."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from ..core.language.values import format_value
from ..core.result import Training, TrainStep, training_from_json
from . import i18n
from .chart import loss_chart
from .state import PageState


@dataclass(frozen=True)
class Row:
    step: TrainStep
    loss: str
    params: dict[str, str]
    grads: dict[str, str]
    url: str  # the playground at this step's parameters: its graph and backward walk


@dataclass(frozen=True)
class TrainingView:
    run: Training
    rows: tuple[Row, ...]
    chart: Markup
    final: dict[str, str]


def view(state: PageState, data: dict[str, Any], lang: str) -> TrainingView:
    run = training_from_json(data)
    rows = tuple(
        Row(
            step=step,
            loss=format_value(step.loss),
            params={k: format_value(v) for k, v in step.params.items()},
            grads={k: format_value(v) if v is not None else "None" for k, v in step.grads.items()},
            url=state.url(values={**state.values, **_as_fields(step.params)}, train=(), step=0),
        )
        for step in run.steps
    )
    chart = loss_chart(
        [s.loss for s in run.steps],
        title=i18n.message(lang, "The loss over the training steps"),
        description=i18n.message(
            lang,
            "Loss {first} at step 1 and {last} at step {count}.",
            first=rows[0].loss if rows else "",
            last=rows[-1].loss if rows else "",
            count=len(rows),
        ),
        x_label=i18n.message(lang, "step"),
    )
    return TrainingView(run, rows, chart, {k: format_value(v) for k, v in run.final.items()})


# Names a course gives its data, not its parameters: inputs (x, X, x1, xs, input) and
# targets (t, y, y_true, target, label).
DATA = {"x", "xs", "t", "ts", "y", "ys", "input", "inputs", "target", "targets", "label", "labels"}


def is_data(name: str) -> bool:
    """Whether ``name`` reads as data (an input or a target) rather than a parameter."""
    return name.lower().split("_")[0].rstrip("0123456789") in DATA


def default_params(names: list[str]) -> tuple[str, ...]:
    """The variables ticked for training when the URL names none: every one but the data.
    A function of data alone (``x**2``) is minimised in all its variables."""
    chosen = tuple(n for n in names if not is_data(n))
    return chosen or tuple(names)


def float32_text(value: float) -> str:
    """The shortest decimal that reads back as the same float32 (0.1, not 0.10000000149011612)."""
    target = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == target:
            return repr(float(text))
    return repr(value)


def _nested(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    return float32_text(float(value))


def _as_fields(values: dict[str, Any]) -> dict[str, str]:
    """Parameter values as the page's value fields hold them (what pages.parse_value reads)."""
    return {
        name: _nested(value)
        for name, value in values.items()
        if not isinstance(value, (str, dict))  # nan, inf or a summary: keep the field as it was
    }
