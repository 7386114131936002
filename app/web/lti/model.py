"""What a verified LTI launch says, as the routes of this package pass it around.

routes.py verifies the platform's id_token (signature, iss, aud/azp, exp, iat,
nonce, state, deployment, message type and version) and only then builds a
:class:`Launch`. deeplink.py answers a deep-linking request with it; grading.py
opens a resource link's activity with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The claims' names, as the LTI 1.3 core, Deep Linking 2.0 and AGS 2.0 specifications spell them.
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"

RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"

# The custom parameters of a resource link the picker makes (deeplink.py), read at
# launch (grading.py): the playground's own query string, as a Share link has it
# (f=...&x=2&mode=exercise&lang=de), and the attempts allowed in a graded exercise.
CUSTOM_STATE = "playground_state"
CUSTOM_ATTEMPTS = "playground_attempts"


@dataclass(frozen=True)
class Launch:
    """A launch whose every check passed."""

    issuer: str
    client_id: str
    deployment_id: str
    message_type: str  # RESOURCE_LINK or DEEP_LINKING
    user: str  # the platform's opaque user id (sub); never a name or an e-mail address
    locale: str | None  # the launch's locale ("de-DE", "en"), if the platform sent one
    resource_link: str | None  # the resource link's id (resource link launches)
    custom: dict[str, str] = field(default_factory=dict)
    # Deep linking: the settings claim (deep_link_return_url, accept_types, data, ...).
    deep_linking: dict[str, Any] | None = None
    # AGS: the endpoint claim (scope, lineitems, lineitem), when the platform grants it.
    ags: dict[str, Any] | None = None
    claims: dict[str, Any] = field(default_factory=dict)  # the whole verified payload
