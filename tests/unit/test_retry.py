"""The one retry rule every loop follows."""

from __future__ import annotations

import random

from shared.retry import backoff


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    delays = [backoff(n, base_s=30, cap_s=600, rng=rng) for n in range(1, 10)]
    assert 15 <= delays[0] <= 30
    assert 30 <= delays[1] <= 60
    assert all(300 <= d <= 600 for d in delays[5:])
    assert len(set(delays)) == len(delays)


def test_a_failure_count_from_a_long_outage_stays_at_the_cap() -> None:
    # A consumer retrying every few seconds through a day's outage counts ~20,000.
    assert 2.5 <= backoff(20_000, base_s=0.1, cap_s=5.0) <= 5.0
    assert 0.05 <= backoff(0, base_s=0.1, cap_s=5.0) <= 0.1
