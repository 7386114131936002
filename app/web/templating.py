"""The Jinja2 environments, one per language, and the one-sentence message page.

Template and static paths are resolved from this file, never from the working
directory.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import re
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from jinja2_fragments import render_block
from markupsafe import Markup

from ..core.language.values import format_value
from ..core.teach import sentences
from . import embedding, i18n
from .context import shown_saved
from .state import HIDEABLE, PageState, exercise_answers, visible

# The installed app's version (pyproject.toml), shown in /healthz and the page footer.
try:
    VERSION = metadata.version("autograd-playground")
except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
    VERSION = "unknown"

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
# Where the loader looks: the page's templates, then the step sentences the notebook shares.
SEARCH_PATH = [TEMPLATES, sentences.TEMPLATES]
STATIC = ROOT / "static"

Environments = dict[str, Environment]


class TranslatedLoader(FileSystemLoader):
    """The templates, each ``{{ _("text") }}`` without placeholders already written out.

    Such a call's output is the same on every render: the translated text as markup
    (Jinja's new-style gettext, remembered_gettext). A result's block made about 260
    calls through Jinja's context for these and a few others, a fifth of its render;
    the text is now put in when the template is loaded, once per language. A
    translation holding a brace stays a call, so that it is never read as a tag.
    """

    def __init__(self, searchpath: list[Path], translate: Callable[[str], str]):
        super().__init__(searchpath)
        self.translate = translate

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        return _SIMPLE_CALL.sub(self._written, source), filename, uptodate

    def _written(self, call: re.Match[str]) -> str:
        text = call.group(1) if call.group(1) is not None else call.group(2)
        try:
            out = self.translate(text) % {}  # as gettext formats a text without placeholders
        except (KeyError, ValueError, TypeError):  # a placeholder after all: Jinja says so
            return call.group()
        return call.group() if "{" in out or "}" in out else out


# {{ _("text") }} or {{ _('text') }}, alone in its braces, with no escapes in the text;
# not {{- _(...) -}}, which also strips the whitespace around it.
_SIMPLE_CALL = re.compile(r"""\{\{\s*_\((?:"([^"\\]*)"|'([^'\\]*)')\)\s*\}\}""")


def environment(lang: str, static_version: str = "") -> Environment:
    translations = i18n.translations(lang)
    env = Environment(
        loader=TranslatedLoader(SEARCH_PATH, translations.gettext),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Every template is compiled at start (environments()); without this, each
        # render asks the file system whether the file changed. Restart to see edits.
        auto_reload=False,
    )
    env.install_gettext_translations(translations, newstyle=True)
    env.globals["gettext"] = env.globals["_"] = remembered_gettext(translations)
    # static_url("app/main.js") -> /static/<version>/app/main.js (see assets.py).
    static_prefix = f"/static/{static_version}/" if static_version else "/static/"
    env.globals["static_url"] = lambda path: static_prefix + path
    env.globals["fmt"] = format_value
    env.globals["app_version"] = VERSION
    env.filters["visible"] = visible  # bidi controls shown as U+FFFD
    env.filters["shown_saved"] = shown_saved
    env.globals["snippet"] = embedding.snippet
    env.globals["hideable"] = HIDEABLE
    env.globals["exercise_answers"] = exercise_answers
    env.globals["default_share"] = embedding.default_options
    return env


def remembered_gettext(translations: gettext_module.NullTranslations) -> Callable[..., str]:
    """Jinja's new-style ``_()``, with a text that has no placeholders translated,
    escaped and formatted once.

    A result's page calls ``_()`` about 150 times; Jinja's own version translates,
    wraps in Markup and formats on every call, a sixth of the web process's time
    for a new result. The texts are the templates' own, so the memo is small; a text
    with placeholders is kept translated and wrapped, and formatted on each call.
    """
    translate = translations.gettext

    @functools.lru_cache(maxsize=4096)
    def translated(text: str, autoescape: bool) -> str:
        return Markup(translate(text)) if autoescape else translate(text)

    @functools.lru_cache(maxsize=4096)
    def plain(text: str, autoescape: bool) -> str:
        return translated(text, autoescape) % {}

    # The evaluation context, not the whole context, is all it needs: Jinja copies
    # the whole context for a function that takes it, on every call in a loop or a
    # block, and that copy cost a fifth of a result's render.
    @pass_eval_context
    def gettext(eval_ctx: EvalContext, text: str, /, **variables: Any) -> str:
        if not variables:
            return plain(text, eval_ctx.autoescape)
        return translated(text, eval_ctx.autoescape) % variables

    return gettext


def environments(static_version: str = "") -> Environments:
    """One environment per language, every template already compiled.

    Jinja compiles a template the first time it is asked for; the playground's
    page takes about 0.2 s to compile, and a class opening an embed link at once
    would all wait for it.
    """
    envs = {lang: environment(lang, static_version) for lang in i18n.LANGUAGES}
    for env in envs.values():
        for name in env.list_templates(extensions=["html"]):
            env.get_template(name)
    return envs


def render(env: Environment, template: str, block: str | None = None, **context: Any) -> str:
    """A whole page, or one of its blocks for an htmx request (the same template either way)."""
    if block:
        return render_block(env, template, block, **context)
    return env.get_template(template).render(**context)


def message_page(
    envs: Environments,
    query_lang: str | None,
    accept_language: str | None,
    htmx: bool,
    template: str,
    **params: Any,
) -> tuple[str, str]:
    """A page (or, for htmx, its message block) that says one sentence; and its language."""
    state = PageState(lang=query_lang if query_lang in i18n.LANGUAGES else None)
    lang = i18n.negotiate(state.lang, accept_language)
    message = i18n.message(lang, template, **params)
    html = render(
        envs[lang], "message.html", "message" if htmx else None,
        state=state, lang=lang, message=message,
    )
    return html, lang
