"""One IRC client's connection: lines in, hub requests out, hub messages rendered.

See :mod:`.door` for the whole picture.  An :class:`IrcConnection` is a
:class:`~chat_server.doors.base.Connection` like the native one: no task,
stream or queue of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from protocol import Error, fold

from ... import __version__
from ...config import Config
from ...hub import Out, Request
from ...hub import Phase as HubPhase
from ..base import Connection
from . import commands, render, replies
from .caps import CapNegotiation
from .errors import InvalidUtf8, LineTooLong, MalformedLine
from .ledger import Ledger
from .mapping import hostmask, irc_host
from .numerics import ERR_INPUTTOOLONG, ERR_UNKNOWNCOMMAND, INVALID_UTF8, Numeric, fail, reply
from .registration import Phase, Registration
from .render import AWAY_NOTIFY, MESSAGE_TAGS, SERVER_TIME
from .wire import IrcMessage, LineDecoder

if TYPE_CHECKING:
    from protocol import RoomModes

    from .door import IrcDoor

log = logging.getLogger(__name__)

NETWORK = "hubbub"
VERSION = f"hubbub-{__version__}"

#: What the ERROR line before closing says, by ``bye`` reason.
CLOSING = {
    "quit": "Quit",
    "ping_timeout": "Ping timeout",
    "hello_timeout": "Registration timed out",
    "sendq_exceeded": "SendQ exceeded",
    "rate_limited": "Excess flood",
    "server_full": "Server full",
    "server_shutdown": "Server shutting down",
    "auth_failed": "Password incorrect",
    "killed": "Killed",
}


class IrcConnection(Connection):
    """One IRC client; see the module docstring."""

    door: IrcDoor
    # Slots for what this door adds: an idle connection is mostly these.
    __slots__ = (
        "_batches",
        "_fatal",
        "_receiving",
        "caps",
        "channels",
        "decoder",
        "echo",
        "folded",
        "hostmask",
        "invisible",
        "last_quit",
        "ledger",
        "multi_prefix",
        "nick",
        "quit_reason",
        "realname",
        "registration",
        "renaming",
        "render_key",
        "standard_replies",
        "user",
    )

    def __init__(self, door: IrcDoor) -> None:
        super().__init__(door)
        self.decoder = LineDecoder()
        self.caps = CapNegotiation()
        #: Until the hub has welcomed the client; ``None`` afterwards.
        self.registration: Registration | None = Registration(self.caps)
        self.nick = "*"
        self.folded = "*"
        self.user = "user"
        self.realname = ""
        self.hostmask = "*"
        #: See :data:`SERVER_TIME` and the others; 0 until capabilities are negotiated.
        self.render_key = 0
        self.echo = False
        self.multi_prefix = False
        self.standard_replies = False
        #: Rooms this client is in, by folded name, with their modes as it knows them.
        self.channels: dict[str, RoomModes] = {}
        #: What the requests still waiting for an answer asked.
        self.ledger = Ledger()
        #: The nick a ``NICK`` asked for, while the hub decides it.
        self.renaming: str | None = None
        #: The folded nick of the last ``QUIT`` line sent: a quit reaches us once per
        #: shared room, and IRC says it once.
        self.last_quit: str | None = None
        self.quit_reason: str | None = None
        #: User mode ``i`` asked for: accepted, it changes nothing.
        self.invisible = False
        self._fatal: tuple[str, Error | None] | None = None
        self._receiving = False
        self._batches = 0

    # --- input -------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.decoder.feed(data)
        self.proceed()

    def proceed(self) -> None:
        seat = self.seat
        if seat is None or self.closing:
            return
        self._receiving = True
        try:
            self.hub.receive(seat, self.requests())
        finally:
            self._receiving = False
        if self.hub.queries.settled():  # every answer is out: no error can follow
            self.ledger.settle()
        if self._fatal is not None:
            reason, error = self._fatal
            self._fatal = None
            self.close(reason, error=error)
        elif seat.waiting and not self.closing:  # the store decides our nick: see resume()
            self.transport.pause_reading()

    def requests(self) -> Iterator[Request]:
        """Read whole lines for as long as the hub takes requests."""
        decoder = self.decoder
        while not self.closing and self._fatal is None and not self.backed_up():
            registration = self.registration
            if (
                registration is not None
                and registration.phase is Phase.REGISTERING
                and self._registering(registration)
            ):
                return
            try:
                message = decoder.next_message()
            except LineTooLong:
                self.emit(self.reply(ERR_INPUTTOOLONG))
                continue
            except InvalidUtf8 as exc:
                text = "Message rejected: it is not valid UTF-8"
                self.emit(fail(self.door.server_name, exc.command, INVALID_UTF8, description=text))
                continue
            except MalformedLine as exc:
                if exc.command is not None:
                    self.emit(self.reply(ERR_UNKNOWNCOMMAND, exc.command))
                continue
            if message is None:
                return
            self.last_received = self.door.clock()
            self.pinged = False
            for request, asked in commands.dispatch(self, message):
                self.ledger.note(request, asked)
                yield request

    # --- what command handlers use -------------------------------------------------

    @property
    def server(self) -> str:
        return self.door.server_name

    @property
    def config(self) -> Config:
        return self.door.config

    network = NETWORK
    version = VERSION

    def reply(self, numeric: Numeric, *params: str, text: str | None = None) -> IrcMessage:
        """A numeric reply to this client."""
        return reply(self.server, self.nick, numeric, *params, text=text)

    def emit(self, *messages: IrcMessage) -> None:
        """Send lines of the door's own, in order with what the hub sends this client."""
        if messages:
            self.emit_bytes(b"".join(message.serialize() for message in messages))

    def emit_bytes(self, data: bytes) -> None:
        """:meth:`emit` for lines already serialized."""
        if data and self.seat is not None and not self.closing:
            self.hub.queries.send(self.seat, render.own_lines(data))

    def fatal(self, reason: str, error: Error | None = None) -> None:
        """Close once the hub has taken this read, or once the answer being
        rendered is queued: never in the middle of either."""
        if self._receiving:
            self._fatal = (reason, error)
        else:
            asyncio.get_running_loop().call_soon(lambda: self.close(reason, error=error))

    def batch_id(self) -> str:
        self._batches += 1
        return f"h{self._batches}"

    def welcomed(self, nick: str) -> None:
        """The hub welcomed this client as ``nick``: it is registered (at once, or
        when its ``welcome`` arrives, whichever comes first)."""
        registration = self.registration
        if registration is None:
            return
        if registration.phase is Phase.REGISTERING:
            registration.complete(nick)
        self.user = registration.username or "user"
        self.realname = registration.realname or ""
        self.registration = None
        self.renamed(nick)

    def _registering(self, registration: Registration) -> bool:
        """Follow the hub's decision on our ``hello``; whether to wait for it.

        The answer may come later than the decision (a durable store holds
        frames until its write): the door goes on as the hub decided, and the
        answer's lines follow in their turn.
        """
        seat = self.seat
        assert seat is not None
        if seat.welcomed and seat.nick is not None:
            self.welcomed(seat.nick)
            return False
        if seat.phase is HubPhase.NEW:  # refused: the error says why, in its turn
            registration.nick_refused()
            return False
        return True  # a shared store decides the nick: resume() brings us back

    def renamed(self, nick: str) -> None:
        self.nick = nick
        self.folded = fold(nick)
        self.hostmask = hostmask(nick, self.user, self.peer)

    def caps_changed(self) -> None:
        enabled = self.caps.enabled
        self.render_key = (
            (SERVER_TIME if "server-time" in enabled else 0)
            | (MESSAGE_TAGS if "message-tags" in enabled else 0)
            | (AWAY_NOTIFY if "away-notify" in enabled else 0)
        )
        self.echo = "echo-message" in enabled
        self.multi_prefix = "multi-prefix" in enabled
        self.standard_replies = "standard-replies" in enabled

    def user_modes(self) -> str:
        """``+i`` and ``o``, as ``MODE nick`` (221) shows them."""
        oper = self.seat is not None and self.hub.queries.is_operator(self.seat)
        return "+" + ("i" if self.invisible else "") + ("o" if oper else "")

    def has(self, cap: str) -> bool:
        return cap in self.caps.enabled

    # --- output ------------------------------------------------------------------

    def send(self, out: Out) -> None:
        """Render the hub's ``out`` for this client and queue it (see the module docstring)."""
        chunks = self._chunks
        if chunks is None:
            return
        memo = out.memo
        rendered = memo.get(self.render_key) if memo is not None else None
        if (
            type(rendered) is render.Rendered
            and rendered.plain
            and self.folded not in rendered.owners
        ):
            # The hot path: a broadcast already rendered this way (inlined).
            self.last_quit = None
            data = rendered.data
        elif not out.messages:  # lines of the door's own (emit)
            assert memo is not None
            data = memo[render.OWN_LINES]  # type: ignore[assignment]
        elif type(out.messages[0]) in render.BROADCASTS:
            data = render.broadcast(self, out)
        else:
            self.last_quit = None
            data = replies.answer(self, out.messages)
        if data:
            if not chunks:
                self.door.outbox.schedule(self)
            chunks.append(data)

    def close(
        self, reason: str, *, error: Error | None = None, announce: str | None = None
    ) -> None:
        """As :meth:`Connection.close`; a kill's announcement (``killed by BY:
        REASON``) is also what the ``ERROR`` line says."""
        if reason == "killed" and announce and not self.closing:
            self.quit_reason = announce
        super().close(reason, error=error, announce=announce)

    def goodbye(self, reason: str, error: Error | None) -> bytes:
        why = CLOSING.get(reason, reason)
        if reason == "quit" and self.quit_reason:
            why = f"Quit: {self.quit_reason}"
        elif reason == "killed" and self.quit_reason:
            why = f"Killed: {self.quit_reason}"
        elif error is not None and reason not in ("auth_failed", "rate_limited"):
            why = f"{why}: {error.message}"
        host = irc_host(self.peer)
        return IrcMessage("ERROR", [f"Closing Link: {host} ({why})"], trailing=True).serialize()

    def keepalive(self) -> bytes:
        return IrcMessage("PING", [self.server], source=self.server).serialize()
