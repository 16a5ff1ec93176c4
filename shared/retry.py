"""How long to wait before trying again, for every loop that retries (consumers, relays,
notify's deliveries and its database writes): one rule, so an outage is waited out the
same way everywhere."""

from __future__ import annotations

import random

# 2 ** 30 times any base is beyond every cap in use; the exponent stops there so that a
# failure counter that grows through a long outage never overflows a float.
_MAX_DOUBLINGS = 30


def backoff(
    attempt: int, *, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """Seconds before attempt `attempt + 1` (the first retry follows attempt 1):
    exponential from `base_s`, capped at `cap_s`, with jitter in [50%, 100%] so that
    what failed in one outage does not retry in lockstep."""
    u = (rng or random).random()
    raw = min(cap_s, base_s * 2.0 ** min(max(0, attempt - 1), _MAX_DOUBLINGS))
    return float(raw * (0.5 + u / 2))
