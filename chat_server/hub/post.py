"""The one way out of the hub: every frame for a member goes through :class:`Post`.

Each broadcast is encoded once and the same :class:`Out` is handed to every
recipient.  Consecutive messages to one room (one read from a busy sender can
hold dozens) are held back and handed to each member once, joined, when
anything else is sent or at :meth:`Post.flush`, which the hub calls when it
has taken what a door handed it.  Because nothing leaves the hub any other
way, nobody can see frames out of order, and no door needs to know.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from protocol import Error, ErrorCode, Message

from .member import Out
from .roster import Room, Seat


class Post:
    """Hands frames to members, in order; see the module docstring.

    :attr:`sent` counts the messages handed out (one per message per
    recipient), added once per call, never per recipient.
    """

    __slots__ = ("_frames", "_messages", "_room", "sent")

    def __init__(self) -> None:
        self._room: Room | None = None
        self._messages: list[BaseModel] = []
        self._frames: list[bytes] = []
        self.sent = 0

    def message(self, room: Room, message: Message, frame: bytes) -> None:
        """A room message (``frame`` is its encoding): held until something else is sent."""
        if self._room is not room:
            self.flush()
            self._room = room
        self._messages.append(message)
        self._frames.append(frame)

    def flush(self) -> None:
        """Hand out the held room messages, one :class:`Out` for the whole run."""
        room = self._room
        if room is None:
            return
        self._room = None
        frames = self._frames
        out = Out(tuple(self._messages), frames[0] if len(frames) == 1 else b"".join(frames))
        self.sent += len(self._messages) * len(room.members)
        self._messages.clear()
        frames.clear()
        for seat in room.members:
            seat.send(out)

    def to(self, seat: Seat, out: Out) -> None:
        """``out`` for one member."""
        self.flush()
        self.sent += len(out.messages)
        seat.send(out)

    def reply(self, seat: Seat, message: BaseModel) -> None:
        self.to(seat, Out.of(message))

    def error(self, seat: Seat, code: ErrorCode, text: str, cause: BaseModel | None = None) -> None:
        """An ``error``; with a ``cause`` it names the request's type and echoes its ``id``."""
        ref = getattr(cause, "type", None)
        msg_id = getattr(cause, "id", None)
        self.reply(seat, Error(code=code, message=text, ref=ref, id=msg_id))

    def room(self, room: Room, message: BaseModel, skip: Seat | None = None) -> None:
        """``message`` for every member of ``room`` (but ``skip``)."""
        self.flush()
        out = Out.of(message)
        self.sent += len(room.members) - (skip is not None and skip in room.members)
        for seat in room.members:
            if seat is not skip:
                seat.send(out)

    def each(self, seats: Iterable[Seat], message: BaseModel) -> None:
        """``message`` for each of ``seats`` (given once each)."""
        self.flush()
        out = Out.of(message)
        count = 0
        for seat in seats:
            seat.send(out)
            count += 1
        self.sent += count

    def frame(self, room: Room, frame: bytes, message: BaseModel) -> None:
        """A broadcast already encoded (``frame`` is ``encode(message)``)."""
        self.flush()
        out = Out((message,), frame)
        self.sent += len(room.members)
        for seat in room.members:
            seat.send(out)
