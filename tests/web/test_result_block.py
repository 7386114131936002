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


def test_node_details_show_the_saved_values_the_lesson_explains_in_its_order() -> None:
    from autograd_playground.web.context import shown_saved

    saved = {"alpha": "1", "other": "2.0", "reduction": "1", "self_sym_strides": "[1]",
             "self": "3.0", "dim": "0"}
    # self and other first, in the lesson's order; alpha = 1 and strides left out; the
    # reduction by its name; the rest as PyTorch gave them.
    assert shown_saved(saved) == [("self", "3.0"), ("other", "2.0"), ("reduction", "'mean'"),
                                  ("dim", "0")]
    assert shown_saved({"alpha": "2"}) == [("alpha", "2")]
    assert shown_saved(None) == [] and shown_saved({}) == []


def test_the_step_attributes_name_the_nodes_painted(client) -> None:
    response = client.get("/", params={"expr": "x**2*y + sin(y)", "x": "3", "y": "0.5"},
                          headers=HTMX_RESULT)
    page = BeautifulSoup(response.text, "html.parser")
    steps = page.select("li.step")
    assert len(steps) > 3
    last = steps[-1]
    assert last["data-unbuilt"] == "" and steps[0]["data-done"] == ""
    # Done grows by the node of each step before: at the last, every earlier step's node.
    done = last["data-done"].split(" ")
    assert {s["data-node"] for s in steps[1:-1]} <= set(done)
    assert all("  " not in s["data-done"] for s in steps)
