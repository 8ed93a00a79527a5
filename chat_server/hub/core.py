"""The hub: rooms, nicks and fan-out for every door, and no sockets.

A door registers each connection with :meth:`Hub.admit`, hands the hub the
requests of each read with :meth:`Hub.receive` (already parsed into protocol
models, or the :class:`~protocol.MessageError` a frame caused), calls
:meth:`Hub.disconnect` when the connection is ending and :meth:`Hub.release`
once it is gone.  The hub answers through the door's
:class:`~chat_server.hub.member.Member`, and only through
:class:`~chat_server.hub.post.Post`, so frames keep their order.

Where rooms and messages live beyond this process is the injected store's
business (memory keeps nothing, SQLite makes history durable, Redis shares it
between nodes); the posting path is chosen once from it
(:mod:`chat_server.hub.posting`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from protocol import (
    RATED_TYPES,
    ClientMessage,
    Error,
    ErrorCode,
    FileInfo,
    MessageError,
    Presence,
    fold,
)

from ..changes import Quit, Store
from ..files import Files, PartialKey
from . import console, filing, handlers, moderation, operators
from .context import Context
from .handlers import Handler
from .limits import Bucket
from .member import Member
from .mirror import Mirror
from .post import Post
from .posting import LocalPosting, SharedPosting
from .queries import Queries
from .roster import TAKES, WAITING, Phase, Room, Roster, Seat
from .settings import Settings
from .stats import Stats
from .tickets import Ticket, Tickets

log = logging.getLogger(__name__)

Request = ClientMessage | MessageError

#: The handler of every request type the hub takes.
HANDLERS: dict[type[Any], Handler] = {
    **handlers.HANDLERS,
    **moderation.HANDLERS,
    **operators.HANDLERS,
    **filing.HANDLERS,
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why :meth:`Hub.admit` turned a connection away: ``code`` is the ``bye`` reason."""

    code: ErrorCode
    text: str


class Hub:
    """The state of one chat server; see the module docstring.

    ``settings`` are read on every use (replace them with :meth:`configure`);
    ``store`` must not be opened yet, nor ``files`` (without them file sharing
    is off); ``wall_clock`` stamps messages and files, ``clock`` (monotonic)
    runs the rate limits and tickets.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        server_name: str,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        epoch: str | None = None,
        files: Files | None = None,
    ) -> None:
        self.ctx = ctx = Context(
            settings=settings,
            roster=Roster(settings.history),
            post=Post(),
            store=store,
            wall_clock=wall_clock,
            clock=clock,
            server_name=server_name,
            epoch=epoch or secrets.token_hex(8),
            stats=Stats(started=clock()),
            files=files,
            tickets=Tickets(files, clock),
        )
        self.mirror = Mirror(ctx)
        ctx.posting = SharedPosting(ctx) if store.shared else LocalPosting(ctx, self.mirror)
        #: What a door may read of the hub besides answers to requests.
        self.queries = Queries(ctx)
        self._fixed_epoch = epoch
        self._per_address: dict[str, int] = {}
        self._emptied = asyncio.Event()

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def rooms(self) -> dict[str, Room]:
        return self.ctx.roster.rooms

    @property
    def seats(self) -> Iterable[Seat]:
        """Every admitted connection, welcomed or not."""
        return self.ctx.roster.seats

    @property
    def epoch(self) -> str:
        return self.ctx.epoch

    @property
    def closing(self) -> bool:
        return self.ctx.closing

    @property
    def stats(self) -> Stats:
        return self.ctx.stats

    # --- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        """Open the store and load the rooms it holds; call before admitting anyone.

        Raises :class:`~chat_server.changes.StoreError` if the store is unusable
        and ``OSError`` if the files directory is.
        """
        snapshot = await self.ctx.store.open(self.mirror)
        if self.ctx.files is not None:
            await self.ctx.files.open()
        if self._fixed_epoch is None and snapshot.epoch is not None:
            self.ctx.epoch = snapshot.epoch
        for state in snapshot.rooms:
            self.mirror.load(state)
        now = self.ctx.wall_clock()
        for kept in snapshot.bans:
            if kept.ban.until is None or kept.ban.until > now:
                self.ctx.bans.add(kept.room, kept.ban)
        if self.ctx.files is not None:
            self.ctx.files.load(snapshot.files)

    def shutdown(self) -> None:
        """Admit nobody more and close every connection with ``bye`` ``server_shutdown``."""
        self.ctx.closing = True
        for seat in list(self.ctx.roster.seats):
            seat.member.close("server_shutdown")

    def after_output(self, then: Callable[[], None]) -> None:
        """Call ``then`` once every frame handed out so far has left the hub.

        At once, unless frames wait for a durable store's write; a door
        closing a connection says ``bye`` from ``then``, so it comes last.
        """
        self.ctx.post.after(then)

    async def emptied(self) -> None:
        """Wait until every connection is released (after :meth:`shutdown`)."""
        if self.ctx.roster.seats:
            await self._emptied.wait()

    async def close(self) -> None:
        """Stop waiting for the store, write back what it still holds and close it."""
        await self.ctx.tickets.close()
        await self.ctx.posting.close()
        await self.ctx.store.close()

    def tick(self) -> None:
        """Drop tickets whose time is up and files past ``--file-ttl``; call every second or so."""
        self.ctx.tickets.sweep()
        if self.ctx.files is not None:
            self.ctx.files.expire(self.ctx.settings.file_ttl)

    def configure(self, settings: Settings) -> None:
        """Apply new settings (a reload); connections and rooms stay as they are.

        A new ``history`` applies to every room at once (a smaller one drops
        the oldest messages kept in memory).
        """
        self.ctx.settings = settings
        roster = self.ctx.roster
        if settings.history != roster.history:
            roster.history = settings.history
            for room in roster.rooms.values():
                room.history = deque(room.history, maxlen=settings.history)

    # --- connections -----------------------------------------------------------

    def admit(self, member: Member, *, address: str, via: str) -> Seat | Refusal:
        """Register a new connection from ``address`` through door ``via``, or refuse it.

        Every door's connections count against ``--max-clients`` and the
        per-address cap (loopback exempt).
        """
        settings = self.ctx.settings
        if self.ctx.closing:
            return Refusal("server_shutdown", "the server is shutting down")
        if len(self.ctx.roster.seats) >= settings.max_clients:
            text = f"the server is full ({settings.max_clients} connections)"
            return Refusal("server_full", text)
        count = self._per_address.get(address, 0)
        cap = settings.max_per_address
        if cap and count >= cap and not _is_loopback(address):
            return Refusal("server_full", f"too many connections from {address} (at most {cap})")
        seat = Seat(
            member=member,
            send=member.send,
            address=address,
            via=via,
            since=self.ctx.wall_clock(),
            bucket=Bucket(settings.burst, self.ctx.clock()),
        )
        self.ctx.roster.seats[seat] = None
        self._per_address[address] = count + 1
        return seat

    def receive(self, seat: Seat, requests: Iterable[Request]) -> None:
        """Answer ``requests`` in order, then send what they caused.

        Stops taking requests as soon as the seat must wait (the store decides
        its nick) or is gone; the door keeps the rest and hands them over after
        :meth:`Member.resume`.  ``requests`` may be a lazy iterator: nothing is
        taken from it once the hub stops.
        """
        ctx = self.ctx
        taken = 0
        try:
            for request in requests:
                taken += 1
                if isinstance(request, MessageError):
                    error = Error(
                        code=request.code, message=request.message, ref=request.ref, id=request.id
                    )
                    ctx.post.reply(seat, error)
                    continue
                # A welcomed member's unrated request passes both gates without a call.
                kind = request.type
                admitted = (TAKES[seat.phase] is None and kind != "hello") or self._takes(
                    seat, request
                )
                if admitted and (kind not in RATED_TYPES or self._spend(seat, request)):
                    handler = HANDLERS.get(type(request))
                    if handler is None:
                        text = f"{kind} is not offered by this server"
                        ctx.post.error(seat, "unknown_type", text, request)
                    else:
                        handler(ctx, seat, request)
                if seat.stalled or seat.phase in WAITING:  # seat.waiting, inline
                    break
                if ctx.post.full and seat.phase is not Phase.GONE:
                    seat.stalled = True  # the store is behind: read on after Mirror.written
                    ctx.stalled[seat] = None
                    break
        finally:
            ctx.stats.received += taken
            ctx.post.flush()

    async def act(self, request: ClientMessage, *, wait: float = 5.0) -> list[BaseModel]:
        """Carry out ``request`` for the admin socket; see :func:`console.act`."""
        return await console.act(self.ctx, HANDLERS, request, wait=wait)

    def disconnect(self, seat: Seat, reason: str) -> None:
        """The connection is ending: its rooms get ``presence`` ``quit`` with ``reason``.

        Safe to call more than once; only the first call counts.
        """
        if seat.phase is Phase.GONE:
            return
        ctx = self.ctx
        phase, seat.phase = seat.phase, Phase.GONE
        ctx.stalled.pop(seat, None)
        ctx.tickets.drop_holder(seat)
        nick = seat.nick
        if nick is None:
            return
        roster = ctx.roster
        rooms = list(seat.rooms.values())
        seat.rooms.clear()
        ctx.away.pop(fold(nick), None)
        if phase is not Phase.NAMING:  # only a nick the store is still deciding is unknown
            ctx.posting.share(Quit(nick=nick, reason=reason, rooms=tuple(r.name for r in rooms)))
        for room in rooms:
            room.members.pop(seat, None)
            room.departed(fold(nick))
            if not ctx.closing:
                quit = Presence(room=room.name, nick=nick, event="quit", reason=reason)
                ctx.post.room(room, quit)
            if roster.forget_if_unused(room):
                ctx.posting.forget(room)
        # The nick is free once the rooms were told: a door may still look the
        # quitter up while it words the quit (IRC's nick!user@host).
        if roster.holder(nick) is seat:
            del roster.nicks[fold(nick)]
        log.debug("%s left: %s", nick, reason)

    def release(self, seat: Seat) -> None:
        """The connection is gone (call once, after :meth:`disconnect`)."""
        self.disconnect(seat, "connection closed")
        roster = self.ctx.roster
        if roster.seats.pop(seat, False) is False:
            return
        left = self._per_address[seat.address] - 1
        if left:
            self._per_address[seat.address] = left
        else:
            del self._per_address[seat.address]
        if not roster.seats and self.ctx.closing:
            self._emptied.set()

    # --- side connections (the transfer door) -------------------------------------

    def hand_over(self, seat: Seat, member: Member) -> None:
        """``seat``'s connection became a side connection: ``member`` answers for it now.

        It still counts as a connection (``--max-clients``); the hub takes no
        request from it any more.
        """
        seat.member = member
        seat.send = member.send

    def upload_key(self, token: str) -> PartialKey | None:
        """The upload ``token`` is a ticket for, if it is one; see :meth:`Tickets.upload_key`."""
        return self.ctx.tickets.upload_key(token)

    def redeem(self, token: str) -> Ticket | ErrorCode:
        """The ticket ``token`` stands for, or ``bad_token`` / ``rate_limited``
        (see :meth:`Tickets.redeem`); call :meth:`transfer_ended` after a ticket."""
        return self.ctx.tickets.redeem(token)

    def transfer_ended(self, ticket: Ticket) -> None:
        """The side connection that redeemed ``ticket`` is done (call once)."""
        self.ctx.tickets.ended(ticket)

    def publish(self, ticket: Ticket) -> FileInfo | tuple[ErrorCode, str]:
        """Share the upload of ``ticket``, whole, verified and stored; see :func:`publish`."""
        return filing.publish(self.ctx, ticket)

    # --- before a handler --------------------------------------------------------

    def _takes(self, seat: Seat, request: ClientMessage) -> bool:
        """Whether ``seat``'s phase takes ``request``; answers the refusal if not."""
        takes = TAKES[seat.phase]
        kind = request.type
        if takes is None:
            if kind != "hello":
                return True
            self.ctx.post.error(seat, "bad_message", "already welcomed", request)
            return False
        if kind in takes:
            return True
        if seat.phase is Phase.NEW:
            self.ctx.post.error(seat, "not_ready", "send hello first", request)
        return False

    def _spend(self, seat: Seat, request: ClientMessage) -> bool:
        """Flood control: a request that changes state costs a token, or is refused."""
        if request.type not in RATED_TYPES:
            return True
        ctx = self.ctx
        settings = ctx.settings
        now = ctx.clock()
        if seat.bucket.take(settings.rate, settings.burst, now):
            return True
        error = Error(
            code="rate_limited",
            message=f"slow down: {settings.rate:g} messages a second",
            ref=request.type,
            id=request.id,
        )
        if seat.bucket.flooding(settings.burst, now):
            ctx.post.flush()
            seat.member.close("rate_limited", error=error)
        else:
            ctx.post.reply(seat, error)
        return False


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
