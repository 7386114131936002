"""The maths: text -> checked tree -> trace (torch) -> picture (Graphviz) -> explanations, code.

Nothing in here speaks HTTP or renders HTML: no FastAPI, Starlette, Jinja2 or
HTTP status codes. It imports nothing from app.serve or app.web.
"""
