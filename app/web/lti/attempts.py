"""A graded attempt, as the LTI store keeps it for the time it takes.

A graded launch opens a session under a random id: the state as the platform
signed it in the launch (never the page's URL), who the score goes to (issuer,
client id, deployment, the platform's opaque user id) and the line item. Each
question's tries are an atomic counter, its outcome a value of its own, so
that two replicas answering at once cannot give a step a third try or post a
score twice. Everything expires after ``SESSION_SECONDS``.

The attempts a student has made at a resource link are counted under a hash
of (issuer, user, resource link), never the user id itself; an open session of
the same key is resumed by a second launch (a reload of the course page), so
that it costs no attempt.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

from .answers import OUTCOMES
from .model import CUSTOM_ATTEMPTS, Launch
from .stores import Store

SESSION_SECONDS = 2 * 3600
# How long the attempts at a resource link are counted (about a term).
ATTEMPTS_SECONDS = 180 * 86_400
DEFAULT_ATTEMPTS = 1
MAX_ATTEMPTS = 100

SESSION, OPEN, ATTEMPTS = "lti_grading", "lti_open", "lti_attempts"
TRIES, OUTCOME, POSTED = "lti_tries", "lti_outcome", "lti_posted"
SENT, RETRY = "lti_sent", "lti_retry"  # the post's result ("sent", "failed"); a retry allowed


@dataclass(frozen=True)
class Session:
    """What grading keeps of one graded launch."""

    state: str  # the playground_state custom parameter, exactly as signed
    lang: str | None  # the launch's language, when English or German
    issuer: str
    client_id: str
    deployment_id: str
    user: str
    lineitem: str
    owner: str  # attempt_key(): who this attempt belongs to, hashed

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Session:
        return cls(**json.loads(text))


def attempts_allowed(launch: Launch) -> int:
    """The attempts the deep link allows (``playground_attempts``), 1 when it says none."""
    text = str(launch.custom.get(CUSTOM_ATTEMPTS, "")).strip()
    if text.isascii() and text.isdigit():
        return max(1, min(int(text), MAX_ATTEMPTS))
    return DEFAULT_ATTEMPTS


def attempt_key(launch: Launch) -> str:
    """The student's attempts at this resource link, named without naming the student."""
    text = "\n".join((launch.issuer, launch.user, launch.resource_link or ""))
    return hashlib.sha256(text.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_urlsafe(24)


def is_session_id(text: str) -> bool:
    """An id new_id() could have made: 32 URL-safe characters."""
    return len(text) == 32 and text.isascii() and all(c.isalnum() or c in "-_" for c in text)


async def load(store: Store, sid: str) -> Session | None:
    if not is_session_id(sid):
        return None
    text = await store.get(SESSION, sid)
    return Session.loads(text) if text else None


async def open_session(store: Store, launch: Launch, session: Session) -> str | None:
    """The session to show for this launch: the student's open one resumed, or a new one
    if an attempt is left; None when none is."""
    owner = session.owner
    kept = await store.get(OPEN, owner)
    if kept and await load(store, kept) is not None and await store.get(SENT, kept) != "sent":
        return kept
    made = await store.incr(ATTEMPTS, owner, ATTEMPTS_SECONDS)
    if made > attempts_allowed(launch):
        return None
    sid = new_id()
    await store.put(SESSION, sid, session.dumps(), SESSION_SECONDS)
    await store.put(OPEN, owner, sid, SESSION_SECONDS)
    return sid


async def outcomes(store: Store, sid: str, steps: list[int]) -> dict[int, str]:
    """Each decided question's outcome, by step."""
    found = {}
    for step in steps:
        value = await store.get(OUTCOME, f"{sid}:{step}")
        if value in OUTCOMES:
            found[step] = value
    return found


async def tries(store: Store, sid: str, step: int) -> int:
    """The tries made at a step so far."""
    value = await store.get(TRIES, f"{sid}:{step}")
    return int(value) if value and value.isdigit() else 0


async def count_try(store: Store, sid: str, step: int) -> int:
    """One more try at a step; the count, the try included."""
    return await store.incr(TRIES, f"{sid}:{step}", SESSION_SECONDS)


async def decide(store: Store, sid: str, step: int, outcome: str) -> None:
    await store.put(OUTCOME, f"{sid}:{step}", outcome, SESSION_SECONDS)


async def claim_post(store: Store, sid: str) -> bool:
    """Whether this request is the one to post the session's score: the first, or the first
    after a failed post (once each, across replicas)."""
    if await store.incr(POSTED, sid, SESSION_SECONDS) == 1:
        return True
    return await store.take(RETRY, sid) is not None


async def allow_retry(store: Store, sid: str) -> None:
    """A failed post may be tried again, by one request."""
    await store.put(RETRY, sid, "1", SESSION_SECONDS)
