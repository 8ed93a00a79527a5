"""What a connection's requests asked, so that the hub's answers are worded for them.

The hub answers a connection's requests in order, but not always while the
door is handing them over: a durable store (SQLite) holds frames back until
its write, and a cluster (Redis) answers some requests once the store has.
So the door never relies on "the request being handled now".  Instead:

- every request carries an ``id`` (the native correlation id; an ``error``
  echoes it), and an error finds the :class:`~.asked.Asked` of its request by
  it;
- the requests answered by exactly one reply (:data:`ANSWERED_ONCE`: ``who``
  for ``NAMES`` or ``WHO``, ``list``, ``invite``, ``whois``, ``bans``) also
  queue what they asked, per type, and each reply takes the oldest.

The ids of the other requests are forgotten once the hub has handed out all
it decided (:meth:`Ledger.settle`; on a cluster that is never known, and only
the bound holds), and at most :data:`LIMIT` are kept.  Whispers are kept
apart until their echo or refusal: a cluster answers them late.
"""

from __future__ import annotations

from collections import deque

from protocol import Error, MessageError

from ...hub import Request
from .asked import Asked

#: Request types answered by exactly one reply to the requester, or an error.
ANSWERED_ONCE = frozenset({"who", "list", "invite", "whois", "bans"})
#: Requests remembered at most, per kind, per connection.
LIMIT = 64


class Ledger:
    """The requests of one connection still waiting for their answer; see the module."""

    __slots__ = ("_by_id", "_queues", "_whispers")

    def __init__(self) -> None:
        self._by_id: dict[str, Asked] | None = None
        self._whispers: dict[str, Asked] | None = None
        self._queues: dict[str, deque[Asked]] | None = None

    def note(self, request: Request, asked: Asked) -> None:
        """``request`` goes to the hub for the command described by ``asked``."""
        if isinstance(request, MessageError):
            kind, message_id = request.ref, request.id
        else:
            kind, message_id = request.type, request.id
        if message_id is not None:
            if kind == "whisper":
                self._whispers = _remember(self._whispers, message_id, asked)
            else:
                self._by_id = _remember(self._by_id, message_id, asked)
        if kind in ANSWERED_ONCE and not isinstance(request, MessageError):
            queues = self._queues
            if queues is None:
                queues = self._queues = {}
            queue = queues.get(kind)
            if queue is None:
                queue = queues[kind] = deque(maxlen=LIMIT)
            queue.append(asked)

    def error(self, error: Error) -> Asked | None:
        """What the request refused by ``error`` asked, if it is known."""
        message_id = error.id
        asked = None
        if message_id is not None:
            if self._by_id is not None:
                asked = self._by_id.pop(message_id, None)
            if asked is None and self._whispers is not None:
                asked = self._whispers.pop(message_id, None)
        kind = error.ref
        if kind in ANSWERED_ONCE and self._queues is not None:
            queue = self._queues.get(kind)
            if queue and (asked is None or queue[0] is asked):
                asked = queue.popleft()
        return asked

    def reply(self, kind: str) -> Asked | None:
        """What the oldest request of ``kind`` (of :data:`ANSWERED_ONCE`) asked."""
        queue = self._queues.get(kind) if self._queues is not None else None
        return queue.popleft() if queue else None

    def echoed(self, message_id: str | None) -> None:
        """A whisper of ours came back: it was not refused."""
        if message_id is not None and self._whispers is not None:
            self._whispers.pop(message_id, None)

    def settle(self) -> None:
        """The hub has handed out all it decided: no error can come for those ids."""
        self._by_id = None


def _remember(table: dict[str, Asked] | None, key: str, asked: Asked) -> dict[str, Asked]:
    if table is None:
        table = {}
    table[key] = asked
    if len(table) > LIMIT:
        del table[next(iter(table))]
    return table
