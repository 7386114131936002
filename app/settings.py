"""Every setting of the app: typed, with a default, read from the environment.

Each field is read from ``PLAYGROUND_<NAME>`` (for example
``PLAYGROUND_MAX_LENGTH=300``). README.md documents each one; a test fails
when a field is missing from that table.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.expr import Limits


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAYGROUND_", frozen=True)

    max_length: int = Field(500, ge=1, description="Longest function text, in characters.")
    max_depth: int = Field(100, ge=2, description="Deepest nesting of the function's tree.")
    max_operations: int = Field(
        150, ge=1, description="Most operators and function calls in one function."
    )
    max_exponent: float = Field(
        100.0, gt=0, description="Largest magnitude of a constant exponent (x**e, 2**e)."
    )
    max_constant: float = Field(
        1e15, gt=0, description="Largest magnitude of a constant, typed or computed."
    )
    max_elements: int = Field(
        10_000, ge=1, description="Most numbers in one tensor, input or intermediate."
    )
    max_dims: int = Field(4, ge=1, description="Most dimensions of one tensor.")
    max_variables: int = Field(20, ge=1, description="Most variables in one request.")
    dot_timeout: float = Field(
        5.0, gt=0, description="Seconds Graphviz may spend laying out one graph."
    )
    docs_enabled: bool = Field(True, description="Serve the OpenAPI docs at /docs.")

    def limits(self) -> Limits:
        return Limits(
            max_length=self.max_length,
            max_depth=self.max_depth,
            max_operations=self.max_operations,
            max_exponent=self.max_exponent,
            max_constant=self.max_constant,
            max_elements=self.max_elements,
            max_dims=self.max_dims,
        )
