"""Languages: the message catalogue and how a request picks its language.

English is the source language: every message id is the English text. The
German catalogue is ``app/web/locale/de/LC_MESSAGES/messages.po``, a gettext PO
file kept with Babel (see docs/development.md). It is compiled in memory when the app
starts, so there is no build step and no compiled file to forget.
"""

from __future__ import annotations

import functools
import gettext
import logging
from io import BytesIO
from pathlib import Path

from babel import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ..core.language.rules import N_
from .headers import accepted

logger = logging.getLogger(__name__)

LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def negotiate(query_lang: str | None, accept_language: str | None) -> str:
    """``lang`` from the URL wins; then the first supported language the browser prefers.

    The header's weights decide the order (ties keep the browser's order), and a
    language weighted ``q=0`` is one the browser does not accept; Babel matches
    what is left (``de-AT`` is German) against the languages we have.
    """
    if query_lang in LANGUAGES:
        return query_lang
    return negotiate_locale(preferred(accept_language), LANGUAGES, sep="-") or DEFAULT_LANGUAGE


def preferred(accept_language: str | None) -> list[str]:
    """The languages of an Accept-Language header, most wanted first, without q=0 ones."""
    return [code for code in accepted(accept_language) if code != "*"]


# A refusal on one line of a program names the line first.
LINE_PREFIX = N_("Line {line}: {sentence}")


def message(
    lang: str,
    template: str,
    column: int | None = None,
    on_line: int | None = None,
    **params: object,
) -> str:
    """A refusal's sentence in ``lang``: its English template translated, then filled in.

    ``on_line`` (a program's line) is named before the sentence.
    """
    catalogue = translations(lang)
    text = catalogue.gettext(template)
    # Phrases passed in (such as "attribute access") are in the catalogue too.
    params = {k: catalogue.gettext(v) if isinstance(v, str) and v else v for k, v in params.items()}
    try:
        sentence = text.format(column=column, **params)
    except (KeyError, IndexError, ValueError):
        # A translation whose placeholders do not match its English template.
        logger.warning("the %s translation of %r cannot be filled in", lang, template, exc_info=True)
        sentence = template.format(column=column, **params)
    if on_line is None:
        return sentence
    return catalogue.gettext(LINE_PREFIX).format(line=on_line, sentence=sentence)
