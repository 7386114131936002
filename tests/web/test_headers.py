"""Accept-style headers are read by one function, for gzip and for languages alike."""

from __future__ import annotations

import pytest

from autograd_playground.web import i18n
from autograd_playground.web.headers import accepted, accepts_gzip


def test_q_zero_refuses_an_item():
    assert accepted("gzip;q=0, br") == ["br"]
    assert accepted("de;q=0.0, en;q=0.000") == []
    # Wherever q stands among the item's parameters.
    assert not accepts_gzip("gzip;level=1;q=0")
    assert i18n.preferred("de;level=1;q=0, en") == ["en"]


@pytest.mark.parametrize("q", ["high", "", "2", "-1", "nan"])
def test_a_q_that_is_not_a_weight_refuses_an_item(q):
    assert accepted(f"gzip;q={q}") == []
    assert not accepts_gzip(f"gzip;q={q}")
    assert i18n.preferred(f"de;q={q}") == []


def test_the_highest_q_comes_first():
    assert accepted("de;q=0.5, fr;q=0.9, en") == ["en", "fr", "de"]
    assert i18n.preferred("de;q=0.5, en;q=0.9") == ["en", "de"]
    # A refused x-gzip does not refuse the gzip the client also offers.
    assert accepts_gzip("x-gzip;q=0, gzip;q=0.5")


def test_ties_keep_the_headers_order():
    assert accepted("de;q=0.7, fr, en;q=0.7, it") == ["fr", "it", "de", "en"]
    assert i18n.negotiate(None, "en;q=0.8, de;q=0.8") == "en"
    assert i18n.negotiate(None, "de;q=0.8, en;q=0.8") == "de"


def test_names_are_lowercased_and_the_wildcard_is_the_callers():
    assert accepted("GZIP, *;q=0.1") == ["gzip", "*"]
    assert accepts_gzip("GZip")
    assert not accepts_gzip("*")  # as before: gzip is sent only where named
    assert i18n.preferred("*, de") == ["de"]
