"""Which nodes each step highlights: the rule the page and its script share."""

from autograd_playground.core.teach.explain import ForwardView, StepView
from autograd_playground.web.highlight import Paint, paints

# y = x*x + 3, by hand: the forward pass records n1 (MulBackward0) and n0
# (AddBackward0); backward runs n0, n1, then the leaf's AccumulateGrad n2.
FORWARD = [
    ForwardView(1, "n1", "MulBackward0", "x*x", "4", ("n2", "var-x", "n1")),
    ForwardView(2, None, None, "3", "3", ("n2", "var-x", "n1")),
    ForwardView(3, "n0", "AddBackward0", "x*x + 3", "7", ("n2", "var-x", "n1", "n0", "out")),
]
STEPS = [
    StepView(1, "n0", "AddBackward0", "x*x + 3", "output", "1"),
    StepView(2, "n1", "MulBackward0", "x*x", "op", "1"),
    StepView(3, "n2", "AccumulateGrad", "x", "leaf", "4", variable="x"),
]


def test_the_overview_highlights_nothing():
    assert paints(FORWARD, STEPS)[0].classes() == {}
    assert paints([], STEPS)[0] == Paint()


def test_backward_steps_mark_the_current_node_and_the_ones_before_it_done():
    shown = paints([], STEPS)
    assert len(shown) == 4
    assert shown[1].classes() == {"n0": "current"}
    assert shown[2].classes() == {"n0": "done", "n1": "current"}
    assert shown[3].classes() == {"n0": "done", "n1": "done", "n2": "current"}


def test_forward_steps_hide_what_is_not_built_yet():
    shown = paints(FORWARD, STEPS)
    assert len(shown) == 1 + 3 + 3
    assert shown[1].classes() == {"n1": "current", "out": "unbuilt", "n0": "unbuilt"}
    # Arithmetic on constants records no node: nothing is current.
    assert shown[2].classes() == {"out": "unbuilt", "n0": "unbuilt"}
    assert shown[3].classes() == {"n0": "current"}
    # After the forward pass, backward starts from the output's node.
    assert shown[4].classes() == {"n0": "current"}
    assert shown[6].classes() == {"n0": "done", "n1": "done", "n2": "current"}


def test_a_collapsed_line_paints_its_box_in_place_of_its_nodes():
    # x*x + 3 as one collapsed line: n0 and n1 are drawn as box-y.
    boxed = {"n0": "box-y", "n1": "box-y"}
    shown = paints(FORWARD, STEPS, boxed)
    # Forward: the box is current once one of its nodes is built, never unbuilt after that.
    assert shown[1].classes() == {"box-y": "current", "out": "unbuilt"}
    assert shown[2].classes() == {"out": "unbuilt"}
    assert shown[3].classes() == {"box-y": "current"}
    # Backward: both steps inside the box paint it current; then it is done.
    assert shown[4].classes() == {"box-y": "current"}
    assert shown[5].classes() == {"box-y": "current"}
    assert shown[6].classes() == {"box-y": "done", "n2": "current"}
    assert all("n0" not in p.classes() and "n1" not in p.classes() for p in shown)
