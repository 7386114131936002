"""result.plain: a trace's records as dicts, read per record type, give the JSON that
the standard library's dataclasses.asdict gives."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from autograd_playground.core import pipeline
from autograd_playground.core.result import Contribution, Rule, Step, plain

from .worker_corpus import CORPUS, answer


def as_dict(record: Any) -> Any:
    return dataclasses.asdict(record) if dataclasses.is_dataclass(record) else record


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_answer_is_the_json_that_asdict_gives(name: str, monkeypatch: pytest.MonkeyPatch):
    request = CORPUS[name]
    fast = answer(request)
    monkeypatch.setattr(pipeline, "plain", as_dict)
    assert answer(request) == fast


def test_nested_records_become_dicts_and_other_tuples_stay():
    rule = Rule("local", "2·x", 4.0, 4.0, True, notes=("broadcast",))
    step = Step(1, "n1", "PowBackward0", (1.0,), (4.0, None), ("n2", None), (4.0,),
                contributions=(Contribution("n1", 4.0),), rules=(rule, None))
    out = plain(step)
    assert list(out) == [f.name for f in dataclasses.fields(Step)]
    assert out["rules"] == [dataclasses.asdict(rule), None]
    assert out["contributions"] == [{"node": "n1", "value": 4.0}]
    assert out["targets"] == ("n2", None) and out["rules"][0]["notes"] == ("broadcast",)
    assert plain([1.0, 2.0]) == [1.0, 2.0] and plain(None) is None
