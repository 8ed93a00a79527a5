"""The one way out of the hub: every frame for a member goes through :class:`Post`.

Each broadcast is encoded once and the same :class:`Out` is handed to every
recipient.  Consecutive messages to one room (one read from a busy sender can
hold dozens) are held back and handed to each member once, joined, when
anything else is sent or at :meth:`Post.flush`, which the hub calls when it
has taken what a door handed it.  Because nothing leaves the hub any other
way, nobody can see frames out of order, and no door needs to know.

A durable local store (SQLite) writes in the background: once it has taken a
change it has not written yet (:meth:`Post.hold`), every frame handed out
after it waits here, in order, until the store says the change is written
(:meth:`Post.written`).  So nobody hears of a message before it is on disk,
and nothing overtakes it; the stores that need no write never hold anything.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable

from pydantic import BaseModel

from protocol import Error, ErrorCode, Message

from .member import Out
from .roster import Room, Seat

#: Frames held behind unwritten changes (broadcasts count once) before the hub
#: stops reading requests until the store catches up (see :attr:`Post.full`).
HELD_MAX = 20_000

# What waits for a write: (changes taken before it, frames and recipients, or a callback).
_Held = tuple[int, Out | None, tuple[Seat, ...], Callable[[], None] | None]


class Post:
    """Hands frames to members, in order; see the module docstring.

    :attr:`sent` counts the messages handed out (one per message per
    recipient), added once per call, never per recipient.
    """

    __slots__ = ("_frames", "_held", "_messages", "_room", "_taken", "_written", "sent")

    def __init__(self) -> None:
        self._room: Room | None = None
        self._messages: list[BaseModel] = []
        self._frames: list[bytes] = []
        #: Changes a durable store has taken, and how many of them it has written.
        self._taken = 0
        self._written = 0
        self._held: deque[_Held] = deque()
        self.sent = 0

    def message(self, room: Room, message: Message, frame: bytes) -> None:
        """A room message (``frame`` is its encoding): held until something else is sent."""
        if self._room is not room:
            if self._room is not None:
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
        self._messages.clear()
        frames.clear()
        self._deliver(room.members, out)

    def to(self, seat: Seat, out: Out) -> None:
        """``out`` for one member."""
        self.flush()
        self.sent += len(out.messages)
        if self._taken == self._written:
            seat.send(out)
        else:
            self._held.append((self._taken, out, (seat,), None))

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
        members: Collection[Seat] = room.members
        if skip is not None and skip in room.members:
            members = [seat for seat in members if seat is not skip]
        self._deliver(members, Out.of(message))

    def each(self, seats: Iterable[Seat], message: BaseModel) -> None:
        """``message`` for each of ``seats`` (given once each)."""
        self.flush()
        self._deliver(seats if isinstance(seats, Collection) else list(seats), Out.of(message))

    def frame(self, room: Room, frame: bytes, message: BaseModel) -> None:
        """A broadcast already encoded (``frame`` is ``encode(message)``)."""
        self.flush()
        self._deliver(room.members, Out((message,), frame))

    def now(self, seats: Iterable[Seat], message: BaseModel) -> None:
        """``message`` for each of ``seats`` at once, ahead of what waits for a write.

        Only for news about the server itself (the store is unavailable),
        which says nothing about the changes waiting.
        """
        out = Out.of(message)
        count = 0
        for seat in seats:
            seat.send(out)
            count += 1
        self.sent += count

    # --- waiting for a durable store ---------------------------------------------

    def hold(self) -> None:
        """A store took a change it has not written: what is handed out next waits for it.

        A run of room messages not handed out yet waits for it too (it may
        hold the message this change is): later, never out of order.
        """
        self._taken += 1

    def written(self, count: int) -> None:
        """The first ``count`` changes of :meth:`hold` are written: hand out what waited."""
        self.flush()
        self._written = count
        held = self._held
        while held and held[0][0] <= count:
            _, out, seats, then = held.popleft()
            if out is not None:
                for seat in seats:
                    seat.send(out)
            elif then is not None:
                then()

    def after(self, then: Callable[[], None]) -> None:
        """Call ``then`` once everything handed out so far has left (at once if nothing waits)."""
        self.flush()
        if self._taken == self._written:
            then()
        else:
            self._held.append((self._taken, None, (), then))

    @property
    def settled(self) -> bool:
        """Nothing waits for a store's write: all that was decided has been handed out
        (but a run of room messages, until :meth:`flush`)."""
        return self._taken == self._written

    @property
    def full(self) -> bool:
        """So much waits for the store that the hub should stop taking requests."""
        return len(self._held) >= HELD_MAX

    def _deliver(self, seats: Collection[Seat], out: Out) -> None:
        self.sent += len(seats) * len(out.messages)
        if self._taken == self._written:
            for seat in seats:
                seat.send(out)
        else:
            self._held.append((self._taken, out, tuple(seats), None))
