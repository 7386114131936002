"""The htmx result block: every mode renders alone, as the form's request asks for it."""

from __future__ import annotations

from bs4 import BeautifulSoup

HTMX_RESULT = {"HX-Request": "true", "HX-Target": "result"}


def test_an_exercise_changed_on_the_form_renders_its_questions(client) -> None:
    """The result block alone (render_block) runs none of index.html's top-level code:
    the exercise's macros must be imported where the steps use them."""
    response = client.get("/", params={"expr": "x**2*y + sin(y)", "x": "3", "y": "0.5",
                                       "exercise": "1"}, headers=HTMX_RESULT)
    assert response.status_code == 200, response.text[:300]
    page = BeautifulSoup(response.text, "html.parser")
    assert page.select_one("[data-testid=exercise-intro]") is not None
    assert page.select("[data-exercise] li.step.backward")
    whole = client.get("/", params={"expr": "x**2*y + sin(y)", "x": "3", "y": "0.5",
                                    "exercise": "1"})
    # The same questions as on the whole page.
    full = BeautifulSoup(whole.text, "html.parser").select_one("#stepper")
    assert str(page.select_one("#stepper")) == str(full)
