"""Graphviz layout: DOT in, SVG out, through libgvc in the process or a ``dot`` process."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import re
import shutil
import subprocess
import threading

log = logging.getLogger(__name__)


class RenderError(Exception):
    """The graph could not be laid out (Graphviz missing, failing or too slow)."""


# --- layout -----------------------------------------------------------------

# Quick mode: cap the network-simplex passes. On the command line these were
# -Gnslimit=2 -Gnslimit1=2; in the library they are the same graph attributes.
_QUICK_ATTRIBUTES = (("nslimit", "2"), ("nslimit1", "2"))
# Graphviz names an anonymous graph "%<counter>", a counter that grows with every
# graph a process lays out; a fresh ``dot`` process always says %3. So that the
# same graph gives the same bytes in both paths, the name is always %3.
_ANONYMOUS_NAME = re.compile(r"(<!-- Title: |<title>)%\d+(?=[ <])")


def layout(dot_source: str, timeout: float = 5.0, quick: bool = False) -> str:
    """Lay out DOT as SVG. The one place the layout engine is called.

    In the process through libgvc when the library is there (about 0.5 ms for
    the lesson's graph), otherwise through a ``dot`` process (about 15 ms, most
    of it starting the process). In the worker pool, the worker's time limit
    bounds the in-process layout (the worker is killed and replaced); ``timeout``
    bounds only the ``dot`` process.

    ``quick`` caps the network-simplex passes (nslimit), which keeps big graphs
    to about a second at the cost of a slightly less tidy picture.
    """
    library = _library()
    if library is not None:
        svg = library.layout(dot_source, quick)
    else:
        svg = layout_with_dot(dot_source, timeout, quick)
    return _ANONYMOUS_NAME.sub(r"\g<1>%3", svg, count=2)


def layout_with_dot(dot_source: str, timeout: float = 5.0, quick: bool = False) -> str:
    """Lay out DOT as SVG with a ``dot`` process, stopped after ``timeout`` s."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError("Graphviz ('dot') is not installed on the server.")
    options = [f"-G{name}={value}" for name, value in _QUICK_ATTRIBUTES] if quick else []
    try:
        done = subprocess.run(
            [exe, "-Tsvg", *options],
            input=dot_source.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz took longer than {timeout:g} s to draw the graph.") from None
    if done.returncode != 0:
        raise RenderError("Graphviz could not draw the graph: " + done.stderr.decode()[:200])
    return done.stdout.decode()


def layout_available() -> bool:
    """Whether this process can lay out graphs at all: the library or ``dot``."""
    return _library() is not None or shutil.which("dot") is not None


class Libgvc:
    """Graphviz's own C library (libgvc, libcgraph) called through ctypes.

    The same code as the ``dot`` program, without starting a process per
    picture. Graphviz keeps global state and is not thread-safe, so every call
    holds one lock per process (it matters only when the server computes in its
    own threads, workers=0; a pool worker runs one task at a time).
    """

    def __init__(self, gvc: ctypes.CDLL, cgraph: ctypes.CDLL):
        gvc.gvContext.restype = ctypes.c_void_p
        gvc.gvContext.argtypes = []
        gvc.gvcVersion.restype = ctypes.c_char_p
        gvc.gvcVersion.argtypes = [ctypes.c_void_p]
        self._context = gvc.gvContext()
        if not self._context:
            raise OSError("gvContext() failed")
        self.version = (gvc.gvcVersion(self._context) or b"").decode(errors="replace")
        self._length = length_type(self.version)
        gvc.gvLayout.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p]
        gvc.gvRenderData.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(self._length),
        ]
        gvc.gvFreeRenderData.argtypes = [ctypes.c_void_p]
        gvc.gvFreeLayout.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        cgraph.agmemread.restype = ctypes.c_void_p
        cgraph.agmemread.argtypes = [ctypes.c_char_p]
        cgraph.agclose.argtypes = [ctypes.c_void_p]
        cgraph.agsafeset.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                     ctypes.c_char_p]
        cgraph.agseterrf.argtypes = [_ERROR_FUNCTION]
        self._gvc, self._cgraph = gvc, cgraph
        self._messages: list[str] = []
        # Graphviz prints its errors to stderr unless given a function; this one
        # keeps them for the RenderError. The reference must live as long as we do.
        self._on_error = _ERROR_FUNCTION(self._keep_message)
        cgraph.agseterrf(self._on_error)
        self.lock = threading.Lock()

    def _keep_message(self, text: bytes | None) -> int:
        if text and sum(map(len, self._messages)) < 1000:
            self._messages.append(text.decode(errors="replace"))
        return 0

    def layout(self, dot_source: str, quick: bool = False) -> str:
        gvc, cgraph = self._gvc, self._cgraph
        with self.lock:
            self._messages.clear()
            graph = cgraph.agmemread(dot_source.encode())
            if not graph:
                raise RenderError("Graphviz could not draw the graph: " + self._error()[:200])
            try:
                if quick:
                    for name, value in _QUICK_ATTRIBUTES:
                        cgraph.agsafeset(graph, name.encode(), value.encode(), b"")
                if gvc.gvLayout(self._context, graph, b"dot") != 0:
                    raise RenderError("Graphviz could not draw the graph: " + self._error()[:200])
                try:
                    data, length = ctypes.c_void_p(), self._length()
                    if gvc.gvRenderData(self._context, graph, b"svg", ctypes.byref(data),
                                        ctypes.byref(length)) != 0 or not data:
                        raise RenderError(
                            "Graphviz could not draw the graph: " + self._error()[:200]
                        )
                    try:
                        return ctypes.string_at(data, length.value).decode()
                    finally:
                        gvc.gvFreeRenderData(data)
                finally:
                    gvc.gvFreeLayout(self._context, graph)
            finally:
                cgraph.agclose(graph)

    def _error(self) -> str:
        return "".join(self._messages).strip() or "unknown error"


# gvRenderData's length argument: ``unsigned int *`` up to Graphviz 12, ``size_t *``
# from 13.0.0 on ("Breaking: gvRenderData takes its length parameter as a size_t *").
# A version past the newest one known here is refused, and the dot program draws.
NEWEST_KNOWN_MAJOR = 14
_VERSION = re.compile(r"(\d+)\.\d+")


def length_type(version: str) -> type[ctypes.c_uint] | type[ctypes.c_size_t]:
    """The C type of gvRenderData's length for a libgvc that says it is ``version``."""
    match = _VERSION.match(version)
    major = int(match[1]) if match else 0
    if not 2 <= major <= NEWEST_KNOWN_MAJOR:
        raise OSError(f"Graphviz's library is version {version!r}, which this binding does not know")
    return ctypes.c_size_t if major >= 13 else ctypes.c_uint


_ERROR_FUNCTION = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p)
_LIBRARY: list[Libgvc | None] = []  # loaded once per process, on first use
_LIBRARY_LOCK = threading.Lock()


def _library() -> Libgvc | None:
    """This process's libgvc, or None where Graphviz's library is not installed."""
    if not _LIBRARY:
        with _LIBRARY_LOCK:
            if not _LIBRARY:
                _LIBRARY.append(load_libgvc())
    return _LIBRARY[0]


def load_libgvc() -> Libgvc | None:
    """Graphviz's library, or None (said once in the log) where it cannot be used."""
    try:
        return Libgvc(_open("gvc", "libgvc.so.6"), _open("cgraph", "libcgraph.so.6"))
    except (OSError, AttributeError) as exc:  # missing, unknown, or without these functions
        log.warning("graphs are laid out by the dot program: Graphviz's library cannot be used (%s)", exc)
        return None


def _open(name: str, soname: str) -> ctypes.CDLL:
    """Debian's soname first (no search); then wherever the system says it is."""
    try:
        return ctypes.CDLL(soname)
    except OSError:
        found = ctypes.util.find_library(name)
        if found is None:
            raise
        return ctypes.CDLL(found)


