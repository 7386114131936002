"""A step's sentences in a notebook's output are the page's: one template says them for both.

The page's result block and the notebook's output import the same notes.html
(app/core/teach/templates/, on both loaders' search paths, shipped in the wheel). A batched @ makes every tensor node the page explains around a
matrix product: the reshapes, the copies of a broadcast operand, and bmm itself.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from autograd_playground.core.pipeline import compute
from autograd_playground.core.teach import sentences
from autograd_playground.core.trace.forms import TENSOR_RULES
from autograd_playground.notebook.i18n import translations
from autograd_playground.notebook.show import shown
from autograd_playground.notebook.view import Pictures, _environment
from autograd_playground.web.templating import environments

ROOT = Path(__file__).resolve().parents[2]

BATCH = "sum(A @ B)"
BATCH_AT = {"A": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], "B": [[[1, 0], [0, 1]], [[2, 1], [1, 2]]]}

# The page's sentences for the nodes of a batched @, with the operands this program gives them.
BMM = ("For the matrix product %(label)s PyTorch does not divide anything: it multiplies the gradient "
       "that arrives, G, by the other operand, transposed (ᵀ). That is the chain rule for all "
       "elements at once.", {"label": "A @ B"})
BATCHED: tuple[str, dict[str, str]] = ("It does this for every matrix of the batch.", {})
RESHAPE = ("To multiply, @ gave %(operand)s another shape (a vector as a row or a column); the "
           "gradient goes back unchanged, in the shape it had.", {"operand": "A @ B"})
EXPAND = ("@ copied %(operand)s for every matrix of the batch (broadcasting); PyTorch adds up the "
          "gradients of all copies.", {"operand": "A"})


@pytest.fixture(scope="module")
def batch() -> dict:
    return compute(BATCH, BATCH_AT)


def said(lang: str, sentence: tuple[str, dict[str, str]]) -> str:
    text, params = sentence
    return translations(lang).gettext(text) % params


def rules_by_node(data: dict, lang: str) -> dict[str, list[str]]:
    """The tensor rules' sentences of each step, keyed by the node's class name."""
    soup = BeautifulSoup(shown(data, Pictures(data["svg"]), lang).html, "html.parser")
    rows = soup.select('[data-testid="step-table"] tbody tr.step')
    names = [s["name"] for s in data["steps"]]
    assert len(rows) == len(names)
    return {name: [p.get_text(" ", strip=True) for p in row.select('[data-testid="tensor-rule"] p.rule')]
            for name, row in zip(names, rows, strict=True)}


@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_batched_matmul_reads_the_pages_rule_at_every_node(batch: dict, lang: str) -> None:
    rules = rules_by_node(batch, lang)
    assert rules["BmmBackward0"] == [said(lang, BMM) + " " + said(lang, BATCHED)]
    assert rules["UnsafeViewBackward0"] == [said(lang, RESHAPE)]
    assert said(lang, EXPAND) in rules["ExpandBackward0"]
    if lang == "de":
        assert "für jede Matrix des Stapels" in rules["BmmBackward0"][0]


@pytest.mark.parametrize("lang, formula", [("en", "sum of G over the copies"), ("de", "Summe von G über die Kopien")])
def test_a_rule_in_words_reads_in_the_outputs_language(batch: dict, lang: str, formula: str) -> None:
    soup = BeautifulSoup(shown(batch, Pictures(batch["svg"]), lang).html, "html.parser")
    codes = [c.get_text(" ", strip=True) for c in soup.select('[data-testid="tensor-rule"] code')]
    assert codes and any(code.startswith(f"{formula} = ") for code in codes)


@pytest.mark.parametrize("kind", sorted({kind for kind, _ in TENSOR_RULES.values()} | {"reshape"}))
def test_every_tensor_rule_the_trace_names_has_a_sentence(kind: str) -> None:
    notes = _environment("en").get_template("notes.html").module
    step = SimpleNamespace(label="W @ x")
    out = SimpleNamespace(kind=kind, label="x", where=[("n", 3.0)])
    sentence = str(notes.tensor_rule(step, out))
    assert len(sentence) > 20 and "%(" not in sentence, (kind, sentence)


def test_the_page_and_the_notebook_read_one_file() -> None:
    page = environments()["en"].get_template("notes.html").filename
    notebook = _environment("en").get_template("notes.html").filename
    assert page == notebook == str(sentences.TEMPLATES / "notes.html")
    assert not (ROOT / "templates" / "notes.html").exists()
    assert not (ROOT / "app" / "notebook" / "templates" / "notes.html").exists()
