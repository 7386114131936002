"""Languages: a real catalogue, complete for German, and how a request picks its language."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import ExprError
from autograd_playground.web import i18n

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "app" / "web" / "locale" / "de" / "LC_MESSAGES" / "messages.po"


def catalogue():
    with PO.open("rb") as f:
        return read_po(f, locale="de")


def template_messages() -> set[str]:
    """Every _("...") in the templates."""
    found = set()
    for path in [*(ROOT / "templates").rglob("*.html"), *(ROOT / "app" / "core").rglob("*.html")]:
        found |= set(re.findall(r'_\(\s*"((?:[^"\\]|\\.)*)"', path.read_text()))
        found |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", path.read_text()))
    return found


def refusal_templates() -> set[str]:
    """Every text given to ExprError(...), .refuse(...) and N_(...) in app/, read with ast.

    A refusal's sentence is its first text argument (LTI's refuse takes a status
    first); a sentence kept in a constant is marked with N_ where it is written.
    """
    found = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("ExprError", "refuse", "N_"):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if texts:
                found.add(texts[0])
    return found


def test_every_message_has_a_german_translation():
    translated = {m.id: m.string for m in catalogue() if m.id}
    for message in template_messages() | refusal_templates():
        assert translated.get(message), f"no German for: {message!r}"


def test_the_catalogue_has_no_fuzzy_or_empty_entries():
    for m in catalogue():
        if m.id:
            assert m.string, m.id
            assert not m.fuzzy, m.id


def test_placeholders_survive_translation():
    for m in catalogue():
        if not m.id:
            continue
        assert sorted(re.findall(r"\{\w+(?::\w+)?\}", m.id)) == sorted(
            re.findall(r"\{\w+(?::\w+)?\}", m.string)
        ), m.id
        assert sorted(re.findall(r"%\(\w+\)s", m.id)) == sorted(
            re.findall(r"%\(\w+\)s", m.string)
        ), m.id


def test_the_lesson_words_are_used():
    german = " ".join(m.string for m in catalogue() if m.id)
    for word in ("Rechengraph", "Gradient", "Ableitung", "Rückwärtsdurchlauf"):
        assert word in german


@pytest.mark.parametrize(
    "query, header, expected",
    [
        (None, None, "en"),
        (None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (None, "en-US,en;q=0.9,de;q=0.8", "en"),
        (None, "fr-FR,de;q=0.5", "de"),
        (None, "fr-FR", "en"),
        ("en", "de-DE", "en"),
        ("de", "en", "de"),
        ("xx", "de", "de"),
        (None, "de;q=0.2,en;q=0.9", "en"),
        (None, "garbage;;;q=x", "en"),
        # q=0 means "not acceptable", not "least wanted".
        (None, "de;q=0, en;q=0.1", "en"),
        (None, "fr, de;q=0", "en"),
        (None, "de-AT", "de"),
        (None, "DE-de;q=0.5, fr", "de"),
        (None, "*, de;q=0.5", "de"),
        (None, "en;q=2, de;q=0.5", "de"),
    ],
)
def test_language_negotiation(query, header, expected):
    assert i18n.negotiate(query, header) == expected


def test_a_refusal_reads_in_german_with_its_parts_translated():
    with pytest.raises(ExprError) as info:
        parse("x.grad")
    error = info.value
    german = i18n.message("de", error.template, error.column, **error.params)
    assert german == "Nicht erlaubt: Attributzugriff (Spalte 1, 'x.grad')."
    assert i18n.message("en", error.template, error.column, **error.params) == error.message


def test_the_catalogue_is_up_to_date_with_the_code(tmp_path):
    """Extraction finds no message id that the catalogue lacks (scripts/update-messages)."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "--no-default-keywords", "-k", "_", "-k", "gettext", "-k", "N_", "-k", "ExprError:1", "-k", "TooLong:1",
         "-k", "refuse:1", "-k", "message:2", "-k", "Example:1", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    have = {m.id for m in catalogue() if m.id and m.string}
    assert not wanted - have, f"untranslated: {sorted(wanted - have)}"


# --- the templates' _(), remembered per text ----------------------------------


def jinja_own(lang: str, autoescape: bool):
    """An environment with Jinja's own new-style gettext, as the oracle."""
    from jinja2 import Environment

    env = Environment(autoescape=autoescape, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)
    return env


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("autoescape", [True, False])
def test_the_remembered_gettext_says_what_jinja_says(lang, autoescape):
    from autograd_playground.web.templating import environment

    ours = environment(lang)
    ours.autoescape = autoescape
    theirs = jinja_own(lang, autoescape)
    texts = sorted({m.id for m in catalogue() if isinstance(m.id, str) and "%(" not in m.id}
                   | {"100%% <b>sure</b> & 'quoted'", "plain"})
    template = "{% for t in texts %}[{{ _(t) }}]{% endfor %}"
    twice = "{% for t in texts %}[{{ _(t) }}|{{ gettext(t) }}]{% endfor %}"
    expected = theirs.from_string(template).render(texts=texts)
    assert ours.from_string(template).render(texts=texts) == expected
    # remembered: the second rendering, and the gettext() spelling, say the same
    assert ours.from_string(twice).render(texts=texts) == theirs.from_string(twice).render(texts=texts)
    if lang == "de":
        assert "Rechengraph" in expected


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_remembered_gettext_fills_and_escapes_placeholders(lang):
    from autograd_playground.web.templating import environment

    ours, theirs = environment(lang), jinja_own(lang, True)
    source = '{{ _("%(n)s collapsed", n=n) }} {{ _("%(n)s collapsed", n=n) }}'
    for n in (1, "<script>", 3):
        assert ours.from_string(source).render(n=n) == theirs.from_string(source).render(n=n)
    assert "&lt;script&gt;" in ours.from_string(source).render(n="<script>")
    if lang == "de":
        assert "zugeklappt" in ours.from_string(source).render(n=2)
