"""Rate limiting: a token bucket per client, and which address a client is.

Time is an injected clock that the tests move by hand; nothing here sleeps or
depends on how fast the machine is.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator

import pytest

from autograd_playground.serve.ratelimit import (
    RateLimiter,
    bucket_bytes,
    client_address,
    parse_trusted_proxies,
)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def allowed_in_a_row(limiter: RateLimiter, key: str, attempts: int) -> int:
    """How many of ``attempts`` immediate hits are allowed."""
    return sum(limiter.hit(key) == 0.0 for _ in range(attempts))


# --- The bucket -------------------------------------------------------------


def test_burst_is_allowed_then_refused_with_a_positive_wait():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=5, clock=clock)
    assert [limiter.hit("a") for _ in range(5)] == [0.0] * 5
    wait = limiter.hit("a")
    # 60 a minute is one token a second, and the bucket is empty.
    assert wait == pytest.approx(1.0)


def test_the_wait_shrinks_as_time_passes_and_then_the_request_is_allowed():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, burst=1, clock=clock)  # one token per 10 s
    assert limiter.hit("a") == 0.0
    first = limiter.hit("a")
    assert first == pytest.approx(10.0)
    clock.advance(4.0)
    second = limiter.hit("a")
    assert second == pytest.approx(6.0)
    clock.advance(5.9)
    third = limiter.hit("a")
    assert 0.0 < third < second
    assert third == pytest.approx(0.1)
    clock.advance(third)
    assert limiter.hit("a") == 0.0


@pytest.mark.parametrize("per_minute", [1, 7, 30, 60, 120, 600])
def test_waiting_exactly_the_returned_time_is_enough(per_minute):
    """Float rounding must never make the announced Retry-After a lie."""
    clock = FakeClock()
    limiter = RateLimiter(per_minute=per_minute, burst=1, clock=clock)
    for _ in range(20):
        assert limiter.hit("a") == 0.0
        wait = limiter.hit("a")
        assert wait == pytest.approx(60.0 / per_minute)
        clock.advance(wait)


def test_default_burst_is_per_minute():
    limiter = RateLimiter(per_minute=40, clock=FakeClock())
    assert limiter.burst == 40
    assert allowed_in_a_row(limiter, "classroom", 100) == 40


@pytest.mark.parametrize("per_minute", [6, 60, 90, 600])
def test_the_refill_rate_matches_per_minute(per_minute):
    clock = FakeClock()
    limiter = RateLimiter(per_minute=per_minute, burst=per_minute, clock=clock)
    assert allowed_in_a_row(limiter, "a", per_minute + 5) == per_minute
    # After a minute in steps of one second, exactly per_minute more went through.
    allowed = 0
    for _ in range(60):
        clock.advance(1.0)
        allowed += allowed_in_a_row(limiter, "a", per_minute)
    assert allowed == per_minute


def test_the_bucket_never_holds_more_than_the_burst():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert limiter.hit("a") == 0.0
    clock.advance(3600.0)
    assert allowed_in_a_row(limiter, "a", 10) == 3


def test_refused_hits_take_nothing():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    assert limiter.hit("a") == 0.0
    for _ in range(50):
        clock.advance(0.01)
        assert limiter.hit("a") > 0.0
    clock.advance(0.5)  # 1.0 s since the allowed hit
    assert limiter.hit("a") == 0.0


def test_keys_are_independent():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    assert allowed_in_a_row(limiter, "10.0.0.1", 5) == 2
    assert allowed_in_a_row(limiter, "10.0.0.2", 5) == 2
    assert limiter.hit("10.0.0.1") > 0.0


def test_a_clock_going_backwards_refills_nothing():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    assert limiter.hit("a") == 0.0
    clock.advance(-100.0)
    assert limiter.hit("a") == pytest.approx(1.0)


@pytest.mark.parametrize("per_minute", [0, -1])
def test_zero_or_less_means_unlimited(per_minute):
    limiter = RateLimiter(per_minute=per_minute, clock=FakeClock())
    assert allowed_in_a_row(limiter, "a", 10_000) == 10_000
    assert len(limiter) == 0  # and it remembers nobody


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"per_minute": 60, "burst": 0}, "burst"),
        ({"per_minute": 60, "max_bytes": 0}, "max_bytes"),
    ],
)
def test_nonsense_limits_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RateLimiter(**kwargs)


# --- Bounded memory ----------------------------------------------------------


def test_memory_is_bounded_by_max_bytes():
    clock = FakeClock()
    bound = 10 * bucket_bytes("10.0.000.000")
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock, max_bytes=bound)
    for i in range(1000):
        limiter.hit(f"10.0.{i // 256:03d}.{i % 256:03d}")
        assert limiter.bytes <= bound
    assert len(limiter) == 10 and limiter.bytes == bound


def test_the_limiter_never_holds_more_bytes_than_its_bound():
    import random

    chance = random.Random(7)
    clock = FakeClock()
    bound = 50_000
    limiter = RateLimiter(per_minute=60, burst=5, clock=clock, max_bytes=bound)
    for _ in range(5000):
        key = "k" * chance.randrange(1, 2000)  # addresses that are not IPs may be long
        limiter.hit(key + str(chance.randrange(10_000)))
        clock.advance(chance.random() * 0.01)
        assert 0 < limiter.bytes <= bound
    assert len(limiter) > 1


def test_the_least_recently_used_key_is_evicted_first():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock, max_bytes=2 * bucket_bytes("second"))
    assert limiter.hit("first") == 0.0
    assert limiter.hit("second") == 0.0
    assert limiter.hit("first") > 0.0  # "first" is now the most recently hit
    assert limiter.hit("third") == 0.0  # evicts "second", the least recently hit
    # "first" is still remembered as empty; "second" was forgotten and starts full.
    assert limiter.hit("first") > 0.0
    assert limiter.hit("second") == 0.0


def test_full_buckets_are_forgotten_without_waiting_for_the_bound():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=5, clock=clock)  # full after 5 s
    for i in range(100):
        limiter.hit(f"student-{i}")
    assert len(limiter) == 100
    clock.advance(5.0)
    limiter.hit("latecomer")
    assert len(limiter) == 1


def test_a_bucket_that_is_not_yet_full_is_kept():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=5, clock=clock)
    assert allowed_in_a_row(limiter, "busy", 10) == 5
    clock.advance(4.0)  # four tokens back, not five
    limiter.hit("other")
    assert len(limiter) == 2
    assert allowed_in_a_row(limiter, "busy", 10) == 4


# --- Threads -----------------------------------------------------------------


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can, so that a
    missing lock shows up as lost or extra tokens rather than hiding behind
    the GIL's default 5 ms time slices."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_concurrent_hits_never_allow_more_than_the_burst(eager_thread_switches):
    clock = FakeClock()  # frozen: no token comes back while the threads run
    limiter = RateLimiter(per_minute=600, burst=50, clock=clock)
    threads_count, hits_each = 8, 200
    start = threading.Barrier(threads_count)
    allowed = [0] * threads_count

    def worker(index: int) -> None:
        start.wait()
        allowed[index] = sum(limiter.hit("shared-nat") == 0.0 for _ in range(hits_each))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 50


def test_concurrent_hits_on_many_keys_keep_the_bound_and_every_budget(eager_thread_switches):
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    keys = [f"k{i}" for i in range(40)]
    start = threading.Barrier(8)
    results: list[list[tuple[str, float]]] = [[] for _ in range(8)]

    def worker(index: int) -> None:
        start.wait()
        for _ in range(5):
            for key in keys:
                results[index].append((key, limiter.hit(key)))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allowed_per_key: dict[str, int] = {}
    for key, wait in (item for result in results for item in result):
        allowed_per_key[key] = allowed_per_key.get(key, 0) + (wait == 0.0)
    assert allowed_per_key == {key: 3 for key in keys}


# --- Which address a client is --------------------------------------------


PROXY = "10.0.0.1"
TRUSTED = frozenset({PROXY})


def test_an_untrusted_peer_cannot_choose_its_address_with_the_header():
    assert client_address("203.0.113.7", "198.51.100.1", TRUSTED) == "203.0.113.7"
    assert client_address("203.0.113.7", "198.51.100.1", frozenset()) == "203.0.113.7"


def test_a_trusted_peer_gives_the_rightmost_untrusted_address():
    # The client prepended a spoofed address; our proxy appended the real one.
    header = "1.2.3.4, 198.51.100.23"
    assert client_address(PROXY, header, TRUSTED) == "198.51.100.23"


def test_a_chain_of_trusted_proxies_is_skipped():
    trusted = frozenset({"10.0.0.1", "10.0.0.2", "10.0.0.3"})
    header = "6.6.6.6, 198.51.100.23, 10.0.0.3, 10.0.0.2"
    assert client_address("10.0.0.1", header, trusted) == "198.51.100.23"


def test_a_header_of_only_trusted_proxies_gives_the_peer():
    trusted = frozenset({"10.0.0.1", "10.0.0.2"})
    assert client_address("10.0.0.1", "10.0.0.2", trusted) == "10.0.0.1"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_trusted_peer_without_a_header_is_itself(header):
    assert client_address(PROXY, header, TRUSTED) == PROXY


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # Malformed on the client's side of the real address: never reached.
        ("not-an-ip, 198.51.100.23", "198.51.100.23"),
        ("999.1.1.1,198.51.100.23", "198.51.100.23"),
        # Malformed where our proxies write: we stop there, and do not read on
        # into addresses the client could have written.
        ("6.6.6.6, unknown", PROXY),
        ("6.6.6.6, 198.51.100.23:4711", PROXY),
        ("6.6.6.6, ", PROXY),
        ("6.6.6.6,,", PROXY),
        ("<script>", PROXY),
    ],
)
def test_malformed_entries_are_not_used(header, expected):
    assert client_address(PROXY, header, TRUSTED) == expected


def test_ipv6_addresses_are_compared_and_returned_in_one_form():
    trusted = parse_trusted_proxies("2001:db8::1")
    header = "2001:DB8:0:0:0:0:0:BEEF, 2001:0db8::0001"
    assert client_address("2001:db8:0::1", header, trusted) == "2001:db8::beef"
    # An untrusted IPv6 peer is normalised too, so one client has one key.
    assert client_address("2001:DB8::0:7", "1.2.3.4", trusted) == "2001:db8::7"


def test_ipv4_mapped_ipv6_is_the_ipv4_address():
    assert client_address("::ffff:203.0.113.7", None, frozenset()) == "203.0.113.7"
    trusted = parse_trusted_proxies("10.0.0.1")
    assert client_address("::ffff:10.0.0.1", "198.51.100.23", trusted) == "198.51.100.23"


def test_no_peer_is_unknown_and_a_header_does_not_change_that():
    assert client_address(None, None, TRUSTED) == "unknown"
    assert client_address(None, "198.51.100.23", TRUSTED) == "unknown"


def test_a_peer_that_is_not_an_ip_is_used_as_it_is():
    assert client_address("testclient", "198.51.100.23", TRUSTED) == "testclient"


# --- Parsing the trusted proxies ------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("10.0.0.1", "10.0.0.1"),
        ("10.0.0.2,10.0.0.1", "10.0.0.1,10.0.0.2"),
        (" 10.0.0.1 ,  10.0.0.2\t::1 ", "10.0.0.1,10.0.0.2,::1"),
        ("2001:DB8:0::1, 10.0.0.1,", "10.0.0.1,2001:db8::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("10.42.0.0/16, 10.0.0.7, fd00::/8", "10.0.0.7,10.42.0.0/16,fd00::/8"),
    ],
)
def test_trusted_proxies_are_parsed_and_normalised(value, expected):
    assert str(parse_trusted_proxies(value)) == expected


def test_a_trusted_network_holds_every_address_in_it_and_no_other():
    """Behind an ingress whose pods change addresses, the setting names their network."""
    trusted = parse_trusted_proxies("10.42.0.0/16, 2001:db8:1::/48")
    assert "10.42.0.1" in trusted and "10.42.255.254" in trusted
    assert "::ffff:10.42.3.4" in trusted and "2001:db8:1:ffff::9" in trusted
    assert "10.43.0.1" not in trusted and "2001:db8:2::1" not in trusted
    assert "not an address" not in trusted and "" not in trusted
    header = "6.6.6.6, 198.51.100.23, 10.42.7.7"
    assert client_address("10.42.9.9", header, trusted) == "198.51.100.23"
    assert client_address("10.43.9.9", header, trusted) == "10.43.9.9"


def test_no_proxies_trust_no_one():
    assert not parse_trusted_proxies("") and "127.0.0.1" not in parse_trusted_proxies("")


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ("10.0.0.1, proxy.local", "proxy.local"),
        ("10.0.0.1/8", "10.0.0.1/8"),  # host bits set: a mistyped address, not a network
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("10.0.0.1:8080", "10.0.0.1:8080"),
        ("256.0.0.1", "256.0.0.1"),
        ("::1, 2001:db8:::1", "2001:db8:::1"),
    ],
)
def test_a_malformed_trusted_proxy_is_named(value, bad):
    with pytest.raises(ValueError) as error:
        parse_trusted_proxies(value)
    assert repr(bad) in str(error.value)


def test_retry_after_rounds_up_to_whole_seconds():
    """How the caller turns a wait into a Retry-After header value."""
    clock = FakeClock()
    limiter = RateLimiter(per_minute=7, burst=1, clock=clock)
    limiter.hit("a")
    wait = limiter.hit("a")
    assert math.ceil(wait) == 9  # 60 / 7 = 8.57 s


# --- Weighted routes -----------------------------------------------------------


def test_a_costly_request_takes_its_weight_in_tokens():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=10, clock=clock)
    assert limiter.hit("a", cost=4) == 0.0
    assert limiter.hit("a", cost=4) == 0.0
    # Two tokens left: a request of four waits for two more (two seconds at one a second).
    assert limiter.hit("a", cost=4) == pytest.approx(2.0)
    assert limiter.hit("a", cost=1) == 0.0  # a cheap one still fits
    clock.advance(3.0)
    assert limiter.hit("a", cost=4) == 0.0


def test_a_cost_above_the_burst_counts_as_the_burst():
    limiter = RateLimiter(per_minute=60, burst=3, clock=FakeClock())
    assert limiter.hit("a", cost=50) == 0.0
    assert limiter.hit("a", cost=50) == pytest.approx(3.0)
