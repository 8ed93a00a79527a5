"""What a door may ask the hub directly, beside the requests of its clients.

A door inside the server sometimes needs an answer that no wire request
gives in its wire's shape: IRC's ``TOPIC #room`` (no argument), ``WHO nick``,
``USERHOST``, ``CHATHISTORY AFTER``, the members a ``TAGMSG`` is relayed
to.  :class:`Queries` is the whole of what a door may read of the hub's
state, and the two things it may do besides :meth:`Hub.receive
<chat_server.hub.Hub.receive>`: send a connection a reply of its own in order
with the hub's (:meth:`Queries.send`) and spend a flood-control token
(:meth:`Queries.spend`).

Everything returned is a snapshot or a :class:`Seat` (the door-facing
record of a connection); a door must not change what it gets, nor keep a
sequence it gets beyond the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protocol import Message, RoomModes, fold

from .context import Context
from .gate import is_op
from .history import Query, select
from .member import Out
from .roster import Seat


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """A room as a door shows it: its spelling, topic, members (every node's) and modes."""

    name: str
    topic: str | None
    nicks: tuple[str, ...]
    #: The newest message's ``seq`` (0 before the first).
    seq: int
    modes: RoomModes
    #: Who set the topic, and when (unix seconds), if known.
    topic_by: str | None = None
    topic_ts: float | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """Messages of a room, oldest first (see :mod:`chat_server.hub.history`)."""

    room: str
    messages: Sequence[Message]


class Queries:
    """Read-only questions about the hub, for doors; built once by the hub."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def epoch(self) -> str:
        """The history's epoch (see ``welcome.epoch``)."""
        return self._ctx.epoch

    def seat(self, nick: str) -> Seat | None:
        """The welcomed connection of this node holding ``nick`` (any case), if any."""
        return self._ctx.roster.seat(nick)

    def holder(self, nick: str) -> Seat | None:
        """The connection of this node holding ``nick``, welcomed or not: also one
        whose rooms are being told it quit, or whose nick a shared store is still
        deciding.  For naming someone (IRC's ``nick!user@host``), not for talking to."""
        return self._ctx.roster.holder(nick)

    def room(self, name: str) -> RoomFacts | None:
        """The room called ``name`` (any case), or ``None`` if it does not exist."""
        room = self._ctx.roster.room(name)
        if room is None:
            return None
        return RoomFacts(
            name=room.name,
            topic=room.topic,
            nicks=tuple(room.nicks()),
            seq=room.seq,
            modes=room.modes,
            topic_by=room.topic_by,
            topic_ts=room.topic_ts,
        )

    def seq(self, name: str) -> int | None:
        """Room ``name``'s newest ``seq`` (0 before its first message), or ``None``
        if it does not exist."""
        room = self._ctx.roster.room(name)
        return None if room is None else room.seq

    def away(self, nick: str) -> str | None:
        """The away text of ``nick`` (any node), or ``None`` if it is not away."""
        return self._ctx.away.get(fold(nick))

    def is_operator(self, seat: Seat) -> bool:
        """Whether ``seat`` is a server operator (``oper``)."""
        return seat.oper

    def is_room_op(self, seat: Seat, name: str) -> bool:
        """Whether ``seat`` may act as an op in room ``name`` (a server operator may)."""
        room = self._ctx.roster.room(name)
        return room is not None and is_op(seat, room)

    def members(self, name: str) -> tuple[Seat, ...]:
        """The connections of this node in room ``name``; empty if there is none."""
        room = self._ctx.roster.room(name)
        return () if room is None else tuple(room.members)

    def page(self, name: str, query: Query) -> Page | None:
        """The page of room ``name``'s kept messages that ``query`` selects, or
        ``None`` if the room does not exist."""
        room = self._ctx.roster.room(name)
        if room is None:
            return None
        return Page(room=room.name, messages=select(room.history, query))

    def send(self, seat: Seat, out: Out) -> None:
        """Hand ``seat`` an ``out`` of the door's own (a reply it words by itself),
        in order with everything the hub hands it: after the room messages it
        holds and whatever waits for a store's write, so no door reply
        overtakes an echo or an earlier answer.  ``seat.send`` gets it in turn."""
        self._ctx.post.to(seat, out)

    def settled(self) -> bool:
        """Whether every answer to the requests taken so far has been handed out:
        a durable store holds no frame back for its write, and no store shared
        by several nodes still has to decide one (with such a store, never)."""
        if self._ctx.store.shared:
            return False
        post = self._ctx.post
        post.flush()
        return post.settled

    def spend(self, seat: Seat) -> bool:
        """Spend one of ``seat``'s flood-control tokens on something the door
        does by itself (IRC's ``TAGMSG`` relay); ``False`` if none is left.

        Unlike a request, a refusal here is neither answered nor counted
        towards a flood: the door drops what it was about to do.
        """
        settings = self._ctx.settings
        return seat.bucket.take(settings.rate, settings.burst, self._ctx.clock())
