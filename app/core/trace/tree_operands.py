"""The first source of a trace's rules: a node's operands as the parsed tree has them.

:class:`TreeOperands` tells local.rules what a node's operands are as the
student typed them (their text, their precedence), the values the trace
computed for them, and the constants of the op, for each node a tree node made
(autograd_playground.core.trace.steps.Operands).
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from ..language.tree import ATOM, PRECEDENCE, Expr, ListConst, Num, Var, children, post_order
from . import local
from .model import op_name
from .printing import Operand, constant_operand, precedence
from .steps import numbers, saved_for_rules


class TreeOperands:
    """Everything local.rules needs about a node's operands, read from the parsed tree:
    the texts as typed, the values the trace computed, the constants."""

    def __init__(self, parsed, tensors, ops, made_by, owners, nodes, ids):
        self.text = parsed.text
        self.owners = owners
        self.nodes = nodes
        self.ids = ids
        self.values: dict[int, Any] = {}  # id(tree node) -> its value
        self.in_graph: set[int] = set()  # id(tree node) of operands with a node
        # id(tree node) of the subtrees that name a variable somewhere, found in the
        # same pass (asking each constant operand's subtree again cost a tenth of a trace).
        self.with_variable: set[int] = set()
        grads = {name for name, t in tensors.items() if t.requires_grad}
        for expr_node in post_order(parsed.tree):
            if isinstance(expr_node, Var) or any(
                id(k) in self.with_variable for k in children(expr_node)
            ):
                self.with_variable.add(id(expr_node))
            if isinstance(expr_node, Num):
                self.values[id(expr_node)] = expr_node.value
            elif isinstance(expr_node, Var):
                self.values[id(expr_node)] = tensors[expr_node.name]
                if expr_node.name in grads:
                    self.in_graph.add(id(expr_node))
            elif isinstance(expr_node, ListConst):
                self.values[id(expr_node)] = expr_node.value
        for expr_node, result in ops:
            self.values[id(expr_node)] = result
            if isinstance(result, torch.Tensor) and result.requires_grad:
                self.in_graph.add(id(expr_node))
        self.value_of_fn: dict[Any, Any] = {fn: r for fn, (_, r) in made_by.items()}
        # id(tree node) -> the name a program's line gives its value: W2 @ h, not W2 @ (tanh(…)).
        self.names = {id(e): nodes[ids[fn]].name_of for fn, (e, _) in made_by.items()
                      if fn in ids and nodes[ids[fn]].name_of}

    def knows(self, fn: Any) -> bool:
        """Every node of a typed function has a rule, its own or PyTorch's numbers."""
        return True

    def facts(self, fn: Any, arrived: Any, sent: tuple, torch_local: tuple) -> local.NodeFacts:
        owner = self.owners.get(fn)
        inputs = tuple(self.operand(nf, owner) if nf is not None else None for nf, _ in fn.next_functions)
        constants: tuple[Operand, ...] = ()
        texts = ("A", "B")
        bare = (False, False)
        if owner is not None:
            kids = children(owner)
            constants = tuple(
                _number(self.text[k.start : k.end], k.value, k.name)
                if type(k) is Num and self.values[id(k)] is k.value
                else constant_operand(
                    k, self.text[k.start : k.end], numbers(self.values[id(k)]),
                    id(k) in self.with_variable,
                )
                for k in kids
                if id(k) not in self.in_graph
            )
            if kids:  # the operands as typed: A and B of the rules (softmax(A), A − B)
                typed = tuple(self.names.get(id(k)) or self.text[k.start : k.end] for k in kids[:2])
                texts = typed + texts[len(typed) :]
                bare = (self.bare(kids[0]), len(kids) > 1 and self.bare(kids[1]))
        return local.NodeFacts(
            name=op_name(fn),
            owner=owner,
            inputs=inputs,
            constants=constants,
            arrived=numbers(arrived),
            sent=tuple(numbers(g) for g in sent),
            torch_local=torch_local,
            saved=saved_for_rules(fn),
            texts=texts,
            bare=bare,
        )

    def bare(self, kid: Expr) -> bool:
        """Whether an operand's text reads right after a minus: a line's name, or not a
        sum, a difference or a negation."""
        return id(kid) in self.names or precedence(kid) not in (PRECEDENCE["-"], PRECEDENCE["unary"])

    def operand(self, nf: Any, owner: Expr | None) -> Operand:
        node = self.nodes[self.ids[nf]]
        if hasattr(nf, "variable"):
            return Operand(node.variable or "?", ATOM, numbers(nf.variable))
        tree_node = self.owners.get(nf)
        value = self.value_of_fn.get(nf)
        if node.name_of:  # a program's named value reads as its name: 1 − tanh(z)², not tanh(w*x + b)
            return Operand(node.name_of, ATOM, numbers(value))
        if tree_node is None or tree_node is owner:
            return Operand(f"({node.source or node.name})", ATOM, numbers(value))
        return Operand(node.source or node.name, precedence(tree_node), numbers(value))


@functools.lru_cache(maxsize=4096, typed=True)
def _number(text: str, value: int | float, name: str | None) -> Operand:
    """A number the student typed, as an operand: the same text, value and name give the
    same one (its exact sympy number and printed form are made once per worker). Its
    value is read-only, as it is shared."""
    data = numbers(value)
    data.flags.writeable = False
    return constant_operand(Num(value, 0, len(text), name), text, data, False)
