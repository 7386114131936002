"""Running the core for many people: worker pool, caches, rate limits, metrics, settings.

Imports autograd_playground.core, never autograd_playground.web; speaks no HTTP itself.
"""
