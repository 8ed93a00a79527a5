"""Joins and leaves paced to the server's rate limit, so none is refused.

A server charges one token of its bucket (``welcome.burst`` tokens, refilled
at ``welcome.rate`` a second) for every ``join`` and ``leave``.  A client in
more rooms than ``burst`` that re-joins them all after a reconnect would see
the last ones refused with ``rate_limited``; :class:`Pacer` keeps a copy of
the server's bucket and holds back what would not find a token, sending it
when one is back.  If the server refuses one anyway (the user's own messages
spent tokens too), :meth:`Pacer.refused` puts it back in front.  Without
limits from the server (an older one, or ``rate`` 0) nothing waits.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from protocol import Join, Leave

__all__ = ["Pacer"]

Later = Callable[[float, Callable[[], None]], Any]
#: Refill a little slower than the server does: the two clocks are not one.
MARGIN = 0.9
#: Ids of paced requests remembered, so a refusal can be matched to its request.
REMEMBERED = 256


def _call_later(delay: float, callback: Callable[[], None]) -> Any:
    return asyncio.get_running_loop().call_later(delay, callback)


class Pacer:
    """Sends ``join`` and ``leave`` through ``send`` no faster than the server allows.

    ``clock`` is monotonic seconds; ``later(delay, callback)`` schedules a
    callback (the running loop's ``call_later`` by default).
    """

    def __init__(
        self,
        send: Callable[[Join | Leave], bool],
        clock: Callable[[], float],
        later: Later = _call_later,
    ) -> None:
        self._send = send
        self._clock = clock
        self._later = later
        self._rate = 0.0
        self._burst = 0.0
        self._tokens = 0.0
        self._refilled = 0.0
        self._queue: deque[Join | Leave] = deque()
        self._timer: Any = None
        self._ids = itertools.count(1)
        self._sent: OrderedDict[str, Join | Leave] = OrderedDict()

    @property
    def waiting(self) -> int:
        """Requests held back for now."""
        return len(self._queue)

    def limits(self, rate: float | None, burst: int | None) -> None:
        """The server's limits, from a new ``welcome``: its bucket starts full."""
        self._rate = (rate or 0.0) * MARGIN
        self._burst = float(burst or 0)
        self._tokens = self._burst
        self._refilled = self._clock()

    def send(self, request: Join | Leave) -> bool:
        """Send ``request`` now, or once a token is back; ``False`` if ``send`` failed."""
        if not self._paced():
            return self._send(request)
        request = request.model_copy(update={"id": f"p{next(self._ids)}"})
        self._queue.append(request)
        return self._drain()

    def refused(self, request_id: str | None) -> bool:
        """The server refused the paced request ``request_id`` (``rate_limited``): it goes
        first again.  Returns whether the id was one of ours."""
        request = self._sent.pop(request_id or "", None)
        if request is None:
            return False
        self._tokens = 0.0
        self._refilled = self._clock()
        self._queue.appendleft(request)
        self._schedule()
        return True

    def clear(self) -> None:
        """Forget what waits (the connection is gone; the owner re-joins after a reconnect)."""
        self._queue.clear()
        self._sent.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _paced(self) -> bool:
        return self._rate > 0 and self._burst > 0

    def _drain(self) -> bool:
        ok = True
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        while self._queue and self._tokens >= 1.0:
            request = self._queue.popleft()
            self._tokens -= 1.0
            assert request.id is not None
            self._sent[request.id] = request
            while len(self._sent) > REMEMBERED:
                self._sent.popitem(last=False)
            ok = self._send(request) and ok
        self._schedule()
        return ok

    def _schedule(self) -> None:
        if not self._queue or self._timer is not None:
            return
        wait = max(0.0, (1.0 - self._tokens) / self._rate)
        self._timer = self._later(wait, self._wake)

    def _wake(self) -> None:
        self._timer = None
        self._drain()
