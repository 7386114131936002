"""Templates with their plain texts written out at load read exactly as Jinja renders them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from jinja2 import FileSystemLoader

from autograd_playground.serve.settings import Settings
from autograd_playground.web import i18n, templating
from autograd_playground.web.main import create_app

PAGES = [
    ("/", {"expr": "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2", "w": "0.5", "x": "1.5",
           "b": "0.1", "t": "1"}),
    ("/", {"expr": "sigmoid(sum(w*x) + b)", "w": "[0.5, -1, 2]", "x": "[1, 2, 3]", "b": "0.1",
           "view": "annotated", "step": "3"}),
    ("/", {"expr": "x**2*y + sin(y)", "x": "3", "y": "0.5", "order": "2"}),
    ("/calculus", {"expr": "x**2*y + sin(y)", "x": "3", "y": "0.5"}),
    ("/embed", {"expr": "5*x**3 + 2*x**2 + 4*x + 8", "x": "2"}),
    ("/", {"expr": "x**", "x": "2"}),
]


def as_jinja_reads_them(client: TestClient) -> None:
    """The app's environments, loading the templates as they are written."""
    for lang, env in client.app.state.templates.items():
        env.loader = FileSystemLoader(templating.SEARCH_PATH)
        env.cache.clear()
        for name in env.list_templates(extensions=["html"]):
            env.get_template(name)
        assert lang in i18n.LANGUAGES


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("block", [None, "result"])
def test_every_page_reads_the_same_with_its_texts_written_out(lang: str, block: str | None) -> None:
    headers = {"HX-Request": "true", "HX-Target": block} if block else {}
    pages = []
    for written_out in (True, False):
        with TestClient(create_app(Settings(workers=0, warm_cache=False))) as client:
            if not written_out:
                as_jinja_reads_them(client)
            pages.append([client.get(path, params={**params, "lang": lang}, headers=headers).text
                          for path, params in PAGES])
    assert pages[0] == pages[1]
    assert all(len(page) > 200 for page in pages[0])


def test_only_a_plain_call_alone_in_its_braces_is_written_out() -> None:
    loader = templating.TranslatedLoader(templating.SEARCH_PATH, {"a": "A&B", "b": "{x}"}.get)
    call = templating._SIMPLE_CALL
    assert call.sub(loader._written, '<p>{{ _("a") }}</p>') == "<p>A&B</p>"
    assert call.sub(loader._written, "<p>{{_('a')}}</p>") == "<p>A&B</p>"
    for kept in ('{{- _("a") }}', '{{ _("a") -}}', '{{ _("b") }}', '{{ _("a", n=1) }}',
                 '{{ _("a") ~ "!" }}', '{{ _("a\\"") }}'):
        assert call.sub(loader._written, kept) == kept
