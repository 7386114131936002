"""The training view of a page: a run's records, its chart and a link to each step."""

from __future__ import annotations

import json
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


def _as_fields(values: dict[str, Any]) -> dict[str, str]:
    """Parameter values as the page's value fields hold them (what state.parse_value reads)."""
    return {
        name: json.dumps(value) if isinstance(value, list) else repr(float(value))
        for name, value in values.items()
        if not isinstance(value, (str, dict))  # nan, inf or a summary: keep the field as it was
    }
