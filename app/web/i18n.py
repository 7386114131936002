"""Languages: the message catalogue and how a request picks its language.

English is the source language: every message id is the English text. The
German catalogue is ``app/web/locale/de/LC_MESSAGES/messages.po``, a gettext PO
file kept with Babel (see README). It is compiled in memory when the app
starts, so there is no build step and no compiled file to forget.
"""

from __future__ import annotations

import functools
import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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
    """``lang`` from the URL wins; then the first supported language the browser prefers."""
    if query_lang in LANGUAGES:
        return query_lang
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for position, item in enumerate((accept_language or "").split(",")):
        code, _, params = item.strip().partition(";")
        primary = code.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        # Earlier entries win ties, as browsers list them by preference.
        if q > best_q or (q == best_q and position == 0):
            best, best_q = primary, q
    return best


def message(lang: str, template: str, column: int | None = None, **params: object) -> str:
    """A refusal's sentence in ``lang``: its English template translated, then filled in."""
    catalogue = translations(lang)
    text = catalogue.gettext(template)
    # Phrases passed in (such as "attribute access") are in the catalogue too.
    params = {k: catalogue.gettext(v) if isinstance(v, str) and v else v for k, v in params.items()}
    try:
        return text.format(column=column, **params)
    except (KeyError, IndexError, ValueError):
        return template.format(column=column, **params)
