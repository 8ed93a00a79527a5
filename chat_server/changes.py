"""What the hub and a store tell each other: the boundary between them.

The hub keeps the live state (rooms, members, the newest messages) in memory
and hands every lasting change to a :class:`Store` as a small, typed
:data:`Change`.  There are two kinds of store:

- A *local* store (``shared = False``: memory, SQLite) keeps what one process
  decided.  The hub assigns ``seq``, applies the change at once, and calls
  :meth:`Store.record` so the change outlives the process.  A local store
  that writes in the background (SQLite) calls :meth:`Feed.held` for each
  change it takes and :meth:`Feed.written` once changes are written: the hub
  hands nothing out in between (group commit, as a database acknowledges a
  transaction after its log record is written).
- A *shared* store (``shared = True``: Redis) is where several processes
  agree.  The hub does not apply a change itself: it calls
  :meth:`Store.record`, and the store hands the change back, in the one order
  every node sees, through :meth:`Feed.apply` (with ``seq`` filled in).

Every method that may wait is a coroutine; :meth:`Store.record` never waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from protocol import BanEntry, Message, Notice, WhisperMessage, fold


class StoreError(Exception):
    """The store cannot be used; the message is one line for people."""


class StoreUnavailable(StoreError):
    """The store is unreachable (at start: the server exits 2 with this message)."""


# --- changes ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Posted:
    """A ``message``; a shared store replaces ``seq`` (0 when submitted).

    ``frame`` is the message's native frame when the store hands over the
    bytes it was given (so nobody encodes it again); empty otherwise.
    """

    message: Message
    frame: bytes = b""


@dataclass(frozen=True, slots=True)
class TopicSet:
    room: str
    topic: str | None
    by: str
    #: When it was set (unix seconds); ``None`` from a store that did not keep it.
    ts: float | None = None


@dataclass(frozen=True, slots=True)
class Forgotten:
    """A room was dropped, history and all (``--max-rooms``, or nothing left in it)."""

    room: str


@dataclass(frozen=True, slots=True)
class Entered:
    room: str
    nick: str


@dataclass(frozen=True, slots=True)
class Departed:
    """``nick`` left ``room`` (``event="leave"``)."""

    room: str
    nick: str
    event: Literal["leave"] = "leave"


@dataclass(frozen=True, slots=True)
class Quit:
    """``nick`` is gone from the server: every room in ``rooms`` hears ``reason``."""

    nick: str
    reason: str
    rooms: tuple[str, ...] = ()
    #: The node ``nick`` was connected to, if a store says (shared stores only).
    owner: str = ""


@dataclass(frozen=True, slots=True)
class Renamed:
    """``old`` is now ``new``, a member of ``rooms``."""

    old: str
    new: str
    rooms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Whispered:
    message: WhisperMessage


# --- moderation (docs/protocol.md, "Moderation" and "Away and whois") -------
#
# A local store applies these at once; a shared store hands them back to every
# node, the one that made them included, in one order.  Only ``BanSet`` and
# ``BanLifted`` outlive the process (SQLite, Redis); the others are the state
# of rooms with members, forgotten when a room empties.


@dataclass(frozen=True, slots=True)
class RankSet:
    """``nick`` became (``on``) or is no longer an op or a voiced member of ``room``.

    ``by`` is empty for the first member of an empty room: nobody is told.
    """

    room: str
    nick: str
    rank: Literal["op", "voice"]
    on: bool
    by: str


@dataclass(frozen=True, slots=True)
class ModesSet:
    """Some of ``room``'s five modes changed (``modes`` names only those)."""

    room: str
    modes: dict[str, bool | str | int | None]
    by: str


@dataclass(frozen=True, slots=True)
class MuteSet:
    """``nick`` is muted in ``room`` until ``until`` (``None``: until lifted), or unmuted."""

    room: str
    nick: str
    on: bool
    by: str
    until: float | None = None


@dataclass(frozen=True, slots=True)
class InviteMade:
    """``nick`` may join ``room`` once past its modes until ``until`` (unix seconds)."""

    room: str
    nick: str
    by: str
    until: float


@dataclass(frozen=True, slots=True)
class Removed:
    """``nick`` was kicked out of ``room`` (by hand, or by a ban that matched them)."""

    room: str
    nick: str
    by: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class BanSet:
    """``ban`` holds in ``room`` (replacing a ban of the same nick or address).

    The node holding a matching member kicks it (:class:`Removed`).
    """

    room: str
    ban: BanEntry


def ban_key(nick: str | None, address: str | None) -> str:
    """What makes two bans of a room the same ban: ``n:NICK`` (folded) or ``a:ADDRESS``."""
    return f"n:{fold(nick)}" if nick is not None else f"a:{address}"


@dataclass(frozen=True, slots=True)
class BanLifted:
    """The ban of ``nick`` or ``address`` in ``room`` is gone."""

    room: str
    by: str
    nick: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class KillOrdered:
    """The node holding ``nick`` closes it (``bye`` ``killed``); ``reason`` is what rooms hear."""

    nick: str
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class NoticeSent:
    """A server operator's ``notice``, for every welcomed connection on every node."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class AwaySet:
    """``nick`` is away (``text``) or back (``None``)."""

    nick: str
    text: str | None


Moderation = (
    RankSet
    | ModesSet
    | MuteSet
    | InviteMade
    | Removed
    | BanSet
    | BanLifted
    | KillOrdered
    | NoticeSent
    | AwaySet
)

Change = (
    Posted | TopicSet | Forgotten | Entered | Departed | Quit | Renamed | Whispered | Moderation
)


# --- what a store loads ----------------------------------------------------


@dataclass(slots=True)
class RoomState:
    """One room as a store knows it."""

    name: str
    seq: int = 0
    topic: str | None = None
    #: Who set the topic, and when (unix seconds), if the store kept it.
    topic_by: str | None = None
    topic_ts: float | None = None
    #: The newest kept messages, oldest first.
    history: list[Message] = field(default_factory=list)
    #: Nicks of members: on other nodes when a store loads it, on this node
    #: in :meth:`Feed.local_state` (shared stores only).
    members: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Snapshot:
    """What a store holds when it opens; ``epoch`` is ``None`` if it keeps none."""

    epoch: str | None = None
    rooms: list[RoomState] = field(default_factory=list)
    #: Every ban the store keeps, of rooms that exist or not (expired ones may be among them).
    bans: list[BanSet] = field(default_factory=list)


# --- the two sides of the boundary -----------------------------------------


class Feed(Protocol):
    """What a store may call on the hub (all from the event loop's thread)."""

    def apply(self, change: Change, mine: bool) -> None:
        """A change every node agrees on, in order (shared stores only).

        ``mine``: this node made it (for a ``Quit`` of a dead node's user: that node).
        """

    def settle(self) -> None:
        """The changes handed over since the last call make one batch: deliver them now.

        A shared store must call this after each batch of :meth:`apply`.
        """

    def unavailable(self, reason: str) -> None:
        """The store was lost: tell the clients; changes wait until it returns."""

    def held(self) -> None:
        """A local store took a change it has not written yet (call from :meth:`Store.record`).

        Nothing the hub hands out from now on leaves before :meth:`written`
        covers this change.
        """

    def written(self, count: int) -> None:
        """The first ``count`` changes reported with :meth:`held` are written, in order."""

    def local_state(self) -> Snapshot:
        """This node's rooms, with its own members, and the bans it knows, to re-seed a
        store that lost them."""

    def local_nicks(self) -> list[str]:
        """The nicks of this node's welcomed members."""


class Store(Protocol):
    """Where room state and messages live; see the module docstring."""

    #: ``True`` if other processes share the state (see the module docstring).
    shared: bool

    async def open(self, feed: Feed) -> Snapshot:
        """Connect and load.  Raises :class:`StoreUnavailable` or :class:`StoreError`."""

    async def close(self) -> None:
        """Write what is pending (bounded in time) and disconnect."""

    def record(self, change: Change) -> bool:
        """Take one change without blocking.

        ``False`` means it was not taken (the backlog is full): the hub tells
        the client with ``error`` ``unavailable`` instead of dropping it.
        """

    async def claim_nick(self, nick: str) -> bool:
        """Reserve ``nick`` for this node (shared stores); ``False`` if taken.

        Raises :class:`StoreUnavailable`, as do the two below, when the store
        cannot answer.
        """

    async def release_nick(self, nick: str) -> None:
        """Give back a nick claimed with :meth:`claim_nick` and never used."""

    async def nick_exists(self, nick: str) -> str | None:
        """The spelling of ``nick`` if anybody on any node holds it."""

    def health(self) -> str:
        """One line for people on the store's state (``memory``, ``ok``, ``unreachable``...)."""
