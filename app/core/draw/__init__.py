"""Trace -> DOT -> Graphviz layout -> SVG whose nodes carry the stable ids."""
