"""Static files under a content hash: addresses, caching, and the version itself."""

from __future__ import annotations

import re
import shutil

from bs4 import BeautifulSoup

from autograd_playground.web.assets import PLAIN_CACHE, VERSIONED_CACHE, static_version
from autograd_playground.web.templating import STATIC

VERSION = static_version(STATIC)


def page_assets(client) -> list[str]:
    """The files a page loads (the oEmbed discovery link names an endpoint, not a file)."""
    page = BeautifulSoup(client.get("/").text, "html.parser")
    return [t.get("src") or t.get("href") for t in page.select("script[src], link[href]:not([rel=alternate])")]


def test_the_page_links_its_files_under_the_version(client):
    assets = page_assets(client)
    assert f"/static/{VERSION}/app/main.js" in assets
    assert f"/static/{VERSION}/app.css" in assets
    assert all(a.startswith(f"/static/{VERSION}/") for a in assets), assets


def test_a_versioned_file_is_kept_for_a_year(client):
    for path in page_assets(client):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == VERSIONED_CACHE, path


def test_a_module_imports_its_neighbours_under_the_same_version(client):
    """Relative imports resolve against the versioned address, so they are versioned too."""
    main = client.get(f"/static/{VERSION}/app/main.js").text
    imports = re.findall(r'from "(\./[\w-]+\.js)"', main)
    assert "./stepper.js" in imports
    for name in imports:
        response = client.get(f"/static/{VERSION}/app/{name[2:]}")
        assert response.status_code == 200 and response.headers["cache-control"] == VERSIONED_CACHE
    pan_zoom = client.get(f"/static/{VERSION}/app/pan-zoom.js").text
    assert 'from "../vendor/panzoom.es.js"' in pan_zoom


def test_plain_addresses_stay_for_other_sites_and_are_cached_briefly(client):
    response = client.get("/static/embed-host.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == PLAIN_CACHE
    assert "max-age=300" in PLAIN_CACHE and "immutable" not in PLAIN_CACHE


def test_another_version_is_not_served(client):
    other = "0" * len(VERSION) if VERSION != "0" * len(VERSION) else "1" * len(VERSION)
    assert client.get(f"/static/{other}/app/main.js").status_code == 404


def test_the_version_follows_the_files_contents(tmp_path):
    root = tmp_path / "static"
    shutil.copytree(STATIC / "app", root / "app")
    before = static_version(root)
    assert before == static_version(root)  # the same files, the same version
    assert re.fullmatch(r"[0-9a-f]{12}", before)
    (root / "app" / "main.js").write_text("// changed\n")
    changed = static_version(root)
    assert changed != before
    (root / "app" / "main.js").rename(root / "app" / "entry.js")
    assert static_version(root) not in (before, changed)  # a rename is a change too


def test_the_stylesheet_imports_its_parts_under_the_same_version(client):
    """app.css is a list of @imports; relative, so each part is versioned and kept a year."""
    sheet = client.get(f"/static/{VERSION}/app.css").text
    parts = re.findall(r'@import url\("(css/[\w-]+\.css)"\);', sheet)
    assert len(parts) == len(list((STATIC / "css").glob("*.css"))) > 1
    for part in parts:
        response = client.get(f"/static/{VERSION}/{part}")
        assert response.status_code == 200 and "{" in response.text, part
        assert response.headers["cache-control"] == VERSIONED_CACHE
