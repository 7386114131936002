"""LTI 1.3: the playground as a tool in Moodle, Canvas and every LTI Advantage platform."""
