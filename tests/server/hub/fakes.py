"""Fakes for driving the hub without sockets: members, stores, a clock and a bench.

A :class:`FakeMember` stands where a door's connection would: it keeps every
:class:`~chat_server.hub.Out` it is handed and, like a real door, tells the hub
of the first ``close``.  :class:`LocalStore` and :class:`SharedStore` record
the changes the hub hands them; the shared one answers nick claims only when
the test decides, and hands recorded changes back through the hub's mirror.
:class:`Bench` wires them to a :class:`~chat_server.hub.Hub` and drives it as
a door would.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from chat_server.changes import Change, Feed, Posted, Snapshot, StoreError
from chat_server.hub import Hub, Out, Refusal, Request, Room, Seat
from chat_server.hub.limits import Bucket
from protocol import (
    DEFAULT_MAX_FRAME,
    DEFAULT_MAX_TEXT,
    HEADER_SIZE,
    PROTOCOL_VERSION,
    Error,
    Hello,
    Join,
    Say,
    Welcome,
    encode,
    fold,
)

M = TypeVar("M", bound=BaseModel)

SERVER_NAME = "hubbub-test 0.0"
EPOCH = "e-test"
#: Wall-clock seconds at the fake clock's zero.
WALL_START = 1_700_000_000.0
#: Turns of the event loop a fake store waits for the hub to ask it something.
TURNS = 100

_addresses = itertools.count(1)


def remote_address() -> str:
    """A fresh non-loopback address (TEST-NET-2, never contacted: nothing here has sockets)."""
    n = next(_addresses)
    return f"198.51.{n // 250}.{n % 250 + 1}"


@dataclass(frozen=True, slots=True)
class HubSettings:
    """The hub's :class:`~chat_server.hub.Settings`, with flood control off unless asked."""

    password: str | None = None
    motd: str | None = None
    oper_password: str | None = None
    max_frame: int = DEFAULT_MAX_FRAME
    max_text: int = DEFAULT_MAX_TEXT
    history: int = 200
    max_rooms: int = 1000
    max_clients: int = 1000
    max_per_address: int = 16
    rate: float = 0.0
    burst: int = 10


class FakeClock:
    """Monotonic seconds that move only when the test says; :meth:`wall` follows them."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_START + self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True, slots=True)
class Closed:
    """One call of :meth:`FakeMember.close`."""

    reason: str
    error: Error | None = None
    announce: str | None = None


class FakeMember:
    """A connection as a door would give it to the hub; see the module docstring.

    :attr:`log` holds what the hub did to it in order (each :class:`Out`, each
    :class:`Closed`); :meth:`take` returns the messages received since the last
    :meth:`take`, after checking that each ``Out.frame`` is the encoding of its
    messages and that no message exceeds ``max_frame``.
    """

    def __init__(self, hub: Hub, name: str = "member") -> None:
        self.hub = hub
        self.name = name
        self.seat: Seat | None = None
        self.log: list[Out | Closed] = []
        self.resumed = 0
        self._taken = 0

    def __repr__(self) -> str:
        return f"<FakeMember {self.name}>"

    # --- Member ------------------------------------------------------------------

    def send(self, out: Out) -> None:
        self.log.append(out)

    def close(
        self, reason: str, *, error: Error | None = None, announce: str | None = None
    ) -> None:
        first = not self.closes
        self.log.append(Closed(reason, error, announce))
        if first and self.seat is not None:  # as a door does, on the first close only
            self.hub.disconnect(self.seat, announce or reason)

    def resume(self) -> None:
        self.resumed += 1

    # --- what the test reads -------------------------------------------------------

    @property
    def outs(self) -> list[Out]:
        return [entry for entry in self.log if isinstance(entry, Out)]

    @property
    def closes(self) -> list[Closed]:
        return [entry for entry in self.log if isinstance(entry, Closed)]

    @property
    def seated(self) -> Seat:
        assert self.seat is not None, f"{self.name} was not admitted"
        return self.seat

    def take(self) -> list[BaseModel]:
        """The messages of every ``Out`` received since the last call, in order."""
        outs = [entry for entry in self.log[self._taken :] if isinstance(entry, Out)]
        self._taken = len(self.log)
        max_frame = self.hub.ctx.settings.max_frame
        messages: list[BaseModel] = []
        for out in outs:
            frames = [encode(message) for message in out.messages]
            assert out.frame == b"".join(frames), f"{self.name}: Out.frame is not its messages"
            for message, frame in zip(out.messages, frames, strict=True):
                assert len(frame) - HEADER_SIZE <= max_frame, f"{message!r} exceeds max_frame"
            messages.extend(out.messages)
        return messages

    def take_one(self, kind: type[M]) -> M:
        """The one message received since the last :meth:`take`, which must be a ``kind``."""
        messages = self.take()
        assert len(messages) == 1, f"{self.name} expected one {kind.__name__}, got {messages}"
        (message,) = messages
        assert isinstance(message, kind), f"{self.name} expected {kind.__name__}, got {message}"
        return message

    def take_error(self, code: str, *, ref: str | None = None, id: str | None = None) -> Error:
        """The one message since the last :meth:`take`: an ``error`` with ``code``."""
        error = self.take_one(Error)
        assert error.code == code, f"{self.name} expected error {code}, got {error}"
        assert error.ref == ref, f"{self.name} expected ref {ref}, got {error}"
        assert error.id == id, f"{self.name} expected id {id}, got {error}"
        return error


# --- stores ----------------------------------------------------------------------


class LocalStore:
    """A store only this process uses, recording each change; ``accepting = False``
    makes :meth:`record` refuse (a full backlog)."""

    shared = False

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.snapshot = snapshot or Snapshot()
        self.changes: list[Change] = []
        self.accepting = True
        self.feed: Feed | None = None
        self.closed = False

    async def open(self, feed: Feed) -> Snapshot:
        self.feed = feed
        return self.snapshot

    async def close(self) -> None:
        self.closed = True

    def record(self, change: Change) -> bool:
        if not self.accepting:
            return False
        self.changes.append(change)
        return True

    def recorded(self, kind: type[Any]) -> list[Any]:
        return [change for change in self.changes if isinstance(change, kind)]

    async def claim_nick(self, nick: str) -> bool:
        raise AssertionError("the hub asked a local store to claim a nick")

    async def release_nick(self, nick: str) -> None:
        raise AssertionError("the hub asked a local store to release a nick")

    async def nick_exists(self, nick: str) -> str | None:
        raise AssertionError("the hub asked a local store for a nick")

    def health(self) -> str:
        return "fake"


@dataclass(slots=True)
class Pending:
    """A question the hub asked a shared store, waiting for the test's answer."""

    answer: asyncio.Future[Any]
    task: asyncio.Task[Any]


class SharedStore(LocalStore):
    """A store several nodes share, decided by the test.

    Every recorded change waits in :attr:`pending` until :meth:`hand_back`
    applies it as this node's own (``Posted`` numbered per room, as a real
    store does); :meth:`deliver` applies changes another node made.  A nick
    claim or lookup waits until :meth:`decide` or :meth:`answer`.
    """

    shared = True

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        super().__init__(snapshot)
        self.pending: list[Change] = []
        self.released: list[str] = []
        #: Every nick the hub asked to claim, in order.
        self.asked: list[str] = []
        #: Giving a nick back raises StoreError.
        self.release_fails = False
        self.seqs: dict[str, int] = {}
        #: Questions waiting for the test, by folded nick.
        self.claims: dict[str, Pending] = {}
        self.lookups: dict[str, Pending] = {}

    def record(self, change: Change) -> bool:
        if not super().record(change):
            return False
        self.pending.append(change)
        return True

    async def claim_nick(self, nick: str) -> bool:
        self.asked.append(nick)
        return bool(await self._ask(self.claims, nick))

    async def release_nick(self, nick: str) -> None:
        self.released.append(nick)
        if self.release_fails:
            raise StoreError("the store is unreachable")

    async def nick_exists(self, nick: str) -> str | None:
        spelling = await self._ask(self.lookups, nick)
        return spelling if isinstance(spelling, str) else None

    async def _ask(self, table: dict[str, Pending], nick: str) -> object:
        task = asyncio.current_task()
        assert task is not None
        answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        table[fold(nick)] = Pending(answer, task)
        return await answer

    # --- the test's side ---------------------------------------------------------------

    async def decide(self, nick: str, answer: bool | StoreError) -> None:
        """Answer the claim of ``nick`` and wait until the hub has acted on it."""
        await self._reply(self.claims, nick, answer)

    async def answer(self, nick: str, answer: str | StoreError | None) -> None:
        """Answer the lookup of ``nick`` (its spelling, or ``None``) and wait for the hub."""
        await self._reply(self.lookups, nick, answer)

    async def asked_to_claim(self, nick: str) -> bool:
        """Whether the hub asks to claim ``nick`` (after letting its tasks run)."""
        return await _asked(self.claims, nick)

    async def _reply(self, table: dict[str, Pending], nick: str, answer: object) -> None:
        assert await _asked(table, nick), f"the hub never asked the store about {nick}"
        pending = table.pop(fold(nick))
        if isinstance(answer, StoreError):
            pending.answer.set_exception(answer)
        else:
            pending.answer.set_result(answer)
        await asyncio.wait_for(pending.task, 5)  # raises what the hub's task raised

    def hand_back(self) -> None:
        """Apply every change recorded so far as this node's own, as one batch."""
        changes, self.pending = self.pending, []
        self._apply(changes, mine=True)

    def deliver(self, *changes: Change, mine: bool = False) -> None:
        """Apply changes another node made (``mine`` False), as one batch."""
        self._apply(changes, mine=mine)

    def _apply(self, changes: Iterable[Change], *, mine: bool) -> None:
        feed = self.feed
        assert feed is not None, "open the hub first"
        for change in changes:
            if isinstance(change, Posted) and change.message.seq == 0:
                key = fold(change.message.room)
                self.seqs[key] = self.seqs.get(key, 0) + 1
                change = Posted(change.message.model_copy(update={"seq": self.seqs[key]}))
            feed.apply(change, mine)
        feed.settle()


async def _asked(table: dict[str, Pending], nick: str) -> bool:
    for _ in range(TURNS):
        if fold(nick) in table:
            return True
        await asyncio.sleep(0)
    return False


@asynccontextmanager
async def shared_hub(**settings: Any) -> AsyncIterator[Bench]:
    """A bench on a shared store, opened; closed on the way out (its waits cancelled)."""
    bench = Bench(SharedStore(), **settings)
    await bench.hub.open()
    try:
        yield bench
    finally:
        await bench.hub.close()


async def idle() -> None:
    """Let every task the hub started run as far as it can (the fakes never do I/O)."""
    for _ in range(TURNS):
        await asyncio.sleep(0)


# --- the bench ---------------------------------------------------------------------


class Bench:
    """A hub on a fake store and clock, driven as a door would drive it."""

    def __init__(self, store: LocalStore | None = None, **settings: Any) -> None:
        self.settings = HubSettings(**settings)
        self.clock = FakeClock()
        self.store = store if store is not None else LocalStore()
        self.hub = Hub(
            self.settings,
            self.store,
            server_name=SERVER_NAME,
            wall_clock=self.clock.wall,
            clock=self.clock,
            epoch=EPOCH,
        )
        self._names = itertools.count(1)

    @property
    def shared(self) -> SharedStore:
        assert isinstance(self.store, SharedStore)
        return self.store

    def admit(self, name: str | None = None, address: str | None = None) -> FakeMember | Refusal:
        member = FakeMember(self.hub, name or f"member{next(self._names)}")
        seat = self.hub.admit(member, address=address or remote_address(), via="native")
        if isinstance(seat, Refusal):
            return seat
        member.seat = seat
        return member

    def connect(self, name: str | None = None, address: str | None = None) -> FakeMember:
        """A newly admitted member (not welcomed yet)."""
        member = self.admit(name, address)
        assert isinstance(member, FakeMember), f"refused: {member}"
        return member

    def send(self, member: FakeMember, *requests: Request) -> None:
        """One read from ``member``'s connection: the hub takes what it will."""
        self.hub.receive(member.seated, iter(requests))

    def hello(self, nick: str, **fields: Any) -> FakeMember:
        """A new member that sent ``hello`` as ``nick`` (nothing taken from it yet)."""
        member = self.connect(nick)
        self.send(member, Hello(nick=nick, protocol=PROTOCOL_VERSION, **fields))
        return member

    def welcomed(self, *nicks: str) -> list[FakeMember]:
        """Members welcomed as ``nicks`` on a local store, their welcome taken."""
        members = []
        for nick in nicks:
            member = self.hello(nick)
            member.take_one(Welcome)
            members.append(member)
        return members

    async def claimed(self, *nicks: str) -> list[FakeMember]:
        """Members welcomed as ``nicks`` on a shared store, which grants each claim."""
        members = []
        for nick in nicks:
            member = self.hello(nick)
            await self.shared.decide(nick, True)
            member.take_one(Welcome)
            members.append(member)
        return members

    async def claimed_in_room(self, room: str, *nicks: str) -> list[FakeMember]:
        """Members welcomed on a shared store and joined to ``room``; nothing left to take."""
        members = await self.claimed(*nicks)
        self.join(room, *members)
        self.shared.hand_back()
        self.drain()
        return members

    def in_room(self, room: str, *nicks: str) -> list[FakeMember]:
        """Members welcomed as ``nicks``, each joined to ``room``; nothing left to take."""
        members = self.welcomed(*nicks)
        self.join(room, *members)
        return members

    def join(self, room: str, *members: FakeMember) -> None:
        """Each of ``members`` joins ``room``; what that sent anyone is taken.

        A join costs a rate token: this setup gives it back, so a test's own
        requests start from a full bucket.
        """
        for member in members:
            self.send(member, Join(room=room))
            member.seated.bucket = Bucket(self.settings.burst, self.clock())
        self.drain()

    def drain(self) -> None:
        """Forget what every member received so far."""
        for seat in self.hub.seats:
            member = seat.member
            assert isinstance(member, FakeMember)
            member.take()

    def say(self, room: str, *texts: str, nick: str = "talker") -> FakeMember:
        """``nick`` (welcomed and joined first if new) says each of ``texts`` in ``room``.

        What that sent anyone is taken.
        """
        seat = self.hub.ctx.roster.seat(nick)
        member = self.in_room(room, nick)[0] if seat is None else self.member(nick)
        if seat is not None and fold(room) not in seat.rooms:
            self.join(room, member)
        self.send(member, *(Say(room=room, text=text) for text in texts))
        self.drain()
        return member

    def member(self, nick: str) -> FakeMember:
        seat = self.hub.ctx.roster.seat(nick)
        assert seat is not None, f"nobody is called {nick}"
        assert isinstance(seat.member, FakeMember)
        return seat.member

    def room(self, name: str) -> Room:
        return self.hub.rooms[fold(name)]
