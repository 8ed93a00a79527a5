"""The IRC door: IRC lines in, hub requests out; hub messages in, IRC lines out.

An :class:`IrcConnection` is a :class:`~chat_server.doors.base.Connection`
like the native one: no task, stream or queue of its own.  Each read goes
through a :class:`~.wire.LineDecoder`; each line is turned by a command
handler (:mod:`.commands`, :mod:`.moderating`) into zero or more protocol
requests, handed to the hub lazily as the native door does, or answered
directly (``CAP``, ``PING`` before registration, 421...).  A line the door
answers by itself first lets the hub hand out the room messages it holds
(:meth:`~chat_server.hub.Queries.flush`), so no reply overtakes an echo.

Each request goes with an :class:`~.asked.Asked`: which IRC command it came
from, so that the hub's answer is worded as that command's reply (a
``members`` reply is 353/366 for ``NAMES`` and 352/315 for ``WHO``; a
``not_in_room`` error is 404 for ``PRIVMSG`` and 442 for ``PART``).  The hub
answers a request before it takes the next one, so the door knows which
command an answer belongs to (:attr:`IrcConnection.asked`).

Output: broadcasts (messages, joins, nick changes...) are rendered once per
distinct rendering, kept in :attr:`Out.memo <chat_server.hub.Out.memo>` by
the capabilities that change the lines (:mod:`.render`); replies to one
client are rendered for it alone (:mod:`.replies`).
"""

from __future__ import annotations

import logging
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator

from protocol import Error, ErrorCode, MessageError, RoomModes, fold

from ... import __version__
from ...config import Config, is_server_name
from ...hub import Hub, Out, Request, Seat
from ..base import Connection, Door, Outbox
from . import commands, render, replies
from .asked import Asked
from .caps import CapNegotiation
from .errors import InvalidUtf8, LineTooLong, MalformedLine
from .mapping import hostmask, irc_host
from .numerics import ERR_INPUTTOOLONG, ERR_UNKNOWNCOMMAND, INVALID_UTF8, Numeric, fail, reply
from .registration import Phase, Registration
from .render import AWAY_NOTIFY, MESSAGE_TAGS, SERVER_TIME
from .wire import IrcMessage, LineDecoder

log = logging.getLogger(__name__)

NETWORK = "hubbub"
#: Whispers a connection remembers while a shared store decides them.
MAX_AWAITED = 64
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
        #: Client-only tags of the messages and whispers IRC clients sent lately.
        self.client_tags = ClientTags()

    @property
    def server_name(self) -> str:
        return self.config.irc_server_name or default_server_name()

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
        return None

    def room_modes(self, room: str) -> RoomModes:
        """Room ``room``'s modes."""
        return RoomModes()

    def is_server_operator(self, nick: str) -> bool:
        """Whether the holder of ``nick`` is a server operator."""
        seat = self.hub.queries.seat(nick)
        member = self.irc(seat) if seat is not None else None
        return member is not None and member.opered

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

    The hub carries no IRC tags: a ``PRIVMSG`` with tags goes to the hub with
    an ``id`` from :meth:`keep` (the native ``id`` every recipient gets back),
    and the door finds the tags again by that ``id`` when it renders the
    message, here or after a shared store handed it back.  Only the ``LIMIT``
    latest are kept, and a message gets them only from its own sender, so an
    ``id`` copied by someone else carries nothing.
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._kept: dict[str, tuple[str, dict[str, str]]] = {}
        self._count = 0
        self._prefix = f"irc+{secrets.token_hex(4)}-"

    def keep(self, sender: str, tags: dict[str, str]) -> str:
        """Keep ``tags`` of a message from folded nick ``sender``; the ``id`` to send it with."""
        self._count += 1
        key = f"{self._prefix}{self._count}"
        self._kept[key] = (sender, tags)
        if len(self._kept) > self.LIMIT:
            del self._kept[next(iter(self._kept))]
        return key

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


class IrcConnection(Connection):
    """One IRC client; see the module docstring."""

    door: IrcDoor
    # Slots for what this door adds: an idle connection is mostly these.
    __slots__ = (
        "_batches",
        "_fatal",
        "asked",
        "caps",
        "channels",
        "decoder",
        "echo",
        "folded",
        "hostmask",
        "invisible",
        "last_quit",
        "multi_prefix",
        "nick",
        "opered",
        "quit_reason",
        "realname",
        "registration",
        "renaming",
        "render_key",
        "standard_replies",
        "user",
        "whispers",
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
        #: The IRC command whose requests the hub is answering now.
        self.asked: Asked | None = None
        #: The nick a ``NICK`` asked for, while the hub decides it.
        self.renaming: str | None = None
        #: The folded nick of the last ``QUIT`` line sent: a quit reaches us once per
        #: shared room, and IRC says it once.
        self.last_quit: str | None = None
        self.quit_reason: str | None = None
        #: Whispers sent and neither echoed nor refused yet, by id: what they asked
        #: (made on the first whisper).
        self.whispers: dict[str, Asked] | None = None
        #: Set by a successful ``OPER`` (user mode ``o``).
        self.opered = False
        #: User mode ``i`` asked for: accepted, it changes nothing.
        self.invisible = False
        self._fatal: tuple[str, Error | None] | None = None
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
        try:
            self.hub.receive(seat, self.requests())
        finally:
            self.asked = None
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
            if registration is not None and registration.phase is Phase.REGISTERING:
                return  # the hub has our hello: its answer comes first
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
                self.asked = asked
                yield request
            self.asked = None

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
        """Send lines of the door's own, after what the hub holds back."""
        if not messages or self._chunks is None:
            return
        self.hub.queries.flush()
        self.queue(b"".join(message.serialize() for message in messages))

    def emit_bytes(self, data: bytes) -> None:
        """:meth:`emit` for lines already serialized."""
        if data and self._chunks is not None:
            self.hub.queries.flush()
            self.queue(data)

    def awaiting(self, message_id: str, asked: Asked) -> None:
        """A whisper went to the hub with ``message_id``; its answer may come later."""
        if self.whispers is None:
            self.whispers = {}
        self.whispers[message_id] = asked
        if len(self.whispers) > MAX_AWAITED:
            del self.whispers[next(iter(self.whispers))]

    def answered(self, message_id: str | None) -> Asked | None:
        """What the whisper ``message_id`` asked, forgotten now it is answered."""
        if message_id is None or not self.whispers:
            return None
        return self.whispers.pop(message_id, None)

    def fatal(self, reason: str, error: Error | None = None) -> None:
        """Close once the hub has taken this read (an answer cannot close mid-read)."""
        self._fatal = (reason, error)

    def batch_id(self) -> str:
        self._batches += 1
        return f"h{self._batches}"

    def refused(self, code: ErrorCode, text: str, kind: str) -> MessageError:
        """A request the door could not even build: the hub answers it as an error."""
        return MessageError(code, text, ref=kind)

    def welcomed(self, nick: str) -> None:
        """The hub welcomed this client as ``nick``: it is registered."""
        registration = self.registration
        assert registration is not None
        registration.complete(nick)
        self.user = registration.username or "user"
        self.realname = registration.realname or ""
        self.registration = None
        self.renamed(nick)

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
        return "+" + ("i" if self.invisible else "") + ("o" if self.opered else "")

    def has(self, cap: str) -> bool:
        return cap in self.caps.enabled

    # --- output ------------------------------------------------------------------

    def send(self, out: Out) -> None:
        """Render the hub's ``out`` for this client and queue it (see the module docstring)."""
        if self._chunks is None:
            return
        if type(out.messages[0]) in render.BROADCASTS:
            data = render.broadcast(self, out)
        else:
            self.last_quit = None
            data = replies.answer(self, out.messages)
        if data:
            self.queue(data)

    def goodbye(self, reason: str, error: Error | None) -> bytes:
        why = CLOSING.get(reason, reason)
        if reason == "quit" and self.quit_reason:
            why = f"Quit: {self.quit_reason}"
        elif error is not None and reason not in ("auth_failed", "rate_limited"):
            why = f"{why}: {error.message}"
        host = irc_host(self.peer)
        return IrcMessage("ERROR", [f"Closing Link: {host} ({why})"], trailing=True).serialize()

    def keepalive(self) -> bytes:
        return IrcMessage("PING", [self.server], source=self.server).serialize()


def lines(messages: Iterable[IrcMessage]) -> bytes:
    """The wire bytes of ``messages``, in order."""
    return b"".join(message.serialize() for message in messages)


__all__ = ["Asked", "IrcConnection", "IrcDoor", "lines"]
