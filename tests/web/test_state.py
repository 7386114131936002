"""The page state: one table of fields, read from the query and written back into links."""

from __future__ import annotations

from autograd_playground.core.draw import render
from autograd_playground.web import state


def test_the_views_are_the_cores():
    # One list of views: a view the core draws is one the page can ask for.
    assert state.VIEWS is render.VIEWS
    for view in render.VIEWS:
        assert state.from_query({"expr": "x", "view": view}).view == view
    assert state.from_query({"expr": "x", "view": "other"}).view == "torchviz"
