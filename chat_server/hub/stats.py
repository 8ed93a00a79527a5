"""Counters for the admin socket's ``stats``: cheap enough to keep on the hot path.

Each is an integer the hub or a door adds to once per read, per round or per
event (never a lookup or an allocation per delivery); what can be counted when
asked (connections per door, rooms) is not counted here at all, and messages
out are counted where they leave, by :class:`~chat_server.hub.post.Post`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: ``bye`` reasons counted as drops, by the name ``stats`` shows them under.
DROP_REASONS: dict[str, str] = {
    "rate_limited": "rate",
    "sendq_exceeded": "sendq",
    "ping_timeout": "ping",
    "killed": "kills",
}


@dataclass(slots=True)
class Stats:
    """What the server has done since ``started`` (monotonic seconds)."""

    started: float
    #: Requests taken from clients (every door), valid or not.
    received: int = 0
    #: Connections closed by the server, by :data:`DROP_REASONS` name.
    drops: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS.values(), 0))

    def dropped(self, reason: str) -> None:
        """A connection was closed with ``bye`` ``reason``; counted if it is a drop."""
        name = DROP_REASONS.get(reason)
        if name is not None:
            self.drops[name] += 1
