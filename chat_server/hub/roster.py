"""Who is here and which rooms exist: the hub's live state, and nothing else.

A :class:`Seat` is one connection as the hub knows it, whatever its door; its
:class:`Phase` says what the hub takes from it, as a table (:data:`TAKES`).
A :class:`Room` holds its members, its newest messages and its ``seq``.  The
:class:`Roster` keeps both, by case-folded name, and decides which empty
room to forget when ``--max-rooms`` is reached.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from protocol import PRE_WELCOME_TYPES, Message, RoomModes, fold

from .limits import Bucket
from .member import Member, Out


class Phase(enum.Enum):
    """Where a connection is in its life, as the hub sees it::

    NEW --hello--> WELCOMED                      (a local store decides at once)
    NEW --hello--> NAMING --claimed--> WELCOMED  (a shared store decides the nick)
                          --refused--> NEW
    WELCOMED --nick--> RENAMING --decided--> WELCOMED   (shared stores only)
    any --disconnect--> GONE
    """

    NEW = "new"
    NAMING = "naming"
    WELCOMED = "welcomed"
    RENAMING = "renaming"
    GONE = "gone"

    # Members are singletons: hash them by identity, in C (Enum's own hash is
    # Python code, and the hub looks a phase up for every request).
    __hash__ = object.__hash__


#: The request types the hub takes in each phase (``None``: every type but ``hello``).
#: In NAMING and RENAMING the store is deciding a nick: the door holds everything back.
TAKES: dict[Phase, frozenset[str] | None] = {
    Phase.NEW: PRE_WELCOME_TYPES,
    Phase.NAMING: frozenset(),
    Phase.WELCOMED: None,
    Phase.RENAMING: frozenset(),
    Phase.GONE: frozenset(),
}
#: The phases in which the hub takes nothing, and those past ``welcome`` (tuples: the
#: hot path tests membership by identity).
WAITING = tuple(phase for phase, takes in TAKES.items() if takes == frozenset())
WELCOMED = (Phase.WELCOMED, Phase.RENAMING)


@dataclass(eq=False, slots=True)
class Seat:
    """One admitted connection: its door's :class:`Member` and what the hub keeps of it."""

    member: Member
    #: ``member.send``, looked up once: the fan-out calls it for every recipient.
    send: Callable[[Out], None]
    address: str
    #: Which door it came through: ``native``, ``irc``, ...
    via: str
    #: Wall-clock time of the connection.
    since: float
    bucket: Bucket
    nick: str | None = None
    phase: Phase = Phase.NEW
    #: Rooms joined, by folded name.
    rooms: dict[str, Room] = field(default_factory=dict)
    #: A server operator (``oper``): an op in every room, and may ``kill`` and ``notice``.
    oper: bool = False
    #: Wall-clock time of the last ``say`` or ``whisper`` (``whois`` idle); 0 = none yet.
    active: float = 0.0
    #: Too much output waits for the store: the hub takes nothing from it for now.
    stalled: bool = False

    @property
    def welcomed(self) -> bool:
        """Past ``welcome``: requests are parsed as a welcomed client's."""
        return self.phase in WELCOMED

    @property
    def waiting(self) -> bool:
        """The hub takes nothing now; the member hears :meth:`Member.resume` when it does."""
        return self.stalled or self.phase in WAITING


@dataclass(eq=False, slots=True)
class Room:
    name: str
    history: deque[Message]
    members: dict[Seat, None] = field(default_factory=dict)
    topic: str | None = None
    seq: int = 0
    #: When it was last used, as a count of uses: the oldest empty room goes first.
    active: int = 0
    #: Members connected to other nodes, by folded nick (shared stores only).
    remote: dict[str, str] = field(default_factory=dict)
    topic_by: str | None = None
    topic_ts: float | None = None
    # Moderation, by folded nick; held by members: forgotten when the room empties.
    ops: dict[str, str] = field(default_factory=dict)
    voiced: dict[str, str] = field(default_factory=dict)
    modes: RoomModes = field(default_factory=RoomModes)
    #: Muted nicks: until when (wall clock), or ``None`` until lifted.
    mutes: dict[str, float | None] = field(default_factory=dict)
    #: Invited nicks: until when (wall clock) the invitation holds.
    invites: dict[str, float] = field(default_factory=dict)

    def nicks(self) -> list[str]:
        local = [seat.nick for seat in self.members if seat.nick is not None]
        return [*local, *self.remote.values()] if self.remote else local

    def size(self) -> int:
        return len(self.members) + len(self.remote)

    def unused(self) -> bool:
        """A room exists while it has members (here or elsewhere) or history."""
        return not self.members and not self.history and not self.remote

    def departed(self, key: str) -> None:
        """The member with folded nick ``key`` is gone (call after removing it).

        It loses op and voice here; once nobody is left, the room forgets its
        ops, voices, modes, mutes and invites (bans and history stay).
        """
        self.ops.pop(key, None)
        self.voiced.pop(key, None)
        if not self.members and not self.remote:
            self.ops.clear()
            self.voiced.clear()
            self.mutes.clear()
            self.invites.clear()
            self.modes = RoomModes()

    def renamed(self, old: str, new: str) -> None:
        """A member's nick changed from ``old`` to ``new``: op and voice go with it.

        A mute is by nick: it stays on ``old`` and also holds for ``new``, so a
        new nick is no way out of it.
        """
        for ranks in (self.ops, self.voiced):
            if ranks.pop(fold(old), None) is not None:
                ranks[fold(new)] = new
        if fold(old) in self.mutes and fold(new) != fold(old):
            self.mutes[fold(new)] = self.mutes[fold(old)]


class Roster:
    """Rooms by folded name, welcomed seats by folded nick, and every admitted seat."""

    def __init__(self, history: int) -> None:
        self.history = history
        self.rooms: dict[str, Room] = {}
        self.nicks: dict[str, Seat] = {}
        #: Every admitted connection, welcomed or not, in order of arrival.
        self.seats: dict[Seat, None] = {}
        self._activity = 0

    def room(self, name: str) -> Room | None:
        return self.rooms.get(fold(name))

    def seat(self, nick: str) -> Seat | None:
        """The welcomed seat holding ``nick`` on this node, in any case.

        A seat whose nick a shared store is still deciding is nobody yet: what is
        meant for that nick belongs to whoever holds it elsewhere.
        """
        seat = self.nicks.get(fold(nick))
        return seat if seat is not None and seat.welcomed else None

    def holder(self, nick: str) -> Seat | None:
        """The seat holding ``nick`` on this node, welcomed or waiting for the store."""
        return self.nicks.get(fold(nick))

    def add_room(self, name: str) -> Room:
        """A new, empty room called ``name`` (the caller checked it does not exist)."""
        room = Room(name=name, history=deque(maxlen=self.history))
        self.rooms[fold(name)] = room
        return room

    def touch(self, room: Room) -> None:
        self._activity += 1
        room.active = self._activity

    def oldest_empty(self) -> Room | None:
        """The room with no members that was used least recently, if there is one."""
        empty = [room for room in self.rooms.values() if not room.size()]
        return min(empty, key=lambda room: room.active) if empty else None

    def drop(self, room: Room) -> None:
        """Forget ``room``, history and all."""
        self.rooms.pop(fold(room.name), None)

    def forget_if_unused(self, room: Room) -> bool:
        """Drop ``room`` if nothing keeps it; returns whether it was dropped."""
        if not room.unused():
            return False
        self.drop(room)
        return True

    def sharing(self, seat: Seat) -> Iterable[Seat]:
        """``seat`` and everyone who shares a room with it, once each."""
        seen: dict[Seat, None] = {seat: None}
        for room in seat.rooms.values():
            seen.update(room.members)
        return seen

    def welcomed(self) -> Iterable[Seat]:
        return (seat for seat in self.nicks.values() if seat.welcomed)
