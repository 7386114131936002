"""MathML for a formula: written from sympy, and checked again where it becomes markup.

One set of elements and attributes, used by both: the writer keeps to it, and
the web process refuses anything outside it before inlining. Imports neither
torch nor sympy at load (sympy only when a formula is written).
"""

from __future__ import annotations

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
             "&#x398;": "\u0398", "&#x3C0;": "\u03c0", "&pi;": "\u03c0"}


def mathml(expr: Any) -> str:
    """``expr`` as inline MathML, checked: only presentation elements, no attributes but a few.

    Names are the parser's identifiers and numbers are sympy's, so there is no
    user text in it; the check is what makes that a fact rather than a hope.
    """
    from sympy.printing.mathml import mathml as print_mathml

    text = print_mathml(expr, printer="presentation")
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    if "&" in text:
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
