"""Assignment and Grade Services: a score into the platform's gradebook.

The tool asks the platform's token URL for an OAuth2 access token with the
client-credentials grant, proving who it is with a JWT signed by its own key
(RFC 7523; the platform checks it against the tool's JWKS), and posts the score
to the line item's ``/scores`` with that token. A token is kept in the LTI store
until shortly before it expires, so that replicas share it.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from . import keys
from .config import Registration, ToolConfig
from .stores import Store

log = logging.getLogger(__name__)

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300
# A token is used until this many seconds before the platform says it expires.
TOKEN_MARGIN = 60
MAX_TOKEN_SECONDS = 86_400
TOKEN_KIND = "lti_ags_token"


class AgsError(Exception):
    """The platform refused the token request or the score, or could not be reached.
    The message is for the log: it names URLs and statuses, never a user."""


def scores_url(lineitem: str) -> str:
    """The line item's scores URL: ``/scores`` added to its path, its query kept."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def client_assertion(tool: ToolConfig, registration: Registration, now: float) -> str:
    """The JWT that proves the tool to the platform's token URL."""
    audience = registration.auth_audience or registration.auth_token_url
    return keys.sign(tool, {
        "iss": registration.client_id,
        "sub": registration.client_id,
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + ASSERTION_SECONDS,
        "jti": secrets.token_urlsafe(24),
    })


def token_request(tool: ToolConfig, registration: Registration, now: float) -> dict[str, str]:
    """The form the token URL is sent (client credentials with a signed assertion)."""
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(tool, registration, now),
        "scope": SCORE_SCOPE,
    }


def score_body(user: str, given: int, maximum: int, when: datetime | None = None) -> dict[str, Any]:
    """An AGS score of a finished, graded attempt."""
    return {
        "userId": user,
        "scoreGiven": given,
        "scoreMaximum": maximum,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": (when or datetime.now(UTC)).isoformat(timespec="milliseconds"),
    }


async def access_token(
    http: httpx.AsyncClient, store: Store, tool: ToolConfig, registration: Registration,
    fresh: bool = False,
) -> str:
    """A bearer token of the score scope: the stored one, or a new one from the platform."""
    key = f"{registration.issuer}\n{registration.client_id}"
    if fresh:
        await store.take(TOKEN_KIND, key)
    else:
        kept = await store.get(TOKEN_KIND, key)
        if kept:
            return kept
    try:
        response = await http.post(
            registration.auth_token_url,
            data=token_request(tool, registration, time.time()),
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise AgsError(f"token URL {registration.auth_token_url}: {exc!r}") from None
    if response.status_code != 200:
        raise AgsError(f"token URL {registration.auth_token_url} answered {response.status_code}")
    try:
        data = response.json()
        token = data["access_token"]
        lifetime = int(data.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError):
        raise AgsError(f"token URL {registration.auth_token_url} sent no token") from None
    if not isinstance(token, str) or not token:
        raise AgsError(f"token URL {registration.auth_token_url} sent no token")
    keep = min(lifetime, MAX_TOKEN_SECONDS) - TOKEN_MARGIN
    if keep >= 1:
        await store.put(TOKEN_KIND, key, token, keep)
    return token


async def post_score(
    http: httpx.AsyncClient, store: Store, tool: ToolConfig, registration: Registration,
    lineitem: str, body: dict[str, Any],
) -> None:
    """POST the score to the line item; once more with a new token if the kept one is refused."""
    url = scores_url(lineitem)
    for fresh in (False, True):
        token = await access_token(http, store, tool, registration, fresh=fresh)
        try:
            response = await http.post(
                url, json=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": SCORE_TYPE},
            )
        except httpx.HTTPError as exc:
            raise AgsError(f"scores URL {url}: {exc!r}") from None
        if response.status_code == 401 and not fresh:
            continue  # the kept token was revoked or expired early
        if response.status_code not in (200, 201, 202, 204):
            raise AgsError(f"scores URL {url} answered {response.status_code}")
        return
