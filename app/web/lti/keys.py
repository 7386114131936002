"""JWTs: the tool signs with its own key, and checks a platform's against the platform's JWKS.

A platform's JWKS is fetched with httpx from its ``key_set_url`` (or given in the
configuration) and kept in a cachetools TTLCache, bounded in entries and time.
A token whose ``kid`` the kept set lacks makes one refetch (the platform may
have rotated its keys); a kid still unknown is refused. The launch routes are
rate limited per address (web.headers.LIMITED_ROUTES), which bounds the
refetches a stranger can cause.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import httpx
from cachetools import TTLCache
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .config import Registration, ToolConfig

ALGORITHM = "RS256"
# A JWKS larger than this is not a platform's: refused rather than parsed.
MAX_JWKS_BYTES = 65_536


class KeyProblem(Exception):
    """A token that cannot be checked: malformed, an unknown kid, a bad signature,
    or a platform whose keys cannot be fetched. The message is for the log."""


def sign(tool: ToolConfig, claims: dict[str, Any]) -> str:
    """A JWT of ``claims`` signed RS256 with the tool's key, its kid in the header."""
    header = {"alg": ALGORITHM, "kid": tool.private_key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, tool.private_key, algorithms=[ALGORITHM])


def unverified_header(token: str) -> dict[str, Any]:
    try:
        return dict(jws.extract_compact(token.encode("ascii")).protected)
    except (JoseError, ValueError, UnicodeEncodeError) as exc:
        raise KeyProblem(f"not a compact JWS: {exc}") from None


class PlatformKeys:
    """The platforms' public keys, fetched and kept for ``ttl`` seconds, ``size`` sets at most."""

    def __init__(self, http: httpx.AsyncClient, size: int = 64, ttl: float = 600.0):
        self.http = http
        self.kept: TTLCache[str, KeySet] = TTLCache(maxsize=size, ttl=ttl)
        # One fetch at a time per platform, and a slow platform holds up no other:
        # the URLs come from the configuration, so there are few.
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.fetches = 0  # how many times a JWKS was fetched (tests, metrics)

    async def verify(self, token: str, registration: Registration) -> dict[str, Any]:
        """The token's claims, once its signature is checked against the platform's key."""
        header = unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise KeyProblem(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise KeyProblem("no kid in the header")
        keys = await self.key_set(registration, refetch=False)
        if not has_kid(keys, kid):
            keys = await self.key_set(registration, refetch=True)
            if not has_kid(keys, kid):
                raise KeyProblem(f"kid {kid!r} is not in the platform's key set")
        try:
            decoded = jwt.decode(token, keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError) as exc:
            raise KeyProblem(f"signature: {exc}") from None
        return dict(decoded.claims)

    async def key_set(self, registration: Registration, refetch: bool) -> KeySet:
        if registration.key_set is not None:
            return import_key_set(registration.key_set)
        url = registration.key_set_url or ""
        async with self.locks[url]:
            if not refetch and url in self.kept:
                return self.kept[url]
            keys = import_key_set(await self.fetch(url))
            self.kept[url] = keys
            return keys

    async def fetch(self, url: str) -> Any:
        self.fetches += 1
        body = bytearray()
        try:
            async with self.http.stream("GET", url, headers={"Accept": "application/json"}) as r:
                if r.status_code != 200:
                    raise KeyProblem(f"the key set answered {r.status_code}")
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise KeyProblem(f"the key set is larger than {MAX_JWKS_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise KeyProblem(f"the key set could not be fetched: {exc!r}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise KeyProblem("the key set is not JSON") from None


def import_key_set(data: Any) -> KeySet:
    try:
        return KeySet.import_key_set(data)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise KeyProblem(f"not a key set: {exc!r}") from None


def has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)
