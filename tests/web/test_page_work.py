"""The web process's work is bounded: unknown parameters make no new page, a formula is
checked once, and the rate limit weighs routes by their cost."""

from __future__ import annotations

from fastapi.testclient import TestClient

from autograd_playground.serve.settings import Settings
from autograd_playground.web import markup
from autograd_playground.web.main import create_app


def client_for(**settings) -> TestClient:
    options = dict(workers=0, warm_cache=False)
    options.update(settings)
    return TestClient(create_app(Settings(**options)))


def test_parameters_the_page_does_not_use_make_no_new_entry() -> None:
    with client_for() as client:
        first = client.get("/?expr=x**2&x=3&zz=1", headers={"HX-Request": "true",
                                                             "HX-Target": "result"})
        cache = client.app.state.page_cache
        kept = len(cache)
        pages = [client.get(f"/?expr=x**2&x=3&zz={n}", headers={"HX-Request": "true",
                                                                "HX-Target": "result"})
                 for n in range(2, 12)]
        assert len(cache) == kept >= 1
    assert all(page.headers["x-cache"] == "hit" for page in pages)
    assert all(page.text == first.text for page in pages)


def test_a_value_the_function_uses_is_still_a_new_page() -> None:
    with client_for() as client:
        three = client.get("/?expr=x**2&x=3")
        four = client.get("/?expr=x**2&x=4")
    assert "6" in three.text and four.headers["x-cache"] != "hit"
    assert three.text != four.text


def test_a_formula_is_checked_once_for_every_page_that_shows_it(monkeypatch) -> None:
    calls: list[str] = []
    checked = markup.CheckedMathML()

    def counting(text: str) -> str:
        calls.append(text)
        return text

    monkeypatch.setattr(markup, "checked_mathml", counting)
    formula = "<math><mi>x</mi></math>"
    assert checked(formula) == checked(formula) == formula
    assert calls == [formula]


def test_calculus_costs_more_of_the_rate_than_a_small_block() -> None:
    with client_for(rate_limit_per_minute=1, rate_limit_burst=8) as client:
        small = [client.get("/fields?expr=x**2").status_code for _ in range(3)]
        costly = [client.get("/calculus?expr=x**2&x=1").status_code for _ in range(2)]
    assert small == [200, 200, 200]
    # 8 tokens: three blocks at 1, then one /calculus at 4; the next is one token short.
    assert costly[0] == 200 and costly[1] == 429
