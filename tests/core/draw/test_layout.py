"""core.draw.layout: the libgvc binding knows which Graphviz it is talking to."""

from __future__ import annotations

import ctypes
import logging

import pytest

from autograd_playground.core.draw import layout


class Function:
    """A C function as ctypes shows it: argtypes and restype to set, and a result."""

    def __init__(self, result: object = 0) -> None:
        self.result = result
        self.argtypes: list | None = None
        self.restype: object = None

    def __call__(self, *args: object) -> object:
        return self.result


class Library:
    """libgvc and libcgraph as seen through ctypes, saying they are ``version``."""

    def __init__(self, version: bytes) -> None:
        self.gvContext = Function(1)
        self.gvcVersion = Function(version)
        for name in ("gvLayout", "gvRenderData", "gvFreeRenderData", "gvFreeLayout",
                     "agmemread", "agclose", "agsafeset", "agseterrf"):
            setattr(self, name, Function())


def length_argument(library: Library) -> object:
    return library.gvRenderData.argtypes[-1]


@pytest.mark.parametrize(
    ("version", "length"),
    [("2.42.2", ctypes.c_uint), ("2.43.0", ctypes.c_uint), ("12.2.1", ctypes.c_uint),
     ("13.0.0", ctypes.c_size_t), ("14.1.2", ctypes.c_size_t)],
)
def test_the_length_argument_follows_the_version(version: str, length: type) -> None:
    stub = Library(version.encode())
    bound = layout.Libgvc(stub, stub)  # type: ignore[arg-type]
    assert bound.version == version
    assert length_argument(stub) == ctypes.POINTER(length)


@pytest.mark.parametrize("version", [b"15.0.0", b"1.0", b"", b"graphviz"])
def test_an_unknown_version_is_refused(version: bytes) -> None:
    stub = Library(version)
    with pytest.raises(OSError, match="does not know"):
        layout.Libgvc(stub, stub)  # type: ignore[arg-type]
    assert stub.gvRenderData.argtypes is None  # never bound with a guessed signature


def test_an_unknown_library_falls_back_to_dot_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(layout, "_open", lambda name, soname: Library(b"99.0.0"))
    monkeypatch.setattr(layout, "_LIBRARY", [])
    with caplog.at_level(logging.WARNING, logger=layout.__name__):
        svg = layout.layout("digraph { a -> b }")

    assert layout._library() is None
    assert "<svg" in svg and ">a</text>" in svg  # drawn by the dot program
    assert [r.getMessage() for r in caplog.records if "dot program" in r.getMessage()]
    assert "99.0.0" in caplog.text


def test_this_machine_s_library_is_bound_to_its_own_signature() -> None:
    # The process's own binding: a second one would take over Graphviz's error
    # function, and leave it dangling once collected.
    library = layout._library()
    if library is None:
        pytest.fail("Graphviz's library (libgvc) is installed by make setup; it did not load")
    major = int(library.version.split(".")[0])
    assert library._length is (ctypes.c_size_t if major >= 13 else ctypes.c_uint)
    assert "<svg" in library.layout("digraph { a -> b }")
