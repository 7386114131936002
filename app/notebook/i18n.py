"""The output's languages: English, and German from two PO catalogues.

The page's words (the steps, the node details) are the page's own catalogue,
``autograd_playground/web/locale/de/LC_MESSAGES/messages.po``, read as a file: the
same German as the page, without importing the web layer or FastAPI. The few
sentences only a notebook says are in ``locale/de.po`` beside this module, which
is asked first. Both are PO files, read and compiled in memory with Babel, as the
page does (app/web/i18n.py): Babel is a pure-Python package of the base install,
and no compiled catalogue has to be built into the wheel or kept in step.
"""

from __future__ import annotations

import functools
import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "de")
OWN = Path(__file__).parent / "locale"
PAGE = Path(__file__).parent.parent / "web" / "locale"


def _compiled(path: Path, lang: str) -> gettext.GNUTranslations:
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The output's catalogue for ``lang``: its own sentences first, then the page's."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    if lang == "en":
        return gettext.NullTranslations()
    own = _compiled(OWN / f"{lang}.po", lang)
    page = PAGE / lang / "LC_MESSAGES" / "messages.po"
    if page.exists():
        own.add_fallback(_compiled(page, lang))
    return own
