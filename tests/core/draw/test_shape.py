"""core.draw.shape: one layout for drawings of the same shape, and exactly the SVG of a new one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_playground.core.draw.render
from autograd_playground.core.draw import render
from autograd_playground.core.draw.layout import layout
from autograd_playground.core.draw.sanitize import sanitize_svg
from autograd_playground.core.draw.shape import ALPHABET, Renaming, placeholder, uniform_advance
from autograd_playground.core.pipeline import compute

MLP = "h = tanh(W1 @ x + b1)\nout = W2 @ h + b2\nloss = mse(out, t)"
MLP_VALUES = {
    "W1": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [0.7, 0.8, 0.9], [-1.0, 1.1, 1.2]],
    "x": [1.0, 2.0, 3.0], "b1": [0.1, 0.2, 0.3, 0.4],
    "W2": [[0.1, 0.2, 0.3, 0.4], [-0.5, 0.6, 0.7, 0.8]], "b2": [0.5, -0.5], "t": [1.0, 0.0],
}

LINE = "h = sum(tanh(W1 @ x + b1))"
LINE_VALUES = {k: MLP_VALUES[k] for k in ("W1", "x", "b1")}


def poly(name: str, terms: int = 20) -> str:
    return " + ".join(f"{terms + 1 - k}*{name}**{k}" for k in range(terms, 0, -1))


def renamed(text: str, values: dict, names: dict[str, str]) -> tuple[str, dict]:
    """The program with its names replaced as whole words (the MLP's lines are plain)."""
    import re

    if not names:
        return text, values
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda m: names[m.group()], text), {names.get(k, k): v for k, v in values.items()}


def laid_out_anew(result: dict) -> str:
    quick = len(result["nodes"]) > render.QUICK_LAYOUT_NODES
    return sanitize_svg(layout(result["dot"], quick=quick))


# (text, values, view, collapse) pairs of one shape each: the first is drawn first, the
# others must reuse its layout and still be byte for byte their own picture.
SHAPES = {
    "lesson": [
        ("5*x**3 + 2*x**2 + 4*x + 8", {"x": 2.0}, "torchviz", ()),
        ("5*Q**3 + 2*Q**2 + 4*Q + 8", {"Q": 2.0}, "torchviz", ()),  # a path command's letter
        ("5*B**3 + 2*B**2 + 4*B + 8", {"B": 2.0}, "torchviz", ()),  # a placeholder's letter
        ("9*q**7 + 3*q**4 + 1*q + 6", {"q": -1.0}, "torchviz", ()),
    ],
    "polynomial": [(poly(n), {n: 0.5}, "torchviz", ()) for n in ("v0", "v1", "ab", "BD", "x9")],
    "one line of a program": [
        (*renamed(LINE, LINE_VALUES, names), "torchviz", ())
        for names in ({}, {"W1": "U1", "x": "z"}, {"h": "E", "W1": "BD", "b1": "id", "x": "Q"})
    ],
    "the two-layer MLP": [
        (*renamed(MLP, MLP_VALUES, names), "torchviz", ())
        for names in ({}, {"W1": "U1", "W2": "U2", "x": "z"},
                      {"h": "E", "W1": "BD", "t": "Q", "b1": "id"})
    ],
    "the two-layer MLP with its lines collapsed": [
        (*renamed(MLP, MLP_VALUES, names), "torchviz", ("h", "out", "loss"))
        for names in ({}, {"W1": "U1", "W2": "U2", "x": "z"},
                      {"h": "E", "W1": "BD", "t": "Q", "b1": "id"})
    ],
    "the MLP with one line collapsed": [
        (*renamed(MLP, MLP_VALUES, names), "torchviz", (line,))
        for names, line in (({}, "h"), ({"h": "g", "b1": "c1"}, "g"), ({"h": "E", "x": "y"}, "E"))
    ],
    "annotated": [
        ("x**2*z + sin(z)", {"x": 3.0, "z": 0.5}, "annotated", ()),
        ("a**2*b + sin(b)", {"a": 3.0, "b": 0.5}, "annotated", ()),
        ("w**2*B + sin(B)", {"w": 3.0, "B": 0.5}, "annotated", ()),
    ],
}
# Other lengths, and names that are words of DOT: each its own shape, drawn exactly.
OTHERS = [
    ("5*v7**3 + 2*v7**2 + 4*v7 + 8", {"v7": 2.0}, "torchviz", ()),
    (*renamed(MLP, MLP_VALUES, {"h": "hid", "out": "o", "loss": "cluster", "W1": "dashed",
                                "t": "label", "x": "cluster_x"}), "torchviz", ()),
    (*renamed(MLP, MLP_VALUES, {"h": "hid", "out": "o", "loss": "cluster", "W1": "dashed",
                                "t": "label", "x": "cluster_x"}), "annotated", ("hid", "o")),
    (*renamed(MLP, MLP_VALUES, {"b1": "box", "W2": "lightblue"}), "torchviz", ("h", "out")),
    (*renamed(LINE, LINE_VALUES, {"h": "cluster", "x": "dashed"}), "torchviz", ()),
    ("x**2*y + sin(y)", {"x": -3.25, "y": 0.125}, "annotated", ()),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_drawing_of_a_known_shape_is_the_svg_a_new_layout_gives(
    shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    render.drawn.cache_clear()
    calls: list[str] = []
    real = autograd_playground.core.draw.render.layout
    monkeypatch.setattr(autograd_playground.core.draw.render, "layout",
                        lambda source, *a, **k: calls.append(source) or real(source, *a, **k))
    results = [compute(text, values, view=view, collapse=collapse)
               for text, values, view, collapse in SHAPES[shape]]
    # One layout per shape: a name that happens to be a word of the DOT too (out, sum)
    # makes another shape, a placeholder's letter does not.
    shapes = {Renaming.of(r["dot"]).source for r in results}  # type: ignore[union-attr]
    assert len(calls) == len(shapes) < len(results)
    for result in results:
        assert result["svg"] == laid_out_anew(result)
    # The names are there, not the placeholders.
    assert len({r["svg"] for r in results}) == len({r["dot"] for r in results}) > 1


def test_other_lengths_and_words_of_dot_are_drawn_exactly() -> None:
    render.drawn.cache_clear()
    for text, values, view, collapse in OTHERS:
        result = compute(text, values, view=view, collapse=collapse)
        assert result["svg"] == laid_out_anew(result)


def test_names_of_other_lengths_are_another_shape() -> None:
    render.drawn.cache_clear()
    first = compute("x*y + 2", {"x": 1.0, "y": 2.0})
    second = compute("longname*y + 2", {"longname": 1.0, "y": 2.0})
    assert len(render.drawn.cache) == 2  # text widths change the layout
    assert second["svg"] == laid_out_anew(second)
    assert first["svg"] == laid_out_anew(first)


def test_clusters_not_in_line_order_are_laid_out_as_they_are() -> None:
    """Graphviz orders clusters by the addresses of their names, unless each is wrapped."""
    source = compute(MLP, MLP_VALUES)["dot"]
    assert Renaming.of(source) is not None
    bare = source.replace('\tsubgraph {\n\tsubgraph "cluster', '\tsubgraph "cluster')
    assert bare.count('subgraph "cluster') == 3 and Renaming.of(bare) is None


def test_the_placeholders_dot_comes_back_exactly() -> None:
    source = compute(LINE, LINE_VALUES)["dot"]
    renaming = Renaming.of(source)
    assert renaming is not None
    assert renaming.back(renaming.source) == source
    assert 'style="rounded,dashed"' in renaming.source  # style values are left alone
    assert '"cluster' in renaming.source  # a cluster stays a cluster
    assert "W1" not in renaming.source and "tanh" not in renaming.source
    assert Renaming.of(compute(MLP, MLP_VALUES, collapse=("h", "out", "loss"))["dot"]) is not None


def test_a_placeholder_already_in_the_dot_is_laid_out_as_it_is() -> None:
    """A run of placeholder letters outside the renamed strings would come back as a name."""
    source = 'digraph {\n\tnode [shape=box]\n\t"a" [label="x1"]\n\tBB -> "a"\n}\n'
    assert Renaming.of(source) is None
    # A run after an escape's letter (\\N: the node's name) would not come back either.
    assert Renaming.of('digraph {\n\t"a" [label="\\Nxy"]\n}\n') is None
    assert Renaming.of('digraph {\n\t"a" [label="xy\\l"]\n}\n') is not None


def test_placeholders_are_distinct_and_bounded() -> None:
    twos = {placeholder(2, i) for i in range(len(ALPHABET) ** 2)}
    assert len(twos) == len(ALPHABET) ** 2 and all(p and set(p) <= set(ALPHABET) for p in twos)
    assert placeholder(1, len(ALPHABET)) is None
    assert not set(ALPHABET) & set("MCLZHVQTSA")  # no SVG path command


def test_the_font_here_gives_every_letter_and_digit_one_width() -> None:
    assert uniform_advance()


def test_a_program_is_laid_out_the_same_every_time() -> None:
    """Graphviz ordered clusters by their names' addresses: the same DOT could give other
    pictures from one layout to the next. Now they are taken in line order."""
    import re

    text, values = renamed(MLP, MLP_VALUES, {"h": "hid", "out": "o", "loss": "cluster"})
    source = compute(text, values)["dot"]
    pictures = {layout(source) for _ in range(8)}
    assert len(pictures) == 1
    clusters = re.findall(r"<title>(cluster_\w+)</title>", pictures.pop())
    assert clusters == ["cluster_hid", "cluster_o", "cluster_cluster"]  # the lines' order


def test_a_renamed_picture_that_says_url_is_laid_out_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sanitizer drops attributes that say url(; a renamed picture is never trusted to."""
    render.drawn.cache_clear()
    real = Renaming.back
    monkeypatch.setattr(Renaming, "back", lambda self, text: real(self, text).replace(
        'fill="none"', 'fill="url(#x)"'))
    result = compute("a*x + 1", {"a": 1.0, "x": 2.0})
    assert "url(" not in result["svg"] and result["svg"] == laid_out_anew(result)


# Renaming.of as it was first written, one pattern with the attribute optional in front of
# the string: slower, and plain enough to be the oracle for the faster one.
_REFERENCE_QUOTED = __import__("re").compile(r'(?:\b([A-Za-z]+)=)?"((?:[^"\\]|\\.)*)"')


def reference_renaming(dot_source: str) -> tuple[str, dict[str, str]] | None:
    from autograd_playground.core.draw import shape

    clusters = dot_source.count('subgraph "cluster')
    if clusters > 1 and dot_source.count(shape._WRAPPED) != clusters:
        return None
    given: dict[str, str] = {}
    counts: dict[int, int] = {}
    renamed = 0
    pieces = _REFERENCE_QUOTED.split(dot_source)
    for i in range(1, len(pieces), 3):
        attribute, text = pieces[i], pieces[i + 1]
        if attribute is not None and attribute not in shape._NAMING:
            pieces[i], pieces[i + 1] = "", f'{attribute}="{text}"'
            continue
        keep = shape._CLUSTER if attribute is None and text.startswith(shape._CLUSTER) else ""
        parts = shape._PART.split(text[len(keep):])
        for k in range(1, len(parts), 2):
            if parts[k][0] == "\\":
                continue
            if parts[k] not in given:
                found = placeholder(len(parts[k]), counts.get(len(parts[k]), 0))
                if found is None:
                    return None
                counts[len(parts[k])] = counts.get(len(parts[k]), 0) + 1
                given[parts[k]] = found
            parts[k] = given[parts[k]]
            renamed += 1
        pieces[i] = f"{attribute}=" if attribute is not None else ""
        pieces[i + 1] = f'"{keep}{"".join(parts)}"'
    source = "".join(pieces)
    names = {p: run for run, p in given.items()}
    runs = shape._RUN_OF_ALPHABET.findall(source)
    if len(runs) != renamed or not all(run in names for run in runs):
        return None
    return source, names


def as_pair(renaming: Renaming | None) -> tuple[str, dict[str, str]] | None:
    return None if renaming is None else (renaming.source, renaming.names)


def test_the_renaming_of_every_drawing_is_the_reference_one() -> None:
    sources = [compute(text, values, view=view, collapse=collapse)["dot"]
               for cases in SHAPES.values() for text, values, view, collapse in cases]
    sources += [compute(text, values, view=view, collapse=collapse)["dot"]
                for text, values, view, collapse in OTHERS]
    for source in sources:
        assert as_pair(Renaming.of(source)) == reference_renaming(source)


_PIECES = ['"', "=", "label", "id", "style", "xlabel", "_label", "1label", "élabel", " ",
           "\n", "\\", '\\"', "\\N", "cluster", "_x", "ab", "B", "BD", "Q", "x9", "\t", "->",
           "[", "]", "subgraph ", "é", "0", '"cluster_x"', 'label="cluster_x"', '_style="a"',
           'xstyle="b"', 'style="c d"', '1id="e"', '"n1"', 'id="n1"']


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_the_renaming_of_any_text_is_the_reference_one(pieces: list[str]) -> None:
    source = "".join(pieces)
    assert as_pair(Renaming.of(source)) == reference_renaming(source)
