"""The state bound to the browser through the platform's storage, where a cookie cannot be.

LTI Client Side postMessages (1EdTech): when the login carries
``lti_storage_target``, the platform offers to keep values for the tool in its
own window. Then the login answers with a page (templates/lti/storage.html,
static/app/lti-storage.js) that puts the state there (``lti.put_data``) before
it goes on to the platform's auth URL; the cookie is set too.

At the launch, when the cookie did not come back, the launch answers with the
same page in its "get" mode: the script asks the platform's storage for the
state (``lti.get_data``) and, only when the platform gives it, submits the
launch again from this page, the state in the ``lti_storage`` field. The launch
takes that field only from a page of our own origin, as the browser says:
``Sec-Fetch-Site: same-origin``, or where a browser sends no Sec-Fetch-* headers,
an ``Origin`` equal to our own. A page of another site can post the field, but
not as our origin; and the platform's storage of a browser holds only the
states that this browser's logins put there. So a launch that came with the
field was read from this browser's platform storage by our own script, as a
cookie would be read from this browser. The second launch is a plain form
navigation, so its answer (the activity, the picker, or a refusal) is the
frame's own document.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse

from .. import i18n
from ..state import PageState
from ..templating import render
from .errors import language

FIELD = "lti_storage"  # the state, as the script read it from the platform
# The key the state is kept under in the platform's storage.
KEY_PREFIX = "lti_state_"
# A target the spec allows: the platform's window, or one of its frames by name.
MAX_TARGET_CHARS = 100


def usable_target(target: str | None) -> str | None:
    """``lti_storage_target`` when it names a window the script can reach, else None."""
    if not target or len(target) > MAX_TARGET_CHARS or not target.isprintable():
        return None
    return target


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def storage_page(request: Request, lang: str | None, **data: str) -> HTMLResponse:
    """The page whose script talks to the platform's storage (``data`` are its data-*)."""
    envs = request.app.state.templates
    chosen = language(lang) or i18n.negotiate(None, request.headers.get("accept-language"))
    html = render(envs[chosen], "lti/storage.html", state=PageState(lang=chosen), lang=chosen,
                  data=data)
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Content-Language": chosen})


def from_our_page(request: Request, own_base_url: str) -> bool:
    """Whether a POST came from a page of our own origin, as far as the browser says."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    return request.headers.get("origin") == origin_of(own_base_url)


def put_page(request: Request, target: str, auth_url: str, state: str, redirect: str) -> HTMLResponse:
    """The login's answer: put the state in the platform's storage, then go to ``redirect``."""
    return storage_page(
        request, None, mode="put", target=target, origin=origin_of(auth_url),
        key=KEY_PREFIX + state, value=state, redirect=redirect,
    )


def get_page(request: Request, target: str, auth_url: str, state: str, token: str,
             action: str, lang: str | None) -> HTMLResponse:
    """The launch's answer without the cookie: read the state back, then launch again."""
    return storage_page(
        request, lang, mode="get", target=target, origin=origin_of(auth_url),
        key=KEY_PREFIX + state, state=state, token=token, action=action,
    )
