"""What a door provides to the hub, and what the hub hands it.

A door (the native protocol over TCP, IRC, ...) turns its wire into hub calls
and hub output into its wire.  The only thing the hub needs of a connection
is a :class:`Member`; everything it sends a member is an :class:`Out`.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from protocol import Error, encode


class Out:
    """Server messages for one or more members, with their native frames encoded once.

    ``frame`` is the length-prefixed JSON of every message in ``messages``,
    joined: a door speaking the native protocol writes it as it is.  A door
    speaking another wire renders ``messages`` itself, and may keep what it
    rendered in :attr:`memo` so that the other recipients of the same
    :class:`Out` (a broadcast) reuse it.
    """

    __slots__ = ("frame", "memo", "messages")

    def __init__(self, messages: tuple[BaseModel, ...], frame: bytes) -> None:
        self.messages = messages
        self.frame = frame
        self.memo: dict[object, object] | None = None

    @classmethod
    def of(cls, message: BaseModel) -> Out:
        """One message, encoded now."""
        return cls((message,), encode(message))


class Member(Protocol):
    """One connection as the hub sees it; each door implements this.

    The door registers the connection with :meth:`Hub.admit`, hands it
    requests with :meth:`Hub.receive` and calls :meth:`Hub.disconnect`
    exactly once when the connection ends, whoever ended it.
    """

    def send(self, out: Out) -> None:
        """Queue ``out`` for this connection; must neither block nor raise.

        How and when the bytes reach the socket is the door's business.
        """

    def close(
        self, reason: str, *, error: Error | None = None, announce: str | None = None
    ) -> None:
        """End the connection: ``error`` (if any), then ``bye`` with ``reason``.

        ``announce`` is what the member's rooms are told (``presence`` ``quit``),
        ``reason`` by default.  Does nothing if the connection is already closing.
        """

    def resume(self) -> None:
        """The hub takes requests again after a wait (a nick the store decided).

        While :attr:`Seat.waiting` is true the door hands the hub nothing and
        should stop reading; then it hands over what it held back, in order.
        """
