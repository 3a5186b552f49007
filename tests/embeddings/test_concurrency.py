"""The client's limit on requests in flight: halved once per throttled round, regained one by
one, and a slot held for one attempt at a time."""

from __future__ import annotations

import threading
import time

from embeddings.retrying import AdaptiveLimit


def test_throttles_from_one_round_halve_the_limit_once() -> None:
    limit = AdaptiveLimit(8)
    with limit.slot() as first, limit.slot() as second, limit.slot() as third:
        for generation in (first, second, third):
            limit.throttled(generation)

    assert limit.limit == 4


def test_a_throttle_in_the_next_round_halves_it_again() -> None:
    limit = AdaptiveLimit(8)
    with limit.slot() as generation:
        limit.throttled(generation)
    with limit.slot() as generation:
        limit.throttled(generation)

    assert limit.limit == 2


def test_successes_raise_the_limit_one_at_a_time_up_to_the_ceiling() -> None:
    limit = AdaptiveLimit(4)
    with limit.slot() as generation:
        limit.throttled(generation)
    assert limit.limit == 2

    seen = []
    for _ in range(20):
        limit.succeeded()
        seen.append(limit.limit)

    assert seen[:5] == [2, 3, 3, 3, 4]
    assert max(seen) == 4


def test_no_more_than_the_limit_hold_a_slot() -> None:
    limit = AdaptiveLimit(3)
    with limit.slot() as generation:
        limit.throttled(generation)  # down to 1
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with limit.slot():
            holding.set()
            release.wait(5)

    first = threading.Thread(target=hold)
    first.start()
    holding.wait(5)
    second_in = threading.Event()

    def take() -> None:
        with limit.slot():
            second_in.set()

    second = threading.Thread(target=take)
    second.start()
    time.sleep(0.3)

    assert not second_in.is_set()
    assert limit.in_flight == 1
    release.set()
    first.join(5)
    second.join(5)
    assert second_in.is_set()
