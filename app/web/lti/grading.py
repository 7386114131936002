"""A launched activity: the playground's embed view, and for a graded exercise its score.

(Filled in by the grading work; routes.py calls :func:`handle`.)
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from .model import Launch

router = APIRouter()


async def handle(request: Request, launch: Launch) -> Response:
    """Answer a verified LtiResourceLinkRequest with the activity."""
    raise HTTPException(501, "Activities are not available yet.")
