"""The executed notebook, shared by the tests that read it and the ones that export it."""

from __future__ import annotations

import json
from typing import Any

import nbclient
import nbformat
import pytest

from .notebooks import notebook

# A kernel from this environment: ipykernel's own spec, "python3", runs sys.executable.
KERNEL = "python3"
CELL_TIMEOUT_S = 300


@pytest.fixture(scope="session")
def executed() -> nbformat.NotebookNode:
    nb = notebook()
    nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT_S, allow_errors=False).execute()
    return nb


def cell(nb: nbformat.NotebookNode, case: str) -> Any:
    return next(c for c in nb.cells if c.metadata.get("case") == case)


def html_of(nb: nbformat.NotebookNode, case: str) -> str:
    (html,) = [o["data"]["text/html"] for o in cell(nb, case).outputs if "text/html" in o.get("data", {})]
    return html


def printed(nb: nbformat.NotebookNode, case: str) -> Any:
    text = "".join(o["text"] for o in cell(nb, case).outputs if o.get("output_type") == "stream"
                   and o.get("name") == "stdout")
    return json.loads(text.strip().splitlines()[-1])


def svg_in(canvas: Any) -> Any:
    """The SVG of a picture, which the output carries as an <img> of a data: URI."""
    import base64

    from bs4 import BeautifulSoup

    img = canvas.select_one('img[src^="data:image/svg+xml;base64,"]')
    if img is None:
        return None
    text = base64.b64decode(img["src"].split(",", 1)[1]).decode()
    return BeautifulSoup(text, "html.parser").select_one("svg")
