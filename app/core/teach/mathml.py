"""A formula as MathML and as plain text: written from sympy, checked again where it becomes markup.

One set of elements and attributes, used by both: the writer keeps to it, and
the web process refuses anything outside it before inlining. Both writers write
PyTorch's steps (sympy's Heaviside, which its own printers write ``Θ(x − y, 1/2)``)
as the step panel does, Iverson brackets: ``[x > y] + ½·[x = y]``, ``[x ≥ 0]·[x ≤ 1]``
(autograd_playground.core.trace.printing.step_parts). Imports neither torch nor
sympy at load (sympy only when a formula is written).
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as defused
from defusedxml import DefusedXmlException

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
# MathML elements sympy's presentation printer writes for our functions.
MATHML_TAGS = frozenset({"math", "mrow", "mi", "mn", "mo", "msup", "msub", "mfrac", "msqrt", "mroot",
                         "msubsup", "mtext", "mspace", "mstyle"})
# Attributes kept; the writer drops the others, the check refuses them.
MATHML_ATTRIBUTES = frozenset({"mathvariant", "stretchy"})
_ENTITIES = {"&InvisibleTimes;": "\u2062", "&ExponentialE;": "e", "&ImaginaryI;": "i",
             "&#x398;": "\u0398", "&#x3C0;": "\u03c0", "&pi;": "\u03c0",
             "&#8805;": "\u2265", "&#8804;": "\u2264"}
# A step's relation as plain text writes it.
_ASCII = {"≥": ">=", "≤": "<="}


@functools.cache
def _writers() -> tuple[type, type]:
    """sympy's MathML and text printers, with a step written as the step panel writes it."""
    from sympy import S
    from sympy.printing.mathml import MathMLPresentationPrinter
    from sympy.printing.str import StrPrinter

    from ..trace.printing import step_parts

    def parts(step: Any) -> tuple[Any, str, Any, bool]:
        return step_parts(step.args[0], step.args[1] if len(step.args) > 1 else S.Half)

    class Presentation(MathMLPresentationPrinter):
        def _mo(self, text: str) -> Any:
            mo = self.dom.createElement("mo")
            mo.appendChild(self.dom.createTextNode(text))
            return mo

        def _bracket(self, left: Any, relation: str, right: Any) -> Any:
            row = self.dom.createElement("mrow")
            # sympy writes text as it is: "<" would end the element, so it goes as &lt;.
            for part in ("[", left, "&lt;" if relation == "<" else relation, right, "]"):
                row.appendChild(self._mo(part) if isinstance(part, str) else self._print(part))
            return row

        def _print_Bracket(self, step: Any) -> Any:
            left, relation, right, tie = parts(step)
            if not tie:
                return self._bracket(left, relation, right)
            row = self.dom.createElement("mrow")
            for part in (self._bracket(left, relation, right), self._mo("+"),
                         self._print(S.Half), self._mo("&InvisibleTimes;"),
                         self._bracket(left, "=", right)):
                row.appendChild(part)
            return row

    class Text(StrPrinter):
        def _print_Bracket(self, step: Any) -> str:
            left, relation, right, tie = parts(step)
            a, b = self._print(left), self._print(right)
            shown = f"[{a} {_ASCII.get(relation, relation)} {b}]"
            return f"{shown} + [{a} = {b}]/2" if tie else shown

    return Presentation, Text


def formula_text(expr: Any) -> str:
    """``expr`` as plain text, as sympy writes it (``15*x**2 + 4*x + 4``), its steps as
    Iverson brackets: ``[x > y] + [x = y]/2``, ``[x >= 0]*[x <= 1]``."""
    from ..trace.printing import as_brackets

    return str(_writers()[1]().doprint(as_brackets(expr)))


def mathml(expr: Any) -> str:
    """``expr`` as inline MathML, checked: only presentation elements, no attributes but a few.

    Names are the parser's identifiers and numbers are sympy's, so there is no
    user text in it; the check is what makes that a fact rather than a hope.
    """
    from ..trace.printing import as_brackets

    text = _writers()[0]().doprint(as_brackets(expr))
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    if "&" in text.replace("&lt;", ""):  # a comparison's < stays escaped
        raise ValueError("unexpected entity in MathML")
    root = defused.fromstring(f"<math>{text}</math>")
    for element in root.iter():
        if element.tag not in MATHML_TAGS:
            raise ValueError(f"unexpected MathML element {element.tag}")
        for attr in list(element.attrib):
            if attr not in MATHML_ATTRIBUTES:
                del element.attrib[attr]
    root.set("xmlns", MATHML_NS)
    return ET.tostring(root, encoding="unicode")


def checked_mathml(text: str) -> str:
    """A formula's MathML, checked again before it becomes markup: only the elements and
    attributes above; anything else is refused (the empty string)."""
    try:
        root = defused.fromstring(text)
    except (ET.ParseError, DefusedXmlException):
        return ""
    for element in root.iter():
        tag = element.tag.split("}")[-1]
        if tag not in MATHML_TAGS or set(element.attrib) - MATHML_ATTRIBUTES - {"xmlns"}:
            return ""
        element.tag = tag
    root.set("display", "inline")
    text = ET.tostring(root, encoding="unicode")
    return text.replace("<math ", f'<math xmlns="{MATHML_NS}" ', 1)
