"""Flood control: one token bucket per connection, whatever its door.

A request that changes state costs one token (:data:`protocol.RATED_TYPES`);
the bucket holds ``burst`` tokens and refills at ``rate`` a second.  A request
that finds none is dropped and answered ``rate_limited``; a connection with
more than ``2 x burst`` drops within :data:`FLOOD_WINDOW` seconds is cut off.
"""

from __future__ import annotations

from collections import deque

#: Seconds over which dropped requests are counted towards a flood.
FLOOD_WINDOW = 10.0


class Bucket:
    """The tokens of one connection; the clock is the caller's (monotonic seconds)."""

    __slots__ = ("_drops", "_refilled", "_tokens")

    def __init__(self, burst: int, now: float) -> None:
        self._tokens = float(burst)
        self._refilled = now
        self._drops: deque[float] | None = None  # made on the first drop

    def take(self, rate: float, burst: int, now: float) -> bool:
        """Spend one token if there is one; ``rate`` 0 means no limit."""
        if rate == 0:
            return True
        self._tokens = min(float(burst), self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def flooding(self, burst: int, now: float) -> bool:
        """Count one dropped request; ``True`` once the drops make a flood."""
        if self._drops is None:
            self._drops = deque()
        drops = self._drops
        drops.append(now)
        while drops[0] <= now - FLOOD_WINDOW:
            drops.popleft()
        return len(drops) > 2 * burst
