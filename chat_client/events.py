"""What a :class:`~chat_client.reconnect.Connection` tells its owner.

Each event is a small frozen dataclass handed to the ``on_event`` callback, in
the order things happened.  A lifetime reads like::

    Connected(again=False)  Incoming...  Disconnected  Retrying...
    Connected(again=True)   Incoming...  ...           (GaveUp: the end)

On ``Connected(again=True)`` the owner must re-join its rooms: the server
joins nobody by itself.  Server pings are answered by the connection and
never reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import ServerMessage, Welcome

__all__ = ["Connected", "Disconnected", "Event", "GaveUp", "Incoming", "Retrying"]


@dataclass(frozen=True)
class Connected:
    """Welcomed; ``again`` is true after a reconnect (re-join the rooms now)."""

    welcome: Welcome
    again: bool


@dataclass(frozen=True)
class Incoming:
    """A message from the server (pings are answered and not reported)."""

    message: ServerMessage


@dataclass(frozen=True)
class Disconnected:
    """The connection ended; ``reason`` is one line for people (unsanitised)."""

    reason: str


@dataclass(frozen=True)
class Retrying:
    """Waiting ``delay`` seconds before attempt number ``attempt``.

    ``error`` says why the previous attempt failed (empty before the first).
    """

    delay: float
    attempt: int
    error: str


@dataclass(frozen=True)
class GaveUp:
    """The server refused us for good (say, the password changed)."""

    reason: str


Event = Connected | Incoming | Disconnected | Retrying | GaveUp
