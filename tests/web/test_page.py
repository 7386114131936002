"""The playground page and its htmx partials, asserted through selectors."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from autograd_playground.web.examples import EXAMPLES
from autograd_playground.web.state import RESERVED, SEED

HX = {"HX-Request": "true"}


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def get(client, **params):
    return client.get("/", params=params)


def test_the_page_opens_on_the_lesson_function(client):
    page = soup(client.get("/"))
    assert page.select_one("[data-testid=expr]")["value"] == SEED
    assert page.select_one("[data-testid=value-x]")["value"] == "2"
    assert page.select_one("[data-testid=grad-x]").has_attr("checked")
    assert page.select_one("[data-testid=print-y]").text == "tensor(64., grad_fn=<AddBackward0>)"
    assert page.select_one("[data-testid=gradient-x]").text.strip() == "x.grad = 72"
    assert page.select_one("[data-testid=step-counter]").text.strip() == "Step 0 of 9"


def test_a_plain_form_get_renders_the_full_result(client):
    page = soup(get(client, expr="x*y + y", x="3", y="-1"))
    assert page.select_one("html")["lang"] == "en"
    assert page.select_one("[data-testid=gradient-x]").text.strip() == "x.grad = -1"
    assert page.select_one("[data-testid=gradient-y]").text.strip() == "y.grad = 4"
    assert page.select("#graph svg g.node")


def test_one_url_answers_a_page_or_a_fragment_and_says_so(client):
    full = client.get("/")
    fragment = client.get("/", headers={**HX, "HX-Target": "result"})
    for response in (full, fragment):
        assert "HX-Request" in response.headers["vary"]
    assert "<html" in full.text
    assert "<html" not in fragment.text
    part = BeautifulSoup(fragment.text, "html.parser")
    assert part.select_one("[data-testid=gradient-x]").text.strip() == "x.grad = 72"
    assert part.select_one("form#playground") is None


def test_the_value_fields_follow_the_function(client):
    response = client.get("/fields", params={"expr": "a*b + c", "a": "3"}, headers=HX)
    part = BeautifulSoup(response.text, "html.parser")
    fields = part.select_one("fieldset#fields")
    assert [i["name"] for i in fields.select("input[type=text]")] == ["a", "b", "c"]
    assert part.select_one("[data-testid=value-a]")["value"] == "3"
    assert part.select_one("[data-testid=value-b]")["value"] == "1"
    assert part.select_one("html") is None


def test_unreadable_text_gives_no_fields_and_no_crash(client):
    response = client.get("/fields", params={"expr": "x +* 2"}, headers=HX)
    part = BeautifulSoup(response.text, "html.parser")
    assert part.select("input[type=text]") == []


@pytest.mark.parametrize(
    "expr, bad, words",
    [
        ("x.__class__", "x.__class__", "attribute"),
        ("5*x**", "**", "ends too early"),
        ("foo(x)", "foo", "Unknown function"),
    ],
)
def test_a_bad_function_shows_an_alert_marking_the_offending_text(client, expr, bad, words):
    page = soup(get(client, expr=expr, x="2"))
    alert = page.select_one("[role=alert][data-testid=error]")
    assert words in alert.select_one(".error-message").text
    assert alert.select_one("mark").text == bad
    assert page.select_one("[data-testid=gradient-x]") is None


def test_errors_are_translated(client):
    page = soup(get(client, expr="x.y", x="1", lang="de"))
    message = page.select_one("[data-testid=error] .error-message").text
    assert message == "Nicht erlaubt: Attributzugriff (Spalte 1, 'x.y')."


def test_german_follows_accept_language_and_the_switch_overrides_it(client):
    german = soup(client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"}))
    assert german.select_one("html")["lang"] == "de"
    assert german.select_one("#graph-heading").text == "Rechengraph"
    assert german.select_one("[data-testid=step-counter]").text.strip() == "Schritt 0 von 9"
    english = soup(client.get("/?lang=en", headers={"Accept-Language": "de-DE"}))
    assert english.select_one("html")["lang"] == "en"


def test_the_step_is_in_the_url_and_rendered_without_javascript(client):
    page = soup(get(client, expr=SEED, x="2", step="8"))
    assert page.select_one("[data-testid=step-counter]").text.strip() == "Step 8 of 9"
    visible = [li for li in page.select("li.step") if not li.has_attr("hidden")]
    assert len(visible) == 1 and visible[0]["data-step"] == "8"
    current = page.select("#graph g.node.current")
    assert [g["id"] for g in current] == [visible[0]["data-node"]]
    assert len(page.select("#graph g.node.done")) == 7
    text = visible[0].get_text(" ", strip=True)
    assert "5 · 12 = 60" in text and "3·x²" in text
    prev_href = page.select_one("[data-testid=step-prev]")["href"]
    assert parse_qs(urlsplit(prev_href).query)["step"] == ["7"]


def test_the_leaf_step_shows_the_sum_over_paths(client):
    page = soup(get(client, expr=SEED, x="2", step="9"))
    leaf = page.select_one('li.step[data-step="9"]')
    assert leaf.select_one(".sum").text.strip() == "60 + 8 + 4 = 72 = x.grad"


def test_out_of_range_steps_are_clamped(client):
    page = soup(get(client, expr=SEED, x="2", step="99"))
    assert page.select_one("[data-testid=step-counter]").text.strip() == "Step 9 of 9"


def test_the_forward_pass_can_be_stepped_first(client):
    page = soup(get(client, expr=SEED, x="2", forward="1", step="1"))
    assert page.select_one("[data-testid=step-counter]").text.strip() == "Step 1 of 17"
    first = page.select_one('li.step.forward[data-step="1"]')
    assert "x**3 = 8" in first.text
    # The script paints what the list item says; the picture already shows it.
    unbuilt = {g["id"] for g in page.select("#graph g.node.unbuilt")}
    assert set(first["data-unbuilt"].split()) == unbuilt and "n0" in unbuilt
    assert "n4" not in unbuilt and first["data-node"] == "n4"  # x**3 is built at once


def test_requires_grad_off_comes_from_the_url(client):
    page = soup(client.get("/?expr=c*x**2&c=3&x=2&rg=1&grad=x"))
    assert not page.select_one("[data-testid=grad-c]").has_attr("checked")
    assert page.select_one("[data-testid=gradient-c]").text.startswith("c.grad = None")
    assert page.select_one("[data-testid=gradient-x]").text.strip() == "x.grad = 12"


def test_tensor_values_and_a_decimal_comma(client):
    page = soup(client.get("/", params={"expr": "sum(v*w)", "v": "[1, 2, 3]", "w": "0,5"}))
    assert page.select_one("[data-testid=gradient-v]").text.strip() == "v.grad = [0.5, 0.5, 0.5]"
    assert page.select_one("[data-testid=gradient-w]").text.strip() == "w.grad = 6"


# 'expr' itself cannot be tried: a variable named so is read as the function parameter.
@pytest.mark.parametrize("name", sorted(set(RESERVED) - {"expr"}))
def test_a_variable_with_a_reserved_name_is_refused(client, name):
    page = soup(client.get("/", params={"expr": f"{name}*2", name: "1"}))
    alert = page.select_one("[data-testid=error]")
    assert alert is not None and "reserved" in alert.text


def test_a_bad_value_names_its_variable(client):
    page = soup(get(client, expr="x*2", x="two"))
    assert "'x'" in page.select_one("[data-testid=error]").text


def test_the_code_is_the_lesson_style_program(client):
    code = soup(client.get("/")).select_one("#code").text
    assert "x = torch.tensor(2.0, requires_grad=True)" in code
    assert "y.backward()" in code and "print(x.grad)" in code


def test_each_example_link_opens_a_result(client):
    page = soup(client.get("/"))
    links = page.select("a.example")
    assert len(links) == len(EXAMPLES) >= 5
    for link in links:
        opened = soup(client.get(link["href"]))
        assert opened.select_one("[data-testid=error]") is None, link["href"]
        assert opened.select("[data-testid^=gradient-]")


def test_links_keep_a_plus_in_the_function(client):
    page = soup(client.get("/", params={"expr": "x + 1", "x": "2", "lang": "de"}))
    href = page.select_one("[data-testid=step-next]")["href"]
    assert parse_qs(urlsplit(href).query)["expr"] == ["x + 1"]
    assert parse_qs(urlsplit(href).query)["lang"] == ["de"]


def test_node_details_are_rendered_for_every_node(client):
    page = soup(client.get("/"))
    nodes = {g["id"] for g in page.select("#graph g.node")}
    details = {d["data-node"] for d in page.select(".node-details")}
    assert details == nodes  # the ops, and the tensor boxes out and var-x
    assert "x.grad" in page.select_one('.node-details[data-node="var-x"]').text
    pow3 = next(d for d in page.select(".node-details") if d.h2.code.text == "x**3")
    assert "exponent = 3" in pow3.text


def test_no_inline_script_and_a_strict_policy(client):
    response = client.get("/")
    page = soup(response)
    assert all(s.has_attr("src") for s in page.select("script"))
    for tag in page.find_all(True):
        assert not any(a.startswith("on") for a in tag.attrs), tag.name
        assert not tag.has_attr("style"), tag.name
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    config = page.select_one("meta[name=htmx-config]")["content"]
    for setting in ('"allowEval": false', '"allowScriptTags": false', '"selfRequestsOnly": true'):
        assert setting in config


def test_nothing_is_loaded_from_another_host(client):
    for path in ("/", "/docs"):
        page = soup(client.get(path))
        # (The oEmbed discovery link is not loaded; it names this host's endpoint.)
        for tag in page.select("script[src], link[href]:not([rel=alternate])"):
            url = tag.get("src") or tag.get("href")
            assert url.startswith("/") and not url.startswith("//"), url


@pytest.mark.parametrize(
    "param", ["expr", "x", "step", "view", "lang", "theme", "forward", "grad"]
)
def test_script_in_any_parameter_stays_text(client, param):
    attack = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
    params = {"expr": "x*2", "x": "2", param: attack}
    response = client.get("/", params=params)
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "<img src=x" not in response.text
    page = soup(response)
    assert not page.select("img")
    assert len(page.select("script")) == 2  # htmx and the app's entry module, nothing else


def test_the_svg_on_the_page_has_no_script_or_links(client):
    graph = soup(client.get("/")).select_one("#graph")
    assert not graph.select("script, a, foreignObject")
    assert not re.search(r"\son\w+=", str(graph))


def test_a_graph_that_cannot_be_drawn_is_said_in_the_students_language(client, monkeypatch):
    import autograd_playground.core.draw.render
    from autograd_playground.core.draw.layout import RenderError

    def broken(*args, **kwargs):
        raise RenderError("dot is gone")

    monkeypatch.setattr(autograd_playground.core.draw.render, "layout", broken)
    response = client.get("/", params={"expr": "x*3", "x": "2", "lang": "de"})
    assert response.status_code == 503
    message = BeautifulSoup(response.text, "html.parser").select_one("[data-testid=error]").text
    assert "Rechengraph konnte gerade nicht gezeichnet werden" in message


def test_a_new_variable_says_it_starts_at_1(client):
    fields = BeautifulSoup(
        client.get("/fields", params={"expr": "x*y + z", "x": "2"}, headers=HX).text, "html.parser"
    )
    note = fields.select_one("[data-testid=new-values]").get_text()
    assert "y, z are new and start at 1" in note
    assert fields.select_one("[data-testid=value-y]")["value"] == "1"
    known = BeautifulSoup(client.get("/", params={"expr": "x*y", "x": "2", "y": "3"}).text,
                          "html.parser")
    assert known.select_one("[data-testid=new-values]") is None


def test_every_template_is_compiled_before_the_first_request():
    """A class opening one embed link at once must not all wait for Jinja to compile it."""
    from autograd_playground.web.templating import environments

    for env in environments().values():
        names = set(env.list_templates(extensions=["html"]))
        assert {"index.html", "embed.html", "calculus.html", "training.html"} <= names
        assert names <= {key[1] for key in env.cache.keys()}
