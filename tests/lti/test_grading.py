"""Graded exercises: the activity a course launches, answers judged by the server, AGS scores.

The end-to-end tests launch through tests/lti/platform.py (the loopback platform,
its token URL and AGS endpoints); every launch names its own user, so that the
platform's recorded scores of one test are told apart from another's.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from bs4 import BeautifulSoup
from joserfc import jwt
from joserfc.jwk import KeySet

from autograd_playground.core.teach.explain import brief
from autograd_playground.web.lti import ags, answers
from autograd_playground.web.lti.config import Registration, ToolConfig
from autograd_playground.web.lti.model import CUSTOM_ATTEMPTS, CUSTOM_STATE
from autograd_playground.web.lti.stores import StoreDown
from tests.lti.platform import new_key

# No step of it sends a 1 on, and no answer is a number the page shows for another
# reason (the function's constants, x's value), so "absent" means what it says.
EXPR = "x**3 * sin(x)"
STATE = urlencode({"expr": EXPR, "x": "1.3", "exercise": "1"}, quote_via=quote)
QUESTIONS = 4  # MulBackward0 (two numbers), PowBackward0, SinBackward0, AccumulateGrad


def user() -> str:
    return "student-" + secrets.token_hex(4)


def expected(tool: Any, state: str = STATE) -> list[list[float]]:
    """The browser exercise's answers, question by question: what the open /embed sends."""
    page = httpx.get(f"{tool.url}/embed?{state}&lang=en", timeout=30).text
    found: dict[str, list[float]] = {}
    for value, step in re.findall(r'data-expect="([^"]+)" data-testid="predict-(\d+)-\d+"', page):
        found.setdefault(step, []).append(float(value))
    return list(found.values())


def form_of(page: str) -> dict[str, str]:
    """The open question's session and step, from the graded page (or its block)."""
    soup = BeautifulSoup(page, "html.parser")
    question = soup.select_one("form.graded-question") or soup.select_one("form.graded-finish")
    assert question is not None, page[:3000]
    return {i["name"]: i["value"] for i in question.select("input[type=hidden]")}


def answer(tool: Any, fields: dict[str, str], numbers: list[str], action: str = "check",
           **extra: str) -> httpx.Response:
    data: dict[str, Any] = {**fields, "answer": numbers, "action": action, **extra}
    return httpx.post(f"{tool.url}/lti/answer", data=data, timeout=30)


def scores_of(platform: Any, who: str) -> list[dict[str, Any]]:
    return [s for s in platform.scores if s["userId"] == who]


def graded(launch: Callable[..., httpx.Response], who: str, attempts: int | None = None,
           link: str = "link-1", **prepared: Any) -> httpx.Response:
    custom = {CUSTOM_STATE: STATE}
    if attempts is not None:
        custom[CUSTOM_ATTEMPTS] = str(attempts)
    return launch(custom=custom, ags=True, user=who, resource_link=link, **prepared)


# --- the rules, on their own ------------------------------------------------------------


def test_a_point_for_right_at_the_first_or_second_try_none_else():
    assert answers.judged(True, 1) == answers.RIGHT
    assert answers.judged(True, 2) == answers.RIGHT
    assert answers.judged(False, 1) is None  # a second try
    assert answers.judged(False, 2) == answers.WRONG
    outcomes = [answers.RIGHT, answers.RIGHT, answers.WRONG, answers.REVEALED, None]
    assert answers.score(outcomes) == 2


@pytest.mark.parametrize(("text", "number"), [
    ("12", 12.0), ("-0,5", -0.5), (" 1 / 2 ", 0.5), ("−3/4", -0.75), ("2.5e3", 2500.0),
    (",5", 0.5), ("1e-3", 0.001),
])
def test_a_typed_number_is_read_as_the_browser_exercise_reads_it(text, number):
    assert answers.parse_number(text) == number


@pytest.mark.parametrize("text", ["", "abc", "1/0", "2*3", "1,2,3", "٣", "0x10", "1e5e5"])
def test_what_is_not_a_number_is_nan(text):
    assert math.isnan(answers.parse_number(text))


def test_right_within_the_browsers_relative_tolerance():
    assert answers.is_right(72.07, 72.0)  # 1e-3 of 72 is 0.072
    assert not answers.is_right(72.08, 72.0)
    assert answers.is_right(1e-10, 0.0) and not answers.is_right(1e-8, 0.0)
    assert not answers.is_right(math.inf, math.inf)


@pytest.mark.parametrize(("lineitem", "scores"), [
    ("https://lms.example/api/lti/courses/1/line_items/2",
     "https://lms.example/api/lti/courses/1/line_items/2/scores"),
    ("https://lms.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=3",
     "https://lms.example/mod/lti/services.php/2/lineitems/7/lineitem/scores?type_id=3"),
    ("https://lms.example/items/5/", "https://lms.example/items/5/scores"),
])
def test_the_scores_url_joins_the_path_and_keeps_the_query(lineitem, scores):
    assert ags.scores_url(lineitem) == scores


def test_the_token_request_carries_an_assertion_the_tools_jwks_verifies():
    tool = ToolConfig((), new_key())
    registration = Registration(
        issuer="https://lms.example", client_id="tool-1", auth_login_url="https://lms.example/auth",
        auth_token_url="https://lms.example/token", key_set_url=None, key_set=None,
        deployment_ids=("1",),
    )
    now = time.time()
    form = ags.token_request(tool, registration, now)
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == ags.ASSERTION_TYPE
    assert form["scope"] == ags.SCORE_SCOPE
    token = jwt.decode(form["client_assertion"], KeySet.import_key_set(tool.jwks()))
    claims = token.claims
    assert token.header["kid"] == tool.private_key.kid
    assert claims["iss"] == claims["sub"] == "tool-1"
    assert claims["aud"] == "https://lms.example/token"
    assert claims["iat"] <= now < claims["exp"] and claims["jti"]
    other = jwt.decode(ags.token_request(tool, registration, now)["client_assertion"],
                       KeySet.import_key_set(tool.jwks()))
    assert other.claims["jti"] != claims["jti"]


def test_a_score_is_completed_fully_graded_and_dated_with_a_zone():
    body = ags.score_body("u-1", 3, 4)
    assert body["activityProgress"] == "Completed" and body["gradingProgress"] == "FullyGraded"
    assert (body["scoreGiven"], body["scoreMaximum"], body["userId"]) == (3, 4, "u-1")
    assert datetime.fromisoformat(body["timestamp"]).utcoffset() is not None


# --- launches through the loopback platform (httpx) -------------------------------------


def test_an_ungraded_launch_opens_the_embed_view_in_the_launchs_language(launch, tool):
    page = launch(custom={CUSTOM_STATE: STATE}, ags=False, locale="de-DE", user=user())
    assert page.status_code == 200, page.text
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.html["lang"] == "de"
    assert soup.select_one("body.embed") is not None
    # Not graded: the browser exercise, whose answers are in the page.
    assert soup.select("input[data-expect]")


def test_a_walk_through_with_ags_is_not_graded(launch, platform):
    who = user()
    state = urlencode({"expr": EXPR, "x": "1.3"}, quote_via=quote)
    page = launch(custom={CUSTOM_STATE: state}, ags=True, user=who)
    assert page.status_code == 200
    assert 'data-testid="graded-function"' not in page.text
    assert scores_of(platform, who) == []


def test_the_graded_page_holds_none_of_the_answers(launch, tool):
    page = graded(launch, user())
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    numbers = [n for step in expected(tool) for n in step]
    assert len(numbers) == QUESTIONS + 1
    for number in numbers:
        for shown in {brief(number), repr(number), f"{number:.4g}", f"{number:.3f}"}:
            assert shown not in page.text, shown
    soup = BeautifulSoup(page.text, "html.parser")
    assert not soup.select("[data-expect]")
    # Nothing that leads to an ungraded view of the same state, where they are.
    urls = [el.get(name, "") for name in ("href", "src", "action", "hx-get", "hx-post")
            for el in soup.select(f"[{name}]")]
    assert urls and not [url for url in urls if "expr" in url or "oembed" in url], urls
    assert soup.select_one("[data-testid=question-0]") is not None


def play(tool: Any, page: httpx.Response, answers_of: Callable[[int, list[float]], list[str]],
         ) -> httpx.Response:
    """Answer every question of a graded page (each once), as answers_of says."""
    steps = expected(tool)
    for k, numbers in enumerate(steps):
        fields = form_of(page.text)
        page = answer(tool, fields, answers_of(k, numbers))
        assert page.status_code == 200, page.text
        if answers_of(k, numbers) != [repr(n) for n in numbers]:
            # Wrong: a second try, wrong again.
            page = answer(tool, form_of(page.text), answers_of(k, numbers))
            assert page.status_code == 200, page.text
    return page


def test_right_answers_post_one_full_score(launch, tool, platform):
    who = user()
    page = graded(launch, who)
    session = form_of(page.text)["session"]
    page = play(tool, page, lambda k, ns: [repr(n) for n in ns])
    assert 'data-testid="score-sent"' in page.text
    (score,) = scores_of(platform, who)
    assert (score["scoreGiven"], score["scoreMaximum"]) == (QUESTIONS, QUESTIONS)
    assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "FullyGraded"
    assert datetime.fromisoformat(score["timestamp"]).utcoffset() is not None
    # The attempt is over: another answer or finish is refused, and posts nothing.
    assert answer(tool, {"session": session, "step": "1"}, ["1"]).status_code == 409
    assert httpx.post(f"{tool.url}/lti/finish", data={"session": session}).status_code == 409
    assert len(scores_of(platform, who)) == 1


def test_wrong_twice_and_revealed_steps_earn_nothing(launch, tool, platform):
    who = user()
    page = graded(launch, who)
    steps = expected(tool)
    # The first question right at the second try: a point.
    page = answer(tool, form_of(page.text), ["0"] * len(steps[0]))
    assert "Not quite" in page.text
    page = answer(tool, form_of(page.text), [repr(n) for n in steps[0]])
    # The second wrong twice, the third revealed: none.
    page = answer(tool, form_of(page.text), ["0"] * len(steps[1]))
    page = answer(tool, form_of(page.text), ["0"] * len(steps[1]))
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("[data-testid=graded-step-1]")["data-outcome"] == "wrong"
    # The next question starts afresh: no "try once more" carried over to it.
    assert soup.select_one("form.graded-question [data-testid=feedback]").text.strip() == ""
    assert not soup.select("form.graded-question input[aria-invalid]")
    page = answer(tool, form_of(page.text), [], action="reveal")
    assert page.status_code == 200
    # The fourth right at once: a point.
    page = answer(tool, form_of(page.text), [repr(n) for n in steps[3]])
    (score,) = scores_of(platform, who)
    assert score["scoreGiven"] == 2 and score["scoreMaximum"] == QUESTIONS
    assert "2 of 4" in page.text


def test_htmx_gets_the_activity_block_alone(launch, tool):
    page = graded(launch, user())
    steps = expected(tool)
    block = httpx.post(f"{tool.url}/lti/answer", headers={"HX-Request": "true"},
                       data={**form_of(page.text), "answer": ["0"] * len(steps[0])})
    assert block.status_code == 200 and "Hint:" in block.text
    block = httpx.post(f"{tool.url}/lti/answer", headers={"HX-Request": "true"},
                       data={**form_of(page.text), "answer": [repr(n) for n in steps[0]]})
    assert block.status_code == 200
    soup = BeautifulSoup(block.text, "html.parser")
    assert soup.select_one("html") is None
    assert soup.select_one("#stage #activity [data-testid=graded-step-0]")["data-outcome"] == "right"
    assert soup.select_one("#stage svg g.node.current") is not None  # painted at the next question
    assert soup.select_one("section#activity form.graded-question") is not None


def test_a_wrong_try_marks_the_boxes_that_are_wrong(launch, tool):
    page = graded(launch, user())
    first = expected(tool)[0]
    page = answer(tool, form_of(page.text), [repr(first[0]), "0"])
    boxes = BeautifulSoup(page.text, "html.parser").select("form.graded-question input[name=answer]")
    assert [box.get("aria-invalid") for box in boxes] == [None, "true"]
    assert [box["value"] for box in boxes] == [repr(first[0]), "0"]


def test_an_unreadable_answer_is_no_try(launch, tool, platform):
    page = graded(launch, user())
    steps = expected(tool)
    page = answer(tool, form_of(page.text), ["two"] * len(steps[0]))
    assert "Type a number" in page.text
    page = answer(tool, form_of(page.text), [repr(n) for n in steps[0]])
    assert 'data-outcome="right"' in page.text


def test_finishing_early_posts_what_was_earned(launch, tool, platform):
    who = user()
    page = graded(launch, who)
    page = answer(tool, form_of(page.text), [repr(n) for n in expected(tool)[0]])
    finished = httpx.post(f"{tool.url}/lti/finish", data={"session": form_of(page.text)["session"]})
    assert finished.status_code == 200 and 'data-testid="score-sent"' in finished.text
    (score,) = scores_of(platform, who)
    assert (score["scoreGiven"], score["scoreMaximum"]) == (1, QUESTIONS)


def test_a_reload_resumes_the_attempt_and_a_spent_one_is_refused(launch, tool, platform):
    who = user()
    first = graded(launch, who)
    again = graded(launch, who)  # the course page reloaded: the same attempt
    assert form_of(again.text)["session"] == form_of(first.text)["session"]
    play(tool, again, lambda k, ns: [repr(n) for n in ns])
    spent = graded(launch, who)
    assert spent.status_code == 403
    assert "every attempt" in BeautifulSoup(spent.text, "html.parser").select_one(
        ".error-message").text
    assert len(scores_of(platform, who)) == 1


def test_a_second_attempt_posts_the_lower_score(launch, tool, platform):
    who = user()
    play(tool, graded(launch, who, attempts=2), lambda k, ns: [repr(n) for n in ns])
    play(tool, graded(launch, who, attempts=2), lambda k, ns: ["0"] * len(ns))
    assert [s["scoreGiven"] for s in scores_of(platform, who)] == [QUESTIONS, 0]
    assert graded(launch, who, attempts=2).status_code == 403


@pytest.mark.parametrize("forged", [
    {"score": "99"}, {"scoreGiven": "4"}, {"userId": "someone-else"}, {"user": "student-2"},
])
def test_a_score_or_a_user_sent_by_the_browser_is_refused(launch, tool, platform, forged):
    who = user()
    page = graded(launch, who)
    writes = tool.writes()
    refused = answer(tool, form_of(page.text), [repr(n) for n in expected(tool)[0]], **forged)
    assert refused.status_code == 400
    assert "score is counted by the server" in refused.text
    assert tool.writes() == writes  # no try counted
    finish = httpx.post(f"{tool.url}/lti/finish", data={**form_of(page.text), **forged})
    assert finish.status_code == 400
    assert scores_of(platform, who) == []


@pytest.mark.parametrize("session", ["", "x" * 32, secrets.token_urlsafe(24), "../../etc"])
def test_an_unknown_session_is_refused(tool, platform, session):
    before = len(platform.scores)
    refused = answer(tool, {"session": session, "step": "0"}, ["1", "1"])
    assert refused.status_code == 404 and "not open" in refused.text
    finish = httpx.post(f"{tool.url}/lti/finish", data={"session": session})
    assert finish.status_code == 404
    assert len(platform.scores) == before


def test_a_question_not_open_yet_is_refused(launch, tool, platform):
    page = graded(launch, user())
    fields = {**form_of(page.text), "step": "3"}
    refused = answer(tool, fields, [repr(n) for n in expected(tool)[2]])
    assert refused.status_code == 409 and "in order" in refused.text


def test_each_attempt_scores_its_own_user(launch, tool, platform):
    """Two students at once: each session's score goes to its own user, whatever the other does."""
    alice, bob = user(), user()
    page_a, page_b = graded(launch, alice), graded(launch, bob)
    assert form_of(page_a.text)["session"] != form_of(page_b.text)["session"]
    play(tool, page_b, lambda k, ns: ["0"] * len(ns))
    play(tool, page_a, lambda k, ns: [repr(n) for n in ns])
    assert [s["scoreGiven"] for s in scores_of(platform, alice)] == [QUESTIONS]
    assert [s["scoreGiven"] for s in scores_of(platform, bob)] == [0]


# --- in Chromium: the course page, its frame, a student answering ------------------------


@pytest.fixture(scope="module")
def chromium(playwright: Any) -> Iterator[Any]:
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


def in_course(chromium: Any, platform: Any, who: str, attempts: int = 1, **options: Any) -> Any:
    """The platform's course page, the graded activity launched in its frame."""
    custom = {CUSTOM_STATE: STATE, CUSTOM_ATTEMPTS: str(attempts)}
    hint = platform.prepare(custom=custom, ags=True, user=who, **options)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The tool's errors; the platform's page has no favicon, which is not the tool's business.
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}")
            if m.type == "error" and not m.location.get("url", "").startswith(platform.url)
            else None)
    page.goto(f"{platform.url}/course/{hint}")
    frame = page.frame_locator("#tool")
    frame.locator("[data-testid=activity]").wait_for()
    return page, frame, errors


def answer_in_frame(frame: Any, numbers: list[list[float]], wrong: bool) -> None:
    """Type every question's answers and press Check (twice, when wrong), as a student does."""
    for k, values in enumerate(numbers):
        question = frame.locator("form.graded-question")
        prompt = question.locator("h3").inner_text()
        for i, value in enumerate(values):
            question.locator(f"input[name=answer] >> nth={i}").fill("0" if wrong else repr(value))
        question.locator("button[value=check]").click()
        if wrong:
            frame.locator("[data-testid=feedback].wrong").wait_for()
            question.locator("input[name=answer] >> nth=0").press("Enter")
        frame.locator(f"[data-testid=graded-step-{k}][data-outcome]").wait_for()
        assert prompt in frame.locator(f"[data-testid=graded-step-{k}] h3").inner_text()


@pytest.mark.e2e
def test_an_exercise_done_in_chromium_posts_its_score(chromium, platform, tool):
    who = user()
    numbers = expected(tool)
    page, frame, errors = in_course(chromium, platform, who, attempts=2)
    answer_in_frame(frame, numbers, wrong=False)
    sent = frame.locator("[data-testid=score-sent]")
    assert f"{QUESTIONS} of {QUESTIONS}" in sent.inner_text()
    assert [s["scoreGiven"] for s in scores_of(platform, who)] == [QUESTIONS]
    page.context.close()
    # The second attempt, every answer wrong twice: the lower score, which the platform keeps.
    page, frame, errors_again = in_course(chromium, platform, who, attempts=2)
    answer_in_frame(frame, numbers, wrong=True)
    assert "0 of" in frame.locator("[data-testid=score-sent]").inner_text()
    assert [s["scoreGiven"] for s in scores_of(platform, who)] == [QUESTIONS, 0]
    assert errors == errors_again == []
    page.context.close()


# --- when the store or the platform fails ------------------------------------------------


class GradingStoreDown:
    """The tool's store, down for the kinds grading keeps (lti_*): the launch's own checks pass."""

    def __init__(self, store: Any):
        self.store = store

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        async def call(kind: str, *args: Any) -> Any:
            if kind.startswith("lti_"):
                raise StoreDown("down for the test")
            return await method(kind, *args)

        return call if name in ("put", "take", "get", "incr") else method


@contextmanager
def swapped(lti: Any, **parts: Any) -> Iterator[None]:
    kept = {name: getattr(lti, name) for name in parts}
    for name, part in parts.items():
        setattr(lti, name, part)
    try:
        yield
    finally:
        for name, part in kept.items():
            setattr(lti, name, part)


def test_a_graded_launch_fails_closed_when_the_store_is_down(launch, tool, platform):
    who = user()
    with swapped(tool.lti, store=GradingStoreDown(tool.lti.store)):
        page = graded(launch, who)
    assert page.status_code == 503
    assert "cannot keep graded answers" in page.text
    assert 'name="answer"' not in page.text


def test_an_answer_fails_closed_when_the_store_is_down(launch, tool, platform):
    who = user()
    page = graded(launch, who)
    with swapped(tool.lti, store=GradingStoreDown(tool.lti.store)):
        refused = answer(tool, form_of(page.text), [repr(n) for n in expected(tool)[0]])
    assert refused.status_code == 503
    assert "cannot keep graded answers" in refused.text
    assert scores_of(platform, who) == []


def test_a_score_the_platform_refuses_is_said_and_can_be_sent_again(launch, tool, platform, caplog):
    who = user()
    page = graded(launch, who)
    session = form_of(page.text)["session"]
    down = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(500)))
    with swapped(tool.lti, http=down), caplog.at_level(logging.WARNING):
        page = play(tool, page, lambda k, ns: [repr(n) for n in ns])
    assert 'data-testid="score-failed"' in page.text
    assert scores_of(platform, who) == []
    said = [r.getMessage() for r in caplog.records if "score not posted" in r.getMessage()]
    assert said and not [line for line in said if who in line]
    # Sent again, once the platform answers: exactly one score, and the attempt is over.
    again = httpx.post(f"{tool.url}/lti/finish", data={"session": session})
    assert again.status_code == 200 and 'data-testid="score-sent"' in again.text
    assert [s["scoreGiven"] for s in scores_of(platform, who)] == [QUESTIONS]
    assert httpx.post(f"{tool.url}/lti/finish", data={"session": session}).status_code == 409


def test_the_access_token_is_kept_for_the_next_score(launch, tool, platform):
    play(tool, graded(launch, user()), lambda k, ns: [repr(n) for n in ns])
    tokens = len(platform.tokens)
    who = user()
    play(tool, graded(launch, who), lambda k, ns: [repr(n) for n in ns])
    assert len(scores_of(platform, who)) == 1
    assert len(platform.tokens) == tokens


TYPED = ["12", "-0,5", " 1 / 2 ", "−3/4", "2.5e3", ",5", "1e-3", "", "abc", "1/0", "2*3",
         "1,2,3", "٣", "0x10", "1e5e5", "+.5e-1", "7.", "1e400", "-0", "3/-4"]
EXPECTED = [72.0, 0.0, -2.5, 1e-7, 4.885244]


@pytest.mark.e2e
def test_the_server_reads_and_judges_as_the_browser_exercise_does(chromium, tool):
    """answers.py mirrors static/app/exercise.js: the same text, the same number, the same verdict."""
    page = chromium.new_page()
    page.goto(f"{tool.url}/static/app/exercise.js")  # the tool's origin, for the import
    found = page.evaluate(
        """async ([typed, expected]) => {
          const m = await import("/static/app/exercise.js");
          const read = typed.map((t) => { const n = m.parseNumber(t); return Number.isNaN(n) ? "nan" : n; });
          const judged = [];
          for (const e of expected) for (const t of typed) judged.push(m.isRight(m.parseNumber(t), e));
          for (const e of expected) for (const f of [1, 1.0009, 1.0011, 0.9991, -1]) judged.push(m.isRight(e * f, e));
          return { read, judged, tolerance: m.TOLERANCE };
        }""",
        [TYPED, EXPECTED],
    )
    page.close()
    read = ["nan" if math.isnan(n := answers.parse_number(t)) else n for t in TYPED]
    judged = [answers.is_right(answers.parse_number(t), e) for e in EXPECTED for t in TYPED]
    judged += [answers.is_right(e * f, e) for e in EXPECTED for f in (1, 1.0009, 1.0011, 0.9991, -1)]
    assert found["tolerance"] == answers.TOLERANCE
    assert found["read"] == read
    assert found["judged"] == judged


def test_a_german_launch_is_graded_in_german(launch, tool):
    page = graded(launch, user(), locale="de-DE")
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.html["lang"] == "de" and page.headers["content-language"] == "de"
    assert soup.select_one("h1").text == "Bewertete Übung"
    assert soup.select_one("button[value=check]").text == "Prüfen"


@pytest.mark.e2e
def test_a_refused_answer_is_said_in_the_question(chromium, platform, tool):
    page, frame, errors = in_course(chromium, platform, user())
    question = frame.locator("form.graded-question")
    question.locator("input[name=session]").evaluate("(el) => { el.value = 'x'.repeat(32); }")
    for i, value in enumerate(expected(tool)[0]):
        question.locator(f"input[name=answer] >> nth={i}").fill(repr(value))
    question.locator("button[value=check]").click()
    feedback = frame.locator("[data-testid=feedback].wrong")
    feedback.wait_for()
    assert "not open any more" in feedback.inner_text()
    # htmx reports the 404 itself; nothing else went wrong.
    assert [e for e in errors if "404" not in e] == []
    page.context.close()


def test_a_graded_program_shows_the_values_its_address_sets(launch, tool):
    program = "x = 2\nz = w*x + b\ny = tanh(z) * z"
    state = urlencode({"expr": program, "w": "0.5", "b": "0.1", "exercise": "1"}, quote_via=quote)
    page = launch(custom={CUSTOM_STATE: state}, ags=True, user=user())
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("[data-testid=graded-program] pre").text == program
    # x is set by its line, in the program; w and b by the address, above it.
    assert soup.select_one("[data-testid=graded-function]").text == "w = 0.5, b = 0.1"
    assert soup.select_one("form.graded-question") is not None


def test_the_graph_is_lit_at_the_open_question_and_all_done_at_the_end(launch, tool):
    program = "z = w*x + b\ny = tanh(z) * z"
    state = urlencode({"expr": program, "w": "0.5", "x": "2", "b": "0.1", "exercise": "1",
                       "collapse": "z"}, quote_via=quote)
    page = launch(custom={CUSTOM_STATE: state}, ags=True, user=user())
    soup = BeautifulSoup(page.text, "html.parser")
    lit = soup.select("#graph g.node.current")
    assert len(lit) == 1 and not soup.select("#graph g.node.done")
    for _ in range(20):
        if soup.select_one("form.graded-question") is None:
            break
        fields = {i["name"]: i["value"] for i in soup.select("form.graded-question input[type=hidden]")}
        boxes = len(soup.select("form.graded-question input[name=answer]"))
        soup = BeautifulSoup(answer(tool, fields, [], action="reveal").text, "html.parser")
        assert boxes and len(soup.select("#graph g.node.current")) <= 1
        # A step inside the collapsed line z lights its box, which the graph draws.
        current = soup.select("#graph g.node.current")
        assert current or soup.select_one("form.graded-question") is None
    assert not soup.select("#graph g.node.current")
    assert len(soup.select("#graph g.node.done")) >= 4


@pytest.mark.e2e
def test_finishing_early_in_chromium_asks_first(chromium, platform, tool):
    who = user()
    page, frame, errors = in_course(chromium, platform, who)
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    frame.locator("[data-testid=finish]").click()
    frame.locator("form.graded-question").wait_for()
    assert asked and "no point" in asked[0]
    assert scores_of(platform, who) == []
    page.once("dialog", lambda dialog: dialog.accept())
    frame.locator("[data-testid=finish]").click()
    frame.locator("[data-testid=score-sent]").wait_for()
    assert [s["scoreGiven"] for s in scores_of(platform, who)] == [0]
    assert errors == []
    page.context.close()
