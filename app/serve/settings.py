"""Every setting of the app: typed, with a default, read from the environment.

Each field is read from ``PLAYGROUND_<NAME>`` (for example
``PLAYGROUND_MAX_LENGTH=300``). docs/settings.md documents each one; a test fails
when a field is missing from that table.

The bounds on one request are the fields of the core's :class:`Limits`: their
defaults are written there once, a setting here adds its range and its help,
and :meth:`Settings.limits` copies every one of them across by name.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..core.language.rules import Limits
from .ratelimit import TrustedProxies, parse_trusted_proxies

# Where the limits' defaults are written: the core's own.
_LIMITS = Limits()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAYGROUND_", frozen=True)

    max_length: int = Field(
        _LIMITS.max_length, ge=1, description="Longest function text, in characters."
    )
    max_depth: int = Field(
        _LIMITS.max_depth, ge=2, description="Deepest nesting of the function's tree."
    )
    max_operations: int = Field(
        _LIMITS.max_operations, ge=1,
        description="Most operators and function calls in one function."
    )
    max_exponent: float = Field(
        _LIMITS.max_exponent, gt=0,
        description="Largest magnitude of a constant exponent (x**e, 2**e)."
    )
    max_constant: float = Field(
        _LIMITS.max_constant, gt=0,
        description="Largest magnitude of a constant, typed or computed."
    )
    max_elements: int = Field(
        _LIMITS.max_elements, ge=1, description="Most numbers in one tensor, input or intermediate."
    )
    max_dims: int = Field(_LIMITS.max_dims, ge=1, description="Most dimensions of one tensor.")
    max_variables: int = Field(
        _LIMITS.max_variables, ge=1, description="Most variables in one request."
    )
    max_graph_nodes: int = Field(
        _LIMITS.max_graph_nodes, ge=1,
        description="Most nodes a graph may have; bigger ones are refused before layout."
    )
    max_shown_elements: int = Field(
        _LIMITS.max_shown_elements,
        ge=1,
        description="Most numbers of one value a result shows in full; bigger values are sent "
        "as a summary (shape, first numbers, min, max, mean).",
    )
    max_result_bytes: int = Field(
        _LIMITS.max_result_bytes,
        ge=65_536,
        description="Largest result one computation may send back, as JSON, in bytes; the "
        "worker refuses a bigger one with a sentence.",
    )
    max_lines: int = Field(
        _LIMITS.max_lines, ge=1, le=100,
        description="Most lines a program (name = expression per line) may have."
    )
    max_train_steps: int = Field(
        _LIMITS.max_train_steps,
        ge=1,
        le=10_000,
        description="Most updates one training run (POST /api/train, the training view) may make.",
    )
    max_body_bytes: int = Field(
        262_144, ge=1024, description="Largest request body, in bytes (413 beyond)."
    )
    max_query_chars: int = Field(
        16_384, ge=256, description="Longest query string of a page URL (414 beyond)."
    )
    dot_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds a `dot` process may spend laying out one graph; used only where "
        "Graphviz's library (libgvc) is missing. In-process layout is bounded by "
        "request_timeout in a worker.",
    )
    docs_enabled: bool = Field(True, description="Serve the OpenAPI docs at /docs.")
    workers: int | None = Field(
        None,
        ge=0,
        description="Worker processes for the torch and Graphviz work; empty means one per "
        "CPU, 0 runs it in the server process without isolation (development, tests).",
    )
    request_timeout: float = Field(
        2.0, gt=0, description="Seconds one computation may take before it is stopped."
    )
    worker_memory_mb: int = Field(
        1536, ge=0, description="Address-space cap of each worker (RLIMIT_AS), in MiB; 0: none."
    )
    worker_max_tasks: int = Field(
        5000, ge=0, description="A worker is replaced after this many tasks; 0: never."
    )
    max_wait: float = Field(
        2.0,
        gt=0,
        description="Seconds a new computation may expect to wait for a worker (jobs ahead x "
        "running mean time per job / workers); past that it gets 503 at once.",
    )
    max_queue: int = Field(
        1000, ge=0, description="Hard cap on computations waiting for a worker, whatever the "
        "expected wait; past it new ones get 503.",
    )
    client_units: int | None = Field(
        None,
        ge=0,
        description="Work one client (an address) may have in the workers at once, in plain "
        "computations: a symbolic, second-order, training or large one counts as several, a "
        "cache hit as none. Past it, its work waits behind its own or gets 503; others are "
        "served. Empty: one less than the workers (at least 1; none with workers=0); 0: no share.",
    )
    timeout_memory_seconds: float = Field(
        600.0,
        ge=0,
        description="Seconds a computation that ran into request_timeout is remembered by its "
        "request and refused again at once with the same sentence; 0: never remembered.",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a client may take to send a request's headers, from its "
        "connection or the request's first byte; then the connection is closed (the bare "
        "server's protocol, web.connection).",
    )
    body_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a client may take to send a request's body once its headers "
        "are in; then the connection is closed.",
    )
    cache_mb: float = Field(
        64.0, ge=0, description="MiB of encoded results (JSON and gzip) kept in memory."
    )
    page_cache_mb: float = Field(
        16.0, ge=0, description="MiB of rendered pages kept in memory, for a class opening one "
        "link.",
    )
    warm_cache: bool = Field(
        True, description="Compute the examples and the lesson's frames at start-up."
    )
    rate_limit_per_minute: int = Field(
        12_000,
        ge=0,
        description="Tokens a minute one client address may spend, a request its route's "
        "weight (web.headers.ROUTE_COST; a class behind one NAT address shares it); 0: no "
        "limit.",
    )
    rate_limit_burst: int = Field(
        2_000, ge=1, description="Tokens one address may spend at once before the rate applies."
    )
    trusted_proxies: str = Field(
        "",
        description="IP addresses or networks (10.42.0.0/16) of reverse proxies whose "
        "X-Forwarded-For (and -Proto, -Host) is believed, comma-separated; empty: none.",
    )
    log_expression_chars: int = Field(
        80, ge=0, description="At most this much of a function's text goes into a log line."
    )
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics.")
    metrics_allow: str = Field(
        "127.0.0.0/8,::1",
        description="Addresses or networks that may read /metrics, comma-separated (loopback "
        "by default: add the scraper's network); '*': anyone. Others get 404.",
    )
    metrics_port: int = Field(
        0,
        ge=0,
        le=65_535,
        description="0: /metrics is served beside the app, to metrics_allow. A port: /metrics is "
        "served only there, on its own listener (metrics_allow does not apply; limit who "
        "reaches the port with the network), and the app's port answers 404.",
    )
    public_url: str = Field(
        "",
        description="The address students reach this server at (https://host or "
        "http://host:port), used for share links, snippets and oEmbed; empty: from the "
        "request (a trusted proxy's X-Forwarded-Host, else the Host header).",
    )
    allowed_hosts: str = Field(
        "*",
        description="Host names the server answers to, comma-separated (others get 400); "
        "'*': any.",
    )
    redis_url: str = Field(
        "",
        description="Redis shared by several replicas for the cache and the rate limiter, "
        "e.g. redis://redis:6379/0; empty: both live in this process.",
    )
    cache_ttl_seconds: int = Field(
        86_400, ge=1, description="How long a result stays in the Redis cache."
    )
    lti_config: str = Field(
        "",
        description="Path of the LTI 1.3 tool configuration (pylti1p3's JSON format: the "
        "platforms' registrations and the tool's key files, read relative to it; "
        "docs/lti.md); empty: LTI is off and every /lti route answers 404.",
    )
    replica_name: str = Field(
        "",
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]*$",
        description="If set, every response names this replica in an X-Served-By header.",
    )

    @cached_property
    def proxies(self) -> TrustedProxies:
        """trusted_proxies, parsed once: what the guard and the link builder ask."""
        return parse_trusted_proxies(self.trusted_proxies)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        return str(parse_trusted_proxies(value))
    allowed_frame_ancestors: str = Field(
        "*",
        description="Sites that may put /embed in an iframe: CSP frame-ancestors sources, "
        "separated by spaces or commas (*, 'self', https://moodle.example.org).",
    )
    playground_frame_ancestors: str = Field(
        "'self'", description="Sites that may put the full playground (/) in an iframe."
    )
    lesson_embed_origin: str = Field(
        "",
        description="Origin the demo lesson at /lesson loads its frames from, e.g. "
        "https://playground.example.org; empty means this server.",
    )

    @field_validator("allowed_frame_ancestors", "playground_frame_ancestors")
    @classmethod
    def _frame_sources(cls, value: str) -> str:
        return " ".join(frame_sources(value))

    @field_validator("lesson_embed_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not _ORIGIN.match(value):
            raise ValueError(
                f"{value!r} is not an origin; write it as https://host or http://host:port"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not _ORIGIN.match(value):
            raise ValueError(f"{value!r} is not an address; write it as https://host or http://host:port")
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        metrics_networks(value)
        return value

    def limits(self) -> Limits:
        """The core's bounds on one request, each from the setting of its name."""
        return Limits(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Limits)})


_HOST_SOURCE = re.compile(
    r"^(?:(?:https?|wss?)://)?(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::(?:\d{1,5}|\*))?"
    r"(?:/[A-Za-z0-9._~/-]*)?$"
)
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?$")
_KEYWORDS = {"*", "'self'", "'none'"}


def frame_sources(value: str) -> list[str]:
    """Parse a frame-ancestors setting; refuse anything a browser would not understand.

    Raises ValueError with the offending entry, so the app refuses to start with
    a clear message rather than sending a policy that silently blocks every frame.
    """
    sources = [s for s in re.split(r"[\s,]+", value.strip()) if s]
    if not sources:
        raise ValueError("is empty; use * to allow every site, or 'none' to allow none")
    for source in sources:
        if source in _KEYWORDS or re.fullmatch(r"(?:https?|wss?):", source):
            continue
        if source in ("self", "none"):
            raise ValueError(f"{source!r} needs single quotes: '{source}'")
        if not _HOST_SOURCE.match(source):
            raise ValueError(
                f"{source!r} is not a valid frame-ancestors source; use *, 'self', "
                "https://moodle.example.org or *.example.org"
            )
    if "'none'" in sources and len(sources) > 1:
        raise ValueError("'none' cannot be combined with other sources")
    return sources


def metrics_networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """The networks of a metrics_allow setting; None means anyone."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    if "*" in items:
        return None
    return [ipaddress.ip_network(item, strict=False) for item in items]
