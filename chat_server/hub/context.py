"""What every part of the hub works with, built once by :class:`~chat_server.hub.Hub`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel

from protocol import Hello, Say, SetNick, SetTopic, Whisper

from ..changes import Change, Moderation, Store
from .bans import BanBook
from .fitting import fits
from .post import Post
from .roster import Room, Roster, Seat
from .settings import Settings
from .stats import Stats


class Posting(Protocol):
    """How a change reaches the rooms: chosen once, by whether the store is shared.

    A local store (memory, SQLite) is the whole truth: a change is recorded
    and applied at once.  A shared store (Redis) is where several nodes agree:
    a message or topic is recorded, and applied when the store hands it back;
    a nick is claimed from the store before anyone hears of it.
    """

    def name(self, seat: Seat, hello: Hello) -> None:
        """``seat`` holds ``hello.nick`` on this node: welcome it, now or once the store agrees."""

    def rename(self, seat: Seat, request: SetNick) -> None:
        """Change ``seat``'s nick, now or once the store agrees (the nick is free here)."""

    def say(self, seat: Seat, room: Room, request: Say) -> None:
        """Number, keep and send a message to ``room`` (``seat`` is a member)."""

    def topic(self, seat: Seat, room: Room, request: SetTopic) -> None:
        """Set ``room``'s topic and tell its members."""

    def whisper_away(self, seat: Seat, request: Whisper) -> None:
        """A whisper to a nick nobody holds on this node."""

    def share(self, change: Change) -> bool:
        """Tell the other nodes of a change this node applied itself (a join, a quit...).

        ``False`` if the store cannot take it now; a local store takes nothing.
        """

    def forget(self, room: Room) -> None:
        """``room`` was dropped here because nothing keeps it any more."""

    def moderate(self, seat: Seat | None, cause: BaseModel | None, change: Moderation) -> bool:
        """Apply a moderation change on every node: here at once, or once the store agrees.

        ``False`` (after answering ``seat`` ``unavailable`` about ``cause``)
        if the store cannot take it now.
        """

    def find(
        self, seat: Seat, cause: BaseModel, nick: str, then: Callable[[str | None], None]
    ) -> None:
        """Call ``then`` with the spelling of ``nick`` if anyone on another node holds it.

        A local store knows nobody else: ``then(None)`` at once.  A shared store
        asks, and answers ``seat`` ``unavailable`` about ``cause`` instead if it
        cannot; ``then`` is not called if ``seat`` is gone meanwhile.
        """

    def pending(self) -> frozenset[asyncio.Task[None]]:
        """What is still waiting for the store (a caller may wait for what it started)."""

    async def close(self) -> None:
        """Stop what is still waiting for the store."""


@dataclass(eq=False, slots=True)
class Context:
    """The hub's state and collaborators; handlers, the mirror and the posting paths share it."""

    settings: Settings
    roster: Roster
    post: Post
    store: Store
    #: Wall-clock seconds, for message timestamps.
    wall_clock: Callable[[], float]
    #: Monotonic seconds, for rate limits.
    clock: Callable[[], float]
    #: What ``welcome.server`` says: ``NAME VERSION``.
    server_name: str
    epoch: str
    stats: Stats
    #: Set on shutdown: nobody is told about departures any more.
    closing: bool = False
    bans: BanBook = field(default_factory=BanBook)
    #: Away texts by folded nick, of members here and on other nodes.
    away: dict[str, str] = field(default_factory=dict)
    #: Seats whose requests wait until the store has written what it holds.
    stalled: dict[Seat, None] = field(default_factory=dict)
    #: Chosen once by the hub, right after building the context.
    posting: Posting = field(init=False)

    def fits(self, frame: bytes) -> bool:
        return fits(frame, self.settings.max_frame)
