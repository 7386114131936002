"""The web: create_app (wiring), routes, middleware, page state, i18n.

The top of the flow; nothing imports it.
"""
