"""Embedding: /embed, the share panel, /share, /oembed and the demo lesson, through httpx.

The lesson's function is 5*x**3 + 2*x**2 + 4*x + 8 at x = 2: by hand
dy/dx = 15*x**2 + 4*x + 4 = 60 + 8 + 4 = 72. HTML is read through
BeautifulSoup selectors, never compared as whole strings.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient  # imported quietly by conftest.py first
from pydantic import ValidationError

from autograd_playground.serve.settings import Settings, frame_sources
from autograd_playground.web.assets import static_version
from autograd_playground.web.main import create_app
from autograd_playground.web.state import HIDEABLE, SEED
from autograd_playground.web.templating import STATIC

BASE = "http://testserver"  # the TestClient's base URL
HX_RESULT = {"HX-Request": "true", "HX-Target": "result"}
# The app's own scripts, under the static files' content hash.
VERSIONED = f"/static/{static_version(STATIC)}"
PAGE_SCRIPTS = {f"{VERSIONED}/vendor/htmx.min.js", f"{VERSIONED}/app/main.js"}
EMBED_SCRIPTS = PAGE_SCRIPTS | {f"{VERSIONED}/app/embed.js"}
# Functions whose + signs a link must keep: + is a space in a query string.
PLUS_FUNCTIONS = [
    (SEED, {"x": "2"}),
    ("x+1", {"x": "2"}),
    ("a + b*c", {"a": "1.5", "b": "-2", "c": "3"}),
]


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def directives(response) -> dict[str, str]:
    """The response's Content-Security-Policy as {directive: sources}."""
    policy = response.headers["content-security-policy"]
    parts = [p.strip().split(None, 1) for p in policy.split(";") if p.strip()]
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def embed(client: TestClient, **params: str):
    return client.get("/embed", params=params)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def snippet_frame(snippet_html: str) -> tuple[dict[str, str], dict[str, str]]:
    """The snippet a teacher pastes, parsed: (the iframe's attributes, the script's)."""
    pasted = BeautifulSoup(snippet_html, "html.parser")
    frames, scripts = pasted.select("iframe"), pasted.select("script")
    assert len(frames) == 1 and len(scripts) == 1, snippet_html
    return dict(frames[0].attrs), dict(scripts[0].attrs)


# --- headers ------------------------------------------------------------------------


def test_embed_may_be_framed_by_any_site_by_default(client):
    response = embed(client)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["frame-ancestors"] == "*"
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert "x-frame-options" not in response.headers


def test_the_playground_may_only_be_framed_by_itself(client):
    response = client.get("/")
    assert response.status_code == 200
    assert directives(response)["frame-ancestors"] == "'self'"
    assert "x-frame-options" not in response.headers


def test_allowed_frame_ancestors_lists_exactly_the_course_sites(make_client):
    client = make_client(allowed_frame_ancestors="https://moodle.school.example *.ilias.example")
    assert directives(embed(client))["frame-ancestors"] == (
        "https://moodle.school.example *.ilias.example"
    )
    assert directives(client.get("/"))["frame-ancestors"] == "'self'"


def test_playground_frame_ancestors_governs_the_playground(make_client):
    client = make_client(playground_frame_ancestors="'self' https://lms.school.example")
    assert directives(client.get("/"))["frame-ancestors"] == "'self' https://lms.school.example"
    assert directives(embed(client))["frame-ancestors"] == "*"


@pytest.mark.parametrize(
    "method, path, params",
    [
        ("GET", "/", {}),
        ("GET", "/embed", {"readonly": "1"}),
        ("GET", "/lesson", {"lang": "de"}),
        ("GET", "/share", {"state": "expr=x%2B1&x=2", "options": "1", "readonly": "1"}),
        ("GET", "/oembed", {"url": f"{BASE}/?expr=x%2B1&x=2"}),
    ],
)
def test_no_page_sets_a_cookie(client, method, path, params):
    response = client.request(method, path, params=params)
    assert response.status_code == 200, response.text[:300]
    assert "set-cookie" not in response.headers


def test_the_api_sets_no_cookie(client):
    response = client.post("/api/graph", json={"expression": SEED, "inputs": {"x": 2}})
    assert response.status_code == 200
    assert "set-cookie" not in response.headers


# --- the frame-ancestors settings -------------------------------------------------


MALFORMED_SOURCES = [
    # (setting, what the message must name)
    ("self", "self"),
    ("none", "none"),
    ("https://a.example;script-src *", "https://a.example;script-src"),
    ("javascript:alert(1)", "javascript:alert(1)"),
    ("", "empty"),
    ("   ", "empty"),
    ("'none' https://a.example", "'none'"),
    ("https://a.example <script>", "<script>"),
    ("https://a.example/'x'", "https://a.example/'x'"),
]


@pytest.mark.parametrize("field", ["allowed_frame_ancestors", "playground_frame_ancestors"])
@pytest.mark.parametrize("value, named", MALFORMED_SOURCES)
def test_a_malformed_frame_source_is_refused_naming_it(clean_env, field, value, named):
    with pytest.raises(ValidationError) as refused:
        Settings(**{field: value})
    message = str(refused.value)
    assert field in message
    assert named in message, message


@pytest.mark.parametrize("value, named", MALFORMED_SOURCES[:4])
def test_a_malformed_frame_source_in_the_environment_stops_the_app(
    monkeypatch, clean_env, value, named
):
    monkeypatch.setenv("PLAYGROUND_ALLOWED_FRAME_ANCESTORS", value)
    with pytest.raises(ValidationError) as refused:
        create_app()
    assert named in str(refused.value)


@pytest.mark.parametrize(
    "value, sources",
    [
        ("*", "*"),
        ("'self'", "'self'"),
        ("'none'", "'none'"),
        ("https://moodle.school.example", "https://moodle.school.example"),
        ("*.school.example", "*.school.example"),
        ("https://a.example:8443", "https://a.example:8443"),
        ("https:", "https:"),
        ("https://a.example, https://b.example", "https://a.example https://b.example"),
        ("'self',https://a.example,*.b.example", "'self' https://a.example *.b.example"),
        ("  https://a.example \n https://b.example  ", "https://a.example https://b.example"),
    ],
)
def test_valid_frame_sources_are_accepted_and_normalized(clean_env, value, sources):
    assert Settings(allowed_frame_ancestors=value).allowed_frame_ancestors == sources


def test_a_space_separates_sources_so_a_spaced_host_is_two_sources(clean_env):
    # Decided: spaces and commas are the documented separators, so "https://exa mple"
    # is the two (syntactically valid) sources https://exa and mple, not one bad entry.
    assert frame_sources("https://exa mple") == ["https://exa", "mple"]
    assert Settings(allowed_frame_ancestors="https://exa mple").allowed_frame_ancestors == (
        "https://exa mple"
    )


def test_valid_frame_sources_from_the_environment_reach_the_header(monkeypatch, clean_env):
    monkeypatch.setenv("PLAYGROUND_ALLOWED_FRAME_ANCESTORS", "https://moodle.school.example,'self'")
    with TestClient(create_app()) as client:
        assert directives(embed(client))["frame-ancestors"] == (
            "https://moodle.school.example 'self'"
        )


# --- /embed: what it shows ----------------------------------------------------------


def test_embed_shows_the_lesson_result(client):
    page = soup(embed(client, expr=SEED, x="2"))
    assert page.select_one("body")["class"] == ["embed"]
    assert page.select_one("[data-testid=gradient-x]").text.strip() == "x.grad = 72"
    assert page.select_one("[data-testid=print-y]").text == "tensor(64., grad_fn=<AddBackward0>)"
    assert page.select_one("[data-testid=step-counter]").text.strip() == "Step 0 of 9"
    assert page.select("#graph svg g.node")
    # The playground's chrome is not in the frame.
    assert page.select_one("[data-testid=share]") is None
    assert page.select_one("footer") is None


def test_readonly_shows_the_function_and_values_without_editing(client):
    page = soup(embed(client, expr="a + b*c", a="1", b="2", c="3", readonly="1"))
    expr = page.select_one("[data-testid=expr]")
    assert expr.has_attr("readonly") and expr["value"] == "a + b*c"
    assert not expr.has_attr("hx-get"), "a read-only function must not ask for new fields"
    for name in "abc":
        assert page.select_one(f"[data-testid=value-{name}]").has_attr("readonly"), name
        assert page.select_one(f"[data-testid=grad-{name}]").has_attr("disabled"), name
    assert page.select_one("[data-testid=compute]") is None
    assert page.select_one("[data-testid=gradient-b]").text.strip() == "b.grad = 3"


def test_without_readonly_the_embed_can_be_edited(client):
    page = soup(embed(client, expr=SEED, x="2"))
    assert not page.select_one("[data-testid=expr]").has_attr("readonly")
    assert not page.select_one("[data-testid=value-x]").has_attr("readonly")
    assert page.select_one("[data-testid=compute]") is not None


def shown_parts(page: BeautifulSoup) -> set[str]:
    """The HIDEABLE parts the page shows (a visually hidden field counts as hidden)."""

    def visible(el) -> bool:
        return el is not None and "visually-hidden" not in (el.get("class") or [])

    found = {
        "function": visible(page.select_one(".function-field:has([data-testid=expr])")),
        "values": visible(page.select_one("fieldset#fields")),
        "output": page.select_one("[data-testid=print-y]") is not None,
        "graph": page.select_one("[data-testid=graph]") is not None,
        "steps": page.select_one("#stepper") is not None,
        "details": page.select_one("section.details .node-details") is not None,
        "code": page.select_one("section.code #code") is not None,
        "examples": page.select_one("[data-testid=examples]") is not None,
        "training": page.select_one("[data-testid=training]") is not None,
        "derivative": page.select_one("[data-testid=derivative]") is not None,
        "lines": page.select_one("[data-testid=lines-menu]") is not None,
    }
    assert set(found) == set(HIDEABLE)
    return {part for part, shown in found.items() if shown}


# A program has every part: a single function has no lines to collapse.
NEURON = {"expr": "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2", "w": "0.5", "x": "1.5", "b": "0.1",
          "t": "1"}


def test_every_part_is_shown_by_default(client):
    assert shown_parts(soup(embed(client, **NEURON))) == set(HIDEABLE)
    assert shown_parts(soup(embed(client, expr=SEED, x="2"))) == set(HIDEABLE) - {"lines"}


def test_hide_code_and_examples_removes_just_those(client):
    page = soup(embed(client, expr=SEED, x="2", hide="code,examples"))
    assert shown_parts(page) == set(HIDEABLE) - {"code", "examples", "lines"}
    assert page.select_one("[data-testid=gradient-x]").text.strip() == "x.grad = 72"


# Node details open from a click on a graph node, and the Lines menu sits on the graph,
# so without the graph they go too.
NEEDS = {"details": {"graph"}, "lines": {"graph"}}


@pytest.mark.parametrize("part", HIDEABLE)
def test_each_part_can_be_hidden_alone(client, part):
    page = soup(embed(client, **NEURON, hide=part))
    gone = {part} | {p for p, needs in NEEDS.items() if part in needs}
    assert shown_parts(page) == set(HIDEABLE) - gone
    # The form carries the choice, so a recomputation keeps it.
    form = page.select_one("form#playground")
    if form is not None:
        assert form.select_one("input[name=hide]")["value"] == part


def test_unknown_parts_in_hide_are_ignored(client):
    page = soup(embed(client, **NEURON, hide="steps,nonsense,<b>"))
    assert shown_parts(page) == set(HIDEABLE) - {"steps"}


def test_autoplay_marks_the_stepper(client):
    assert soup(embed(client, autoplay="1")).select_one("#stepper")["data-autoplay"] == "1"
    assert not soup(embed(client)).select_one("#stepper").has_attr("data-autoplay")


def test_a_read_only_frame_offers_no_examples(client):
    """An example would replace the teacher's function in a frame that should keep it."""
    assert soup(embed(client, expr=SEED, x="2", readonly="1")).select("[data-testid=examples]") == []
    editable = soup(embed(client, expr=SEED, x="2"))
    assert editable.select("[data-testid=examples] a.example")


def test_links_inside_the_embed_stay_in_the_embed_with_its_options(client):
    page = soup(embed(client, expr=SEED, x="2", step="3", readonly="1", hide="code"))
    targets: list[tuple[str, str]] = []
    for el in page.select("[href], [hx-get], form[action]"):
        if el.get("data-testid") == "open-playground" or el.name == "link":
            continue
        for attr in ("href", "hx-get", "action"):
            if el.has_attr(attr) and not el[attr].startswith("#"):
                targets.append((f"{el.get('data-testid') or el.name}.{attr}", el[attr]))
    names = {name for name, _ in targets}
    for expected in ("step-next.href", "step-prev.href", "step-last.href", "step-first.href",
                     "view-annotated.href", "view-annotated.hx-get", "forward-toggle.href",
                     "form.action", "form.hx-get"):
        assert expected in names, f"{expected} missing from {sorted(names)}"
    for name, url in targets:
        if name.startswith("form."):
            assert url == "/embed", (name, url)  # the form's fields carry the options
            continue
        if name.endswith(".hx-get") and urlsplit(url).path == "/calculus":
            # Not a page to go to: the derivative panel's block, fetched into the embed.
            assert query_of(url).get("hide") == ["code"], (name, url)
            continue
        assert urlsplit(url).path == "/embed", (name, url)
        q = query_of(url)
        assert q.get("readonly") == ["1"], (name, url)
        assert q.get("hide") == ["code"], (name, url)
    form = page.select_one("form#playground")
    assert form["hx-get"] == "/embed"
    assert form.select_one("input[name=readonly]")["value"] == "1"
    assert form.select_one("input[name=hide]")["value"] == "code"
    next_link = page.select_one("[data-testid=step-next]")["href"]
    assert query_of(next_link)["step"] == ["4"] and query_of(next_link)["expr"] == [SEED]


def test_open_in_playground_leads_to_the_full_page_in_a_new_tab(client):
    page = soup(embed(client, expr="a + b*c", a="1", b="2", c="3", step="3",
                      readonly="1", hide="code,examples", autoplay="1"))
    link = page.select_one("[data-testid=open-playground]")
    parts = urlsplit(link["href"])
    assert parts.path == "/"
    q = query_of(link["href"])
    assert q == {"expr": ["a + b*c"], "a": ["1"], "b": ["2"], "c": ["3"], "step": ["3"]}
    assert link["target"] == "_blank"
    assert "noopener" in link["rel"]


def test_embed_answers_a_page_or_a_fragment_and_says_so(client):
    assert "HX-Request" in embed(client).headers["vary"]


def test_the_embed_fragment_is_the_result_of_the_embed(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(
            "/embed", params={"expr": SEED, "x": "2", "readonly": "1", "hide": "code"},
            headers=HX_RESULT,
        )
    assert response.status_code == 200, response.status_code
    assert "HX-Request" in response.headers["vary"]
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert "<html" not in response.text
    part = BeautifulSoup(response.text, "html.parser")
    assert part.select_one("[data-testid=gradient-x]").text.strip() == "x.grad = 72"
    assert part.select_one("form") is None
    assert part.select_one("section.code") is None  # hide=code holds in the fragment
    next_link = part.select_one("[data-testid=step-next]")["href"]
    assert urlsplit(next_link).path == "/embed" and query_of(next_link)["readonly"] == ["1"]


# --- sharing --------------------------------------------------------------------------


@pytest.mark.parametrize("expr, values", PLUS_FUNCTIONS)
def test_the_share_panel_has_a_permalink_and_an_embed_snippet(client, expr, values):
    page = soup(client.get("/", params={"expr": expr, **values}))
    share = page.select_one("[data-testid=share]")
    assert share.name == "details"

    permalink = share.select_one("[data-testid=share-link]")["value"]
    assert permalink.startswith(f"{BASE}/?")
    assert query_of(permalink) == {"expr": [expr], **{k: [v] for k, v in values.items()}}
    assert " " not in permalink and "+" not in urlsplit(permalink).query

    area = share.select_one("textarea[data-testid=share-snippet]")
    assert area.has_attr("readonly")
    # The snippet is text in the textarea: nothing of it is live in the page.
    assert page.select("iframe") == []
    assert {s.get("src") for s in page.select("script")} == PAGE_SCRIPTS
    pasted = html.unescape(area.decode_contents())
    assert pasted == area.text and pasted.startswith("<iframe ")
    frame, script = snippet_frame(pasted)
    assert frame["src"].startswith(f"{BASE}/embed?")
    q = query_of(frame["src"])
    assert q["expr"] == [expr]
    for name, value in values.items():
        assert q[name] == [value]
    assert q["readonly"] == ["1"] and q["hide"] == ["code,examples"]
    assert "allow-scripts" in frame["sandbox"]
    assert script["src"] == f"{BASE}/static/embed-host.js"


def test_share_with_options_builds_exactly_that_embed(client):
    state = urlencode({"expr": "a + b*c", "a": "1", "b": "2", "c": "3"}, quote_via=quote)
    response = client.get("/share", params=[
        ("state", state), ("options", "1"), ("readonly", "1"), ("lang", "de"),
        ("step", "3"), ("hide", "steps"),
    ])
    part = soup(response)
    assert part.select_one("html") is None and part.select("iframe") == []
    frame, _ = snippet_frame(part.select_one("[data-testid=share-snippet]").text)
    assert urlsplit(frame["src"]).path == "/embed"
    assert query_of(frame["src"]) == {
        "expr": ["a + b*c"], "a": ["1"], "b": ["2"], "c": ["3"],
        "readonly": ["1"], "lang": ["de"], "step": ["3"], "hide": ["steps"],
    }


def test_share_without_readonly_and_with_autoplay(client):
    response = client.get("/share", params=[
        ("state", "expr=x%2B1&x=2"), ("options", "1"), ("autoplay", "1"),
        ("hide", "code"), ("hide", "examples"),
    ])
    frame, _ = snippet_frame(soup(response).select_one("[data-testid=share-snippet]").text)
    assert query_of(frame["src"]) == {
        "expr": ["x+1"], "x": ["2"], "hide": ["code,examples"], "autoplay": ["1"],
    }


# --- oEmbed ---------------------------------------------------------------------------


@pytest.mark.parametrize("expr, values", PLUS_FUNCTIONS)
def test_oembed_describes_a_playground_link(client, expr, values):
    link = f"{BASE}/?" + urlencode({"expr": expr, **values}, quote_via=quote)
    response = client.get("/oembed", params={"url": link})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["version"] == "1.0"
    assert body["type"] == "rich"
    assert body["width"] == 700 and body["height"] == 450
    frame, script = snippet_frame(body["html"])
    assert frame["src"].startswith(f"{BASE}/embed?")
    assert query_of(frame["src"])["expr"] == [expr]
    assert script["src"] == f"{BASE}/static/embed-host.js"


def test_oembed_keeps_the_options_of_an_embed_link(client):
    link = f"{BASE}/embed?expr=x%2B1&x=2&readonly=1&hide=steps&lang=de"
    frame, _ = snippet_frame(client.get("/oembed", params={"url": link}).json()["html"])
    assert query_of(frame["src"]) == {
        "expr": ["x+1"], "x": ["2"], "readonly": ["1"], "hide": ["steps"], "lang": ["de"],
    }


@pytest.mark.parametrize("url", [f"{BASE}/lesson", f"{BASE}/api/graph", f"{BASE}/docs?x=1"])
def test_oembed_refuses_other_pages(client, url):
    response = client.get("/oembed", params={"url": url})
    assert response.status_code == 404
    assert response.json()["detail"]


def test_oembed_offers_only_json(client):
    response = client.get("/oembed", params={"url": f"{BASE}/?expr=x&x=1", "format": "xml"})
    assert response.status_code == 501
    assert response.json()["detail"]


# --- the demo lesson ----------------------------------------------------------------

FRAMES = ("frame-tensor", "frame-graph", "frame-backward")


@pytest.mark.parametrize(
    "params, headers, lang, words",
    [
        ({"lang": "de"}, {}, "de", "Rechengraph"),
        ({"lang": "en"}, {"Accept-Language": "de-DE,de;q=0.9"}, "en", "computational graph"),
        ({}, {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}, "de", "Rechengraph"),
        ({}, {"Accept-Language": "en-GB,en;q=0.9"}, "en", "computational graph"),
    ],
)
def test_the_lesson_speaks_the_readers_language(client, params, headers, lang, words):
    response = client.get("/lesson", params=params, headers=headers)
    page = soup(response)
    assert page.select_one("html")["lang"] == lang
    assert response.headers["content-language"] == lang
    assert words in page.text
    for testid in FRAMES:
        src = page.select_one(f"iframe[data-testid={testid}]")["src"]
        assert urlsplit(src).path == "/embed" and not urlsplit(src).netloc, src
        assert query_of(src)["lang"] == [lang] and query_of(src)["readonly"] == ["1"]
    assert "/static/embed-host.js" in {s["src"] for s in page.select("script")}


def test_the_lesson_frames_show_the_lesson(client):
    page = soup(client.get("/lesson", params={"lang": "en"}))
    frames = page.select("iframe")
    assert [f["data-testid"] for f in frames] == list(FRAMES)
    for frame in frames:
        assert frame["loading"] == "lazy"
        # Same-origin frames with allow-scripts and allow-same-origin would be no
        # sandbox at all (and the browser warns so): the lesson's own frames go without.
        assert not frame.has_attr("sandbox")
    tensor, graph, backward = (query_of(f["src"]) for f in frames)
    assert tensor["expr"] == ["x**2"] and tensor["x"] == ["3"]
    assert graph["expr"] == [SEED] and backward["expr"] == [SEED]
    assert "steps" not in backward["hide"][0].split(",")
    # Each frame's URL really shows what the text around it promises.
    tensor_page = soup(client.get(frames[0]["src"]))
    assert tensor_page.select_one("[data-testid=gradient-x]").text.strip() == "x.grad = 6"
    last = soup(client.get(frames[2]["src"] + "&step=9"))
    assert "60 + 8 + 4 = 72" in last.select_one('#stepper li.step[data-step="9"]').text


def test_the_lesson_loads_its_frames_from_the_configured_origin(make_client):
    origin = "http://127.0.0.1:9999"
    client = make_client(lesson_embed_origin=origin + "/")
    response = client.get("/lesson", params={"lang": "de"})
    page = soup(response)
    for testid in FRAMES:
        src = page.select_one(f"iframe[data-testid={testid}]")["src"]
        assert src.startswith(f"{origin}/embed?"), src
    assert f"{origin}/static/embed-host.js" in {s["src"] for s in page.select("script")}
    policy = directives(response)
    assert origin in policy["script-src"].split()
    assert origin in policy["frame-src"].split()
    assert policy["frame-ancestors"] == "'self'"
    # Only the lesson trusts that origin.
    assert origin not in client.get("/").headers["content-security-policy"]


@pytest.mark.parametrize(
    "origin", ["127.0.0.1:9999", "http://127.0.0.1:9999/path", "javascript:alert(1)", "*"]
)
def test_a_lesson_origin_that_is_not_an_origin_is_refused(clean_env, origin):
    with pytest.raises(ValidationError) as refused:
        Settings(lesson_embed_origin=origin)
    assert "lesson_embed_origin" in str(refused.value)


# --- hostile input stays text ----------------------------------------------------------

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    '"><script>alert(1)</script>',
    "javascript:alert(1)",
    "' onmouseover='alert(1)",
]
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "hx-get", "hx-post", "xlink:href", "data")
BASE_QUERY = {"expr": "a + b*c", "a": "1", "b": "2", "c": "3"}


SNIPPET_SCRIPTS = {f"{BASE}/static/embed-host.js"}


def assert_inert(markup: str, scripts: set[str], frames_from: str | None = None) -> BeautifulSoup:
    """No element, handler or URL in ``markup`` came from the payloads: scripts only
    from ``scripts``, iframes only to URLs starting with ``frames_from``."""
    page = BeautifulSoup(markup, "html.parser")
    assert page.select("img, object, embed, base") == []
    for frame in page.select("iframe"):
        assert frames_from and frame.get("src", "").startswith(frames_from), frame
    for script in page.select("script"):
        assert script.get("src") in scripts and not script.text.strip(), script
    for el in page.find_all(True):
        for name, value in el.attrs.items():
            assert not name.lower().startswith("on"), f"<{el.name} {name}=...>"
            if name.lower() in URL_ATTRIBUTES:
                text = "".join(str(value).split()).lower()
                assert not text.startswith("javascript:"), f"<{el.name} {name}={value!r}>"
    return page


def hostile_query(where: str, payload: str) -> list[tuple[str, str]]:
    query = dict(BASE_QUERY)
    if where == "expr":
        query["expr"] = payload
    elif where == "value":
        query["b"] = payload
    elif where == "name":
        query[payload] = "1"
    elif where == "name-unreadable-function":
        query = {"expr": "a +", payload: "1"}
    elif where == "extra":
        query["zz_unknown"] = payload
    else:
        query[where] = payload
    return list(query.items())


PLACES = ["expr", "value", "name", "name-unreadable-function", "extra", "step", "view", "lang",
          "theme", "forward", "grad", "rg", "readonly", "hide", "autoplay"]


@pytest.mark.parametrize("path, scripts", [("/embed", EMBED_SCRIPTS), ("/", PAGE_SCRIPTS)])
@pytest.mark.parametrize("where", PLACES)
def test_a_payload_in_any_parameter_stays_text(client, path, scripts, where):
    for payload in PAYLOADS:
        response = client.get(path, params=hostile_query(where, payload))
        assert response.status_code == 200, (where, payload, response.text[:300])
        page = assert_inert(response.text, scripts)
        if where in ("expr", "value"):
            assert page.select_one("[role=alert]") is not None, (where, payload)
        # The share snippet on the playground, pasted as it is, is inert too.
        area = page.select_one("[data-testid=share-snippet]")
        if area is not None:
            assert_inert(area.text, SNIPPET_SCRIPTS, f"{BASE}/embed?")


def test_markup_as_the_function_is_refused_in_words(client):
    page = soup(embed(client, expr="<img src=x onerror=alert(1)>"))
    alert = page.select_one("[role=alert]")
    assert alert is not None and alert.select_one(".error-message").text.strip()
    assert "<img src=x onerror=alert(1)>" in alert.text  # shown, as text
    assert page.select("img") == []
    assert page.select_one("[data-testid=gradient-x]") is None


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("where", ["state-expr", "state-raw", "lang", "step", "hide"])
def test_a_payload_in_share_stays_text(client, where, payload):
    params: list[tuple[str, str]] = [("state", "expr=x%2B1&x=2"), ("options", "1")]
    if where == "state-expr":
        params[0] = ("state", urlencode({"expr": payload, "x": "2"}, quote_via=quote))
    elif where == "state-raw":
        params[0] = ("state", payload)
    else:
        params.append((where, payload))
    response = client.get("/share", params=params)
    part = soup(response)
    assert_inert(response.text, set())
    pasted = part.select_one("[data-testid=share-snippet]").text
    assert_inert(pasted, SNIPPET_SCRIPTS, f"{BASE}/embed?")
    frame, _ = snippet_frame(pasted)
    assert frame["src"].startswith(f"{BASE}/embed?")
    if where == "state-expr":
        assert query_of(frame["src"])["expr"] == [payload]  # kept exactly, as data


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_payload_in_oembed_url_stays_text(client, payload):
    link = f"{BASE}/?" + urlencode({"expr": payload, "x": "2"}, quote_via=quote)
    response = client.get("/oembed", params={"url": link})
    # Refused as a function: oEmbed's 404, which repeats nothing of it.
    assert response.status_code == 404
    assert payload not in response.text
    # The url itself as the payload: not a playground link.
    refused = client.get("/oembed", params={"url": payload})
    assert refused.status_code == 404
    assert payload not in refused.text


def test_links_for_others_follow_a_trusted_proxy_and_only_it(make_client):
    """Behind a TLS proxy, share and oEmbed links must say https and the public host."""
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "playground.school.example"}
    link = "http://testserver/?expr=x%2B1&x=2"
    trusting = make_client(trusted_proxies="10.0.0.1")
    trusting_from_proxy = TestClient(trusting.app, client=("10.0.0.1", 1234))
    html = trusting_from_proxy.get("/oembed", params={"url": link}, headers=headers).json()["html"]
    assert 'src="https://playground.school.example/embed?' in html
    # The same headers from a peer that is not a trusted proxy change nothing.
    html = trusting.get("/oembed", params={"url": link}, headers=headers).json()["html"]
    assert 'src="http://testserver/embed?' in html
    # A forged host that is not a host name is ignored even from the proxy.
    bad = {**headers, "X-Forwarded-Host": 'evil.example"><script>'}
    html = trusting_from_proxy.get("/oembed", params={"url": link}, headers=bad).json()["html"]
    assert 'src="https://testserver/embed?' in html


# --- oEmbed for course platforms ------------------------------------------------------


def test_oembed_fits_the_frame_into_the_consumers_limits(client):
    link = f"{BASE}/?" + urlencode({"expr": SEED, "x": "2"}, quote_via=quote)
    full = client.get("/oembed", params={"url": link}).json()
    assert (full["width"], full["height"]) == (700, 450)
    small = client.get("/oembed", params={"url": link, "maxwidth": "400", "maxheight": "300"}).json()
    assert (small["width"], small["height"]) == (400, 300)
    frame, _ = snippet_frame(small["html"])
    assert (frame["width"], frame["height"]) == ("400", "300")
    wide = client.get("/oembed", params={"url": link, "maxwidth": "2000"}).json()
    assert (wide["width"], wide["height"]) == (700, 450)
    # Below the smallest frame that works: oEmbed's 404.
    assert client.get("/oembed", params={"url": link, "maxwidth": "319"}).status_code == 404
    assert client.get("/oembed", params={"url": link, "maxheight": "239"}).status_code == 404


def test_generated_links_write_the_star_as_2A_and_pages_read_both(client):
    link = f"{BASE}/?" + urlencode({"expr": "5*x**3", "x": "2"}, quote_via=quote)
    body = client.get("/oembed", params={"url": link}).json()
    frame, _ = snippet_frame(body["html"])
    assert "*" not in frame["src"] and "%2A" in frame["src"]
    assert query_of(frame["src"])["expr"] == ["5*x**3"]
    raw = soup(client.get("/", params={"expr": "5*x**3", "x": "2"}))
    assert "*" not in raw.select_one("[data-testid=share-link]")["value"]
    assert all("*" not in a["href"] for a in raw.select("a.example"))
    # A link someone typed with a raw * still opens the same function.
    typed = client.get("/?expr=5*x**3&x=2")
    assert soup(typed).select_one("[data-testid=gradient-x]").get_text(strip=True) == "x.grad = 60"


def test_pages_name_their_oembed_endpoint(client):
    page = soup(client.get("/", params={"expr": SEED, "x": "2"}))
    tag = page.select_one('link[rel=alternate][type="application/json+oembed"]')
    assert tag is not None
    answer = client.get(tag["href"].replace(BASE, ""))
    assert answer.status_code == 200 and answer.json()["type"] == "rich"


def test_the_embed_has_one_h1(client) -> None:
    """A frame is a document of its own: a screen reader's heading list starts at its h1."""
    page_ = BeautifulSoup(client.get("/embed", params={"expr": "x**2", "x": "3"}).text,
                          "html.parser")
    assert [h.get_text(strip=True) for h in page_.select("h1")] == ["Autograd Playground"]
