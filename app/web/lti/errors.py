"""A refused LTI request: a 4xx (or 503) page with one sentence, in English or German.

The sentences are the English message ids of the page's catalogue (messages.po);
``refuse`` says one in the language of the launch, or else of the browser.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from ...core.language.rules import N_
from .. import i18n
from ..templating import message_page

# One sentence for each check that can fail, as a reader in a course can act on it.
NOT_REGISTERED = N_("This course platform is not registered with the playground.")
BAD_LOGIN = N_("The course platform's login request is incomplete; open the activity again.")
NO_LOGIN = N_(
    "This launch did not start with a login, or it expired; open the activity again from "
    "the course."
)
NO_COOKIE = N_(
    "Your browser did not keep the launch's cookie; open the activity again, or in a new "
    "window."
)
BAD_TOKEN = N_("The course platform's launch could not be verified; open the activity again.")
BAD_CLAIMS = N_("The launch is not meant for this tool, or it has expired; open the activity again.")
REPLAYED = N_("This launch was used already; open the activity again from the course.")
UNKNOWN_DEPLOYMENT = N_("This deployment of the tool is not registered with the playground.")
BAD_MESSAGE = N_("The playground does not take this kind of launch (LTI 1.3 links and deep links only).")
STORE_DOWN = N_("The playground cannot check launches right now; please try again in a minute.")

BAD_REQUEST = HTTPStatus.BAD_REQUEST
FORBIDDEN = HTTPStatus.FORBIDDEN
UNAVAILABLE = HTTPStatus.SERVICE_UNAVAILABLE


class Refused(Response):
    """A page that says one sentence; rendered when sent, with the app's templates."""

    def __init__(self, status: int, sentence: str, lang: str | None = None):
        super().__init__(status_code=int(status))
        self.sentence = sentence
        self.lang = lang
        self.status = int(status)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        html, lang = message_page(
            scope["app"].state.templates,
            self.lang,
            headers.get("accept-language"),
            False,
            self.sentence,
        )
        response = HTMLResponse(
            html, status_code=self.status,
            headers={"Cache-Control": "no-store", "Content-Language": lang},
        )
        await response(scope, receive, send)


def refuse(status: int, sentence: str, lang: str | None = None) -> Response:
    """The page for a refused request: ``sentence`` (a message id) in ``lang`` (a locale
    such as ``de-DE``, a language, or None for the browser's)."""
    return Refused(status, sentence, language(lang))


def language(locale: str | None) -> str | None:
    """``de`` for ``de-DE`` or ``de_AT``; None for a language the page does not speak."""
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in i18n.LANGUAGES else None
