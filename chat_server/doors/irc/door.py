"""The IRC door: IRC lines in, hub requests out; hub messages in, IRC lines out.

:class:`IrcDoor` holds what the door's connections share (the server name,
client tags on their way, who is who).  Each
:class:`~.connection.IrcConnection` is a
:class:`~chat_server.doors.base.Connection` like the native one: no task,
stream or queue of its own.  Each read goes through a
:class:`~.wire.LineDecoder`; each line is turned by a command handler
(:mod:`.commands`, :mod:`.talking`, :mod:`.moderating`) into zero or more
protocol requests, handed to the hub lazily as the native door does, or
answered directly (``CAP``, ``PING`` before registration, 421...).

Each request goes with an :class:`~.asked.Asked`: which IRC command it came
from, so that the hub's answer is worded as that command's reply (a
``members`` reply is 353/366 for ``NAMES`` and 352/315 for ``WHO``; a
``not_in_room`` error is 404 for ``PRIVMSG`` and 442 for ``PART``).  The
answer may come after the read that asked (a durable store holds frames
until its write), so each connection's :class:`~.ledger.Ledger` finds it by
the request's ``id`` or by the order of replies.  Lines the door words
itself go through the hub's ``Post`` too (:meth:`Queries.send
<chat_server.hub.Queries.send>`), so nothing overtakes an earlier answer.

Output: broadcasts (messages, joins, nick changes...) are rendered once per
distinct rendering, kept in :attr:`Out.memo <chat_server.hub.Out.memo>` by
the capabilities that change the lines (:mod:`.render`); replies to one
client are rendered for it alone (:mod:`.replies`).
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable

from protocol import fold

from ...config import Config, is_server_name
from ...hub import Hub, Seat
from ..base import Door, Outbox
from .connection import NETWORK, IrcConnection
from .mapping import hostmask, irc_host


def default_server_name() -> str:
    """This machine's host name if IRC can carry it as a server name, else ``hubbub``."""
    name = socket.gethostname()
    return name if is_server_name(name) else NETWORK


class IrcDoor(Door):
    """Connections speaking IRC; build one per listener."""

    via = "irc"

    def __init__(
        self, hub: Hub, config: Config, outbox: Outbox, *, clock: Callable[[], float]
    ) -> None:
        super().__init__(hub, config, outbox, clock=clock)
        self.created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        self._host_name = default_server_name()
        #: Client-only tags of the messages and whispers IRC clients sent lately.
        self.client_tags = ClientTags()
        self._ids = 0
        self._id_prefix = f"irc+{secrets.token_hex(3)}-"

    @property
    def server_name(self) -> str:
        """``--irc-server-name``, or the host name (read once, at start)."""
        return self.config.irc_server_name or self._host_name

    def new_id(self) -> str:
        """A request ``id`` no other request of this door has (see :mod:`.ledger`)."""
        self._ids += 1
        return f"{self._id_prefix}{self._ids:x}"

    def connection(self) -> IrcConnection:
        """A protocol for ``loop.create_server``."""
        return IrcConnection(self)

    def source(self, nick: str, *, holder: str | None = None) -> str:
        """``nick!user@host`` of ``nick``, whose connection now holds ``holder``
        (``nick`` itself by default; the new nick of a rename).  The host of
        someone not on this node (gone, or on another node) is the server name."""
        seat = self.hub.queries.holder(holder or nick)
        if seat is None:
            return hostmask(nick, username_of(nick), self.server_name)
        member = seat.member
        user = member.user if isinstance(member, IrcConnection) else username_of(nick)
        return hostmask(nick, user, seat.address)

    def irc(self, seat: Seat) -> IrcConnection | None:
        """``seat``'s connection if it came through this door."""
        member = seat.member
        return member if isinstance(member, IrcConnection) else None

    def is_away(self, nick: str) -> bool:
        """Whether the holder of ``nick`` is away."""
        return self.away_text(nick) is not None

    def away_text(self, nick: str) -> str | None:
        """The away text of the holder of ``nick``, or ``None`` if not away."""
        return self.hub.queries.away(nick)

    def is_server_operator(self, nick: str) -> bool:
        """Whether the holder of ``nick`` (on this node) is a server operator."""
        seat = self.hub.queries.seat(nick)
        return seat is not None and self.hub.queries.is_operator(seat)

    def who_is(self, nick: str) -> tuple[str, str, str] | None:
        """``(user, host, realname)`` of the holder of ``nick`` on this node."""
        seat = self.hub.queries.seat(nick)
        if seat is None or seat.nick is None:
            return None
        member = seat.member
        if isinstance(member, IrcConnection):
            return member.user, irc_host(seat.address), member.realname
        return username_of(seat.nick), irc_host(seat.address), seat.nick


class ClientTags:
    """Client-only (``+``) tags of messages on their way through the hub.

    The hub carries no IRC tags, but every request of the door has an ``id``
    (:meth:`IrcDoor.new_id`), which every recipient of a message gets back: the
    door keeps a tagged message's tags by it and finds them again when it
    renders the message, here or after a shared store handed it back.  Only
    the ``LIMIT`` latest are kept, and a message gets them only from its own
    sender, so an ``id`` copied by someone else carries nothing.
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._kept: dict[str, tuple[str, dict[str, str]]] = {}

    def keep(self, message_id: str | None, sender: str, tags: dict[str, str]) -> None:
        """Keep ``tags`` of the message ``message_id`` from folded nick ``sender``."""
        if message_id is None:
            return
        self._kept[message_id] = (sender, tags)
        if len(self._kept) > self.LIMIT:
            del self._kept[next(iter(self._kept))]

    def of(self, message_id: str | None, sender: str) -> dict[str, str] | None:
        """The tags kept for ``message_id`` if ``sender`` (its ``from``) sent them."""
        if message_id is None:
            return None
        kept = self._kept.get(message_id)
        if kept is None or kept[0] != fold(sender):
            return None
        return kept[1]


def username_of(nick: str) -> str:
    """The user part of a hostmask for someone who gave none (a native client)."""
    return nick[:16]
