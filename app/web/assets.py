"""Static files under a content hash, so browsers may keep them for a year.

Pages link to ``/static/<version>/app/main.js``, where the version is a hash
of every file under static/ (vendor files included), taken when the app
starts. The modules' relative imports (``./dom.js``, ``../vendor/...``) then
carry the version too. A changed file gives a new version and new addresses,
so a versioned file never changes and is sent as immutable. The plain
``/static/...`` addresses stay for what other sites link to (embed-host.js)
and what browsers ask for themselves; they are cached briefly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

VERSIONED_CACHE = "public, max-age=31536000, immutable"
PLAIN_CACHE = "public, max-age=300"


def static_version(root: Path) -> str:
    """A short hash of the names and contents of every file under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


class CachedStaticFiles(StaticFiles):
    """StaticFiles that says how long a browser may keep what it sends."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = self.cache_control
        return response
