"""One-time tickets: asked for on a chat connection, redeemed by a side connection's ``transfer``.

A ticket is good once, for ``--ticket-ttl`` seconds, and only while the chat
connection that got it is open (docs/protocol.md, "Files").  A nick holds
at most :data:`MAX_TRANSFERS` side connections at once: a ticket redeemed
beyond that is refused ``rate_limited`` and stays good.  An upload's ticket
reserves the upload's size in the quota until the ticket is dropped or its
transfer ends.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from protocol import ErrorCode, FileOffer, fold

from ..changes import FileRecord
from ..files import Files, PartialKey
from .roster import Phase, Seat

#: Side connections one nick may hold at once.
MAX_TRANSFERS = 2


@dataclass(eq=False, slots=True)
class Ticket:
    """What a token stands for: an upload (``offer``) or a download (``record``)."""

    token: str
    holder: Seat
    #: The holder's nick when it got the ticket.
    nick: str
    #: Monotonic time after which the token is no good.
    expires: float
    offer: FileOffer | None = None
    #: The upload's kept bytes (``offer`` only).
    key: PartialKey | None = None
    #: A whisper's recipient as its holder spells it (``offer`` to a nick only).
    to: str | None = None
    record: FileRecord | None = None


class Tickets:
    """Every ticket not yet redeemed, and the side connections open per nick."""

    def __init__(self, files: Files | None, clock: Callable[[], float]) -> None:
        self.files = files
        self.clock = clock
        self._tickets: dict[str, Ticket] = {}
        self._by_seat: dict[Seat, dict[str, None]] = {}
        self._active: dict[str, int] = {}
        #: Offers waiting for a shared store to say who holds a nick.
        self._lookups: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tickets)

    def upload(
        self, seat: Seat, offer: FileOffer, key: PartialKey, ttl: float, to: str | None
    ) -> Ticket:
        """A ticket to upload ``offer``; it reserves the upload's size in the quota."""
        ticket = self._issue(seat, ttl, offer=offer, key=key, to=to)
        if self.files is not None:
            self.files.hold(key)
        return ticket

    def download(self, seat: Seat, record: FileRecord, ttl: float) -> Ticket:
        """A ticket to fetch ``record``'s file."""
        return self._issue(seat, ttl, record=record)

    def _issue(
        self,
        seat: Seat,
        ttl: float,
        *,
        offer: FileOffer | None = None,
        key: PartialKey | None = None,
        to: str | None = None,
        record: FileRecord | None = None,
    ) -> Ticket:
        assert seat.nick is not None
        token = secrets.token_urlsafe(24)
        ticket = Ticket(
            token, seat, seat.nick, self.clock() + ttl, offer=offer, key=key, to=to, record=record
        )
        self._tickets[token] = ticket
        self._by_seat.setdefault(seat, {})[token] = None
        return ticket

    def upload_key(self, token: str) -> PartialKey | None:
        """The upload ``token`` is a ticket for, if it is one (nothing is used up)."""
        ticket = self._tickets.get(token)
        return ticket.key if ticket is not None else None

    def redeem(self, token: str) -> Ticket | ErrorCode:
        """The ticket ``token`` stands for, now used up; or why not.

        ``bad_token``: unknown, used, expired, or its chat connection closed.
        ``rate_limited``: its nick has :data:`MAX_TRANSFERS` side connections
        open, or the same upload is being written on another; the ticket stays
        good.  Call :meth:`ended` when the transfer ends.
        """
        ticket = self._tickets.get(token)
        if ticket is None:
            return "bad_token"
        if ticket.expires <= self.clock() or ticket.holder.phase is Phase.GONE:
            self._drop(ticket)
            return "bad_token"
        nick = fold(ticket.nick)
        active = self._active.get(nick, 0)
        if active >= MAX_TRANSFERS:
            return "rate_limited"
        if ticket.key is not None and self.files is not None and self.files.busy(ticket.key):
            return "rate_limited"  # the same upload is still being written on another connection
        self._active[nick] = active + 1
        self._forget(ticket)
        return ticket

    def ended(self, ticket: Ticket) -> None:
        """The side connection that redeemed ``ticket`` is done (call once)."""
        nick = fold(ticket.nick)
        left = self._active.get(nick, 0) - 1
        if left > 0:
            self._active[nick] = left
        else:
            self._active.pop(nick, None)
        self._release(ticket)

    def drop_holder(self, seat: Seat) -> None:
        """``seat``'s chat connection closed: its tickets are no good any more."""
        for token in list(self._by_seat.get(seat, ())):
            self._drop(self._tickets[token])

    def sweep(self) -> None:
        """Drop the tickets whose time is up."""
        now = self.clock()
        for ticket in [t for t in self._tickets.values() if t.expires <= now]:
            self._drop(ticket)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (an offer waiting for the store) until it ends or :meth:`close`."""
        task = asyncio.get_running_loop().create_task(work)
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def close(self) -> None:
        """Stop the offers still waiting for the store."""
        for task in list(self._lookups):
            task.cancel()
        await asyncio.gather(*self._lookups, return_exceptions=True)

    def _drop(self, ticket: Ticket) -> None:
        self._forget(ticket)
        self._release(ticket)

    def _forget(self, ticket: Ticket) -> None:
        del self._tickets[ticket.token]
        tokens = self._by_seat[ticket.holder]
        del tokens[ticket.token]
        if not tokens:
            del self._by_seat[ticket.holder]

    def _release(self, ticket: Ticket) -> None:
        if ticket.key is not None and self.files is not None:
            self.files.release(ticket.key)
