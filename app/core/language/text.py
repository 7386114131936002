"""The text as typed, before Python's parser reads it: its characters, ``^``, and syntax errors.

Every refusal here points at a column of the text the student typed: ``^`` is
rewritten to ``**`` for the parser, and ``origin`` maps each column of the
rewritten text back to the typed one.
"""

from __future__ import annotations

import re
import unicodedata

from .rules import FUNCTIONS, N_, SYNTAX_REASONS, ExprError

# A number as Python reads it (2, 2.5, 1e-3), not inside a name such as x2.
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")
_NAME = re.compile(r"[A-Za-z_]\w*")
# A function name followed by a space and its argument, with no parenthesis.
_BARE_CALL = re.compile(r"(?<![\w.])(" + "|".join(FUNCTIONS) + r")\s+([\w.]+)")
# A decimal comma: 2,5 (a space after the comma reads as a list or arguments).
_DECIMAL_COMMA = re.compile(r"(?<![\w.])(\d+),(\d+)")
# A notebook cell pasted into the one-line field, which turned its line breaks into spaces.
_FLAT_CELL = re.compile(r"^import torch\b|\w\.backward\(\)")

# Characters that a keyboard or a word processor types for an operator, and its ASCII
# spelling: x² is AltGr+2 on a German keyboard, · and × are the textbook's product.
ASCII_SPELLINGS = {"²": "**2", "³": "**3", "·": "*", "×": "*", "\u2212": "-", "÷": "/"}
_POWERS = {"²": "^2", "³": "^3"}
_OPERATIONS = {"·": N_("multiply"), "×": N_("multiply"), "\u2212": N_("subtract"),
               "÷": N_("divide")}
# The operand next to such a character, shown with it in the hint: a name or a number.
_OPERAND_BEFORE = re.compile(r"[A-Za-z0-9_.]{1,30}$")
_OPERAND_AFTER = re.compile(r"[A-Za-z0-9_.]{1,30}")


def check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if ch in "\n\r":
            raise ExprError(
                "Write the function on one line (line break at column {column}).", {}, i, i + 1
            )
        if ch == "#":
            raise ExprError(
                "Comments ('#' at column {column}) are not allowed.", {"token": "#"}, i, i + 1
            )
        if ord(ch) < 32 or ord(ch) == 127:
            raise ExprError(
                "Control character {code} at column {column} is not allowed.",
                {"code": f"U+{ord(ch):04X}"},
                i,
                i + 1,
            )
        if ord(ch) > 127 and unicodedata.category(ch)[0] in "CZ":
            # Invisible or direction-changing (U+202E would turn the message
            # itself around): name it by its code point, never show it.
            raise ExprError(
                "The invisible character {code} at column {column} is not allowed.",
                {"code": f"U+{ord(ch):04X}"},
                i,
                i + 1,
            )
        if ch in ASCII_SPELLINGS:
            raise spelling(text, i)
        if ord(ch) > 127:
            # Python folds many Unicode letters into ASCII ones (NFKC), so a
            # name that looks harmless could become another one: refuse them all.
            raise ExprError(
                "The character '{char}' at column {column} is not allowed; use plain ASCII "
                "letters, digits and operators.",
                {"char": ch},
                i,
                i + 1,
            )


def spelling(text: str, i: int) -> ExprError:
    """The refusal of ``text[i]``, one of ASCII_SPELLINGS, naming its ASCII spelling with
    the operands beside it: ``x²`` -> x**2 or x^2, ``2·x`` -> 2*x."""
    ch = text[i]
    before = _OPERAND_BEFORE.search(text[max(0, i - 30) : i])
    left = before.group() if before else ""
    if ch in _POWERS:
        return ExprError(
            "The character '{char}' at column {column} is not allowed; write {fix} or {alt} "
            "instead of {token}.",
            {"char": ch, "token": left + ch, "fix": left + ASCII_SPELLINGS[ch],
             "alt": left + _POWERS[ch]},
            i,
            i + 1,
        )
    after = _OPERAND_AFTER.match(text, i + 1)
    right = after.group() if after else ""
    return ExprError(
        "The character '{char}' at column {column} is not allowed; {operation} with {ascii}: "
        "write {fix} instead of {token}.",
        {"char": ch, "operation": _OPERATIONS[ch], "ascii": ASCII_SPELLINGS[ch],
         "token": left + ch + right, "fix": left + ASCII_SPELLINGS[ch] + right},
        i,
        i + 1,
    )


def caret_to_power(text: str) -> tuple[str, list[int]]:
    """Turn every ``^`` into ``**`` and map each column of the result back.

    Python's ``^`` binds more loosely than ``+``; replacing the token before
    parsing gives it the binding students mean (``x^2 + 1`` is ``x**2 + 1``).
    The language has no strings, so every ``^`` is an operator.
    """
    out: list[str] = []
    origin: list[int] = []
    # Python reads leading spaces as an indent: leave them out, keep the columns.
    lead = len(text) - len(text.lstrip(" \t"))
    for i, ch in enumerate(text):
        if i < lead:
            continue
        if ch == "^":
            out.append("**")
            origin.extend((i, i))
        else:
            out.append(ch)
            origin.append(i)
    origin.append(len(text))
    return "".join(out), origin


def slip(text: str) -> ExprError | None:
    """A hint for the common slips in text Python cannot read: a number
    written against a name (``5x``) or a function without its parentheses
    (``sin x``)."""
    for number in _NUMBER.finditer(text):
        name = _NAME.match(text, number.end())
        if name:
            token = text[number.start() : name.end()]
            return ExprError(
                "Write * between a number and a name: {fix} instead of {token} (column {column}).",
                {"token": token, "fix": f"{number.group()}*{name.group()}"},
                number.start(),
                name.end(),
            )
    bare = _BARE_CALL.search(text)
    if bare:
        function, argument = bare.groups()
        return ExprError(
            "Put the argument of {name} in parentheses: {fix} instead of {token} (column {column}).",
            {"name": function, "token": bare.group(), "fix": f"{function}({argument})"},
            bare.start(),
            bare.end(),
        )
    return None


def decimal_comma(text: str) -> ExprError | None:
    """A hint for 2,5 written for 2.5, when the comma made a tuple."""
    found = _DECIMAL_COMMA.search(text)
    if not found:
        return None
    return ExprError(
        "Write decimals with a point: {fix} instead of {token} (column {column}).",
        {"token": found.group(), "fix": f"{found.group(1)}.{found.group(2)}"},
        found.start(),
        found.end(),
    )


def flat_cell(text: str) -> ExprError | None:
    """A hint for a notebook cell pasted into the one-line field: a browser's one-line
    field turns the cell's line breaks into spaces, so it cannot be read as lines."""
    found = _FLAT_CELL.search(text.strip())
    if found is None or "=" not in text:
        return None
    start = len(text) - len(text.lstrip()) + found.start()
    return ExprError(
        "This is a notebook cell on one line: the one-line field turns line breaks into "
        "spaces ('{token}' at column {column}). Choose \"Write it as a program of several "
        "lines\" and paste the cell there.",
        {"token": found.group()},
        start,
        start + len(found.group()),
    )


def syntax_error(exc: SyntaxError, text: str, origin: list[int]) -> ExprError:
    hint = flat_cell(text) or slip(text)
    if hint is not None:
        return hint
    stripped = text.rstrip()
    if stripped and stripped[-1] in "+-*/^@(,":
        start = len(stripped) - (2 if stripped.endswith("**") else 1)
        return ExprError(
            "The function ends too early, after '{token}' at column {column}.",
            {"token": stripped[start:]},
            start,
            len(stripped),
        )
    offset = (exc.offset or 1) - 1
    if exc.lineno and exc.lineno > 1:
        offset = len(origin) - 1
    offset = max(0, min(offset, len(origin) - 1))
    start = origin[offset]
    token = text[start : start + 1] if start < len(text) else ""
    reason = SYNTAX_REASONS.get(exc.msg, exc.msg or N_("invalid syntax"))
    if start >= len(text):
        return ExprError(
            "The function ends too early ({reason}).", {"reason": reason}, len(text), len(text)
        )
    return ExprError(
        "The function cannot be read at column {column} near '{token}' ({reason}).",
        {"token": token, "reason": reason},
        start,
        start + 1,
    )
