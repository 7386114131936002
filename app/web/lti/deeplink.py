"""Deep linking: the playground's picker in the platform's dialog, and the signed answer.

(Filled in by the deep-linking work; routes.py calls :func:`handle`.)
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from .model import Launch

router = APIRouter()


async def handle(request: Request, launch: Launch) -> Response:
    """Answer a verified LtiDeepLinkingRequest with the picker."""
    raise HTTPException(501, "Deep linking is not available yet.")
