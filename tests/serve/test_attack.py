"""Done when: one student's slow programs and a flood of unique cached pages leave another
student every answer, and /healthz answering (bench/attack.py measures the latency)."""

from __future__ import annotations

from bench.attack import play, server


def test_a_bystander_gets_every_answer_under_both_attacks() -> None:
    with server() as running:
        tallies = play(running.url, slow_each=6, pages_each=30, fresh=20, after_slow=12)
        log = running.tail()
    bystander, healthz = tallies["bystander"].statuses, tallies["healthz"].statuses
    assert bystander == {200: 20}, (bystander, log)
    assert set(healthz) == {200} and healthz[200] >= 1, healthz
    # Both attacks were played: 24 slow programs and 240 pages, each answered somehow.
    assert sum(tallies["slow"].statuses.values()) == 24
    assert sum(tallies["pages"].statuses.values()) == 240
    # The slow client was answered, stopped at the limit (422) or refused past its
    # share (503): never a server error.
    assert set(tallies["slow"].statuses) <= {200, 422, 503}, tallies["slow"].statuses
