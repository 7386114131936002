"""Every check the LTI 1.3 core asks of a tool on a verified id_token's claims.

The signature was checked before (keys.PlatformKeys.verify), against the
registration the login's state names. :func:`launch_of` then checks the
claims one by one and builds the :class:`~.model.Launch`; a failed check
raises :class:`Failed` with the sentence to show and a reason for the log
(never a claim's value: a name or an e-mail address stays out of the log).
"""

from __future__ import annotations

from typing import Any

from .config import Registration
from .errors import BAD_CLAIMS, BAD_MESSAGE, FORBIDDEN, UNKNOWN_DEPLOYMENT
from .model import AGS_CLAIM, CLAIM, DEEP_LINKING, DL_CLAIM, RESOURCE_LINK, Launch

VERSION = "1.3.0"
# Seconds of clock difference allowed between the platform and the tool (exp, iat).
LEEWAY = 60


class Failed(Exception):
    """A check failed: ``sentence`` is shown (a message id), ``reason`` is logged."""

    def __init__(self, sentence: str, reason: str, status: int = FORBIDDEN):
        super().__init__(reason)
        self.sentence = sentence
        self.reason = reason
        self.status = status


def launch_of(
    claims: dict[str, Any], registration: Registration, login: dict[str, Any], now: float
) -> Launch:
    """The launch these claims describe, once each check passed; else :class:`Failed`.

    ``login`` is what the login kept under the state: its nonce and target_link_uri.
    """
    check_token(claims, registration, login["nonce"], now)
    deployment = claims.get(CLAIM + "deployment_id")
    if deployment not in registration.deployment_ids:
        raise Failed(UNKNOWN_DEPLOYMENT, "unknown deployment_id")
    kind = claims.get(CLAIM + "message_type")
    if kind not in (RESOURCE_LINK, DEEP_LINKING) or claims.get(CLAIM + "version") != VERSION:
        raise Failed(BAD_MESSAGE, f"message type {str(kind)[:40]!r} or version not 1.3.0")
    target = claims.get(CLAIM + "target_link_uri")
    if (target is not None or kind == RESOURCE_LINK) and target != login["target"]:
        raise Failed(BAD_CLAIMS, "target_link_uri differs from the login's")
    resource_link = mapping(claims, CLAIM + "resource_link")
    settings = mapping(claims, DL_CLAIM + "deep_linking_settings")
    if kind == RESOURCE_LINK and not isinstance(resource_link.get("id"), str):
        raise Failed(BAD_MESSAGE, "a resource link launch without resource_link.id")
    if kind == DEEP_LINKING and not isinstance(settings.get("deep_link_return_url"), str):
        raise Failed(BAD_MESSAGE, "a deep linking request without deep_link_return_url")
    presentation = mapping(claims, CLAIM + "launch_presentation")
    locale = presentation.get("locale") or claims.get("locale")
    custom = mapping(claims, CLAIM + "custom")
    ags = claims.get(AGS_CLAIM)
    return Launch(
        issuer=registration.issuer,
        client_id=registration.client_id,
        deployment_id=deployment,
        message_type=kind,
        user=str(claims.get("sub") or ""),
        locale=locale if isinstance(locale, str) else None,
        resource_link=resource_link.get("id"),
        custom={str(k): str(v) for k, v in custom.items() if isinstance(v, (str, int, float))},
        deep_linking=settings if kind == DEEP_LINKING else None,
        ags=ags if isinstance(ags, dict) else None,
        claims=claims,
    )


def check_token(claims: dict[str, Any], registration: Registration, nonce: str, now: float) -> None:
    """iss, aud and azp, exp, iat and the nonce, as OpenID Connect Core 3.1.3.7 asks."""
    if claims.get("iss") != registration.issuer:
        raise Failed(BAD_CLAIMS, "iss is not the login's issuer")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or registration.client_id not in audiences:
        raise Failed(BAD_CLAIMS, "aud does not name our client_id")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != registration.client_id:
        raise Failed(BAD_CLAIMS, "azp is not our client_id")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp + LEEWAY < now:
        raise Failed(BAD_CLAIMS, "exp missing or past")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) or iat - LEEWAY > now:
        raise Failed(BAD_CLAIMS, "iat missing or in the future")
    if claims.get("nonce") != nonce:
        raise Failed(BAD_CLAIMS, "nonce is not the login's")


def mapping(claims: dict[str, Any], name: str) -> dict[str, Any]:
    value = claims.get(name)
    return value if isinstance(value, dict) else {}
