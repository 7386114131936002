"""The maths, one sub-package per stage, each importing only the ones before it.

- ``language``: text -> checked tree (no torch): characters, the whitelist, programs, values;
- ``trace``: tree -> real torch tensors -> nodes, backward steps in the engine's order, rules;
- ``draw``: DOT -> Graphviz layout -> SVG whose nodes carry the stable ids;
- ``teach``: explanations, PyTorch code, dy/dx and the plot, second order, training;
- ``pipeline`` runs them; ``result`` holds the torch-free records that every stage reads.

Nothing in here speaks HTTP or renders HTML: no FastAPI, Starlette, Jinja2,
markupsafe or HTTP status codes, and nothing from ``serve`` or ``web``.
"""
