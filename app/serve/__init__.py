"""Running the core for many people: worker pool, caches, rate limits, metrics, settings.

Imports app.core, never app.web; speaks no HTTP itself.
"""
