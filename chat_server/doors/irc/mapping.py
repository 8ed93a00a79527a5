"""Names and references between the hub and IRC.

- A channel is ``#`` and a room name: ``#general`` is the room ``general``.
  Nicks need no mapping: a hubbub nick is already a valid IRC nick, and an
  IRC nick that :func:`protocol.is_valid_nick` refuses gets 432.
- A ``msgid`` is ``EPOCH:ROOM:SEQ`` with the room folded, so it names one
  message for as long as the history keeps it.  It is read back from the
  right: a room holds no ``:`` and a seq only digits, so an epoch may.
- ``server-time`` is ``YYYY-MM-DDThh:mm:ss.sssZ`` in UTC (IRCv3 server-time);
  reading one accepts 0 to 9 decimals of a second, nothing else.
- ``CHATHISTORY`` references are ``msgid=...`` or ``timestamp=...``; the ``*``
  of ``LATEST`` is left to the caller.
- Ban masks (PROTOCOL.md, "IRC gateway"): ``NICK!*@*`` or ``NICK`` is a nick
  ban, ``*!*@ADDRESS`` or ``*!*@CIDR`` an address ban; anything else is
  refused.  Addresses are written back as :mod:`ipaddress` spells them
  (``*!*@10.1.2.3/8`` comes back ``*!*@10.0.0.0/8``), so a mask shown in
  ``MODE #room b`` is the one that removes the ban.

Every ``parse_*`` function here returns ``None`` for a value a peer got
wrong; the caller answers with the numeric that fits.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from protocol import fold, is_valid_nick, is_valid_room

from .errors import LocalIrcError

CHANNEL_PREFIX = "#"
_SEQ = re.compile(r"[1-9][0-9]{0,17}")
_SERVER_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z"
)


# --- rooms --------------------------------------------------------------------


def channel_name(room: str) -> str:
    """The channel of a room: ``general`` is ``#general``."""
    return CHANNEL_PREFIX + room


def room_name(channel: str) -> str | None:
    """The room of a channel, or ``None`` if ``channel`` is not ``#`` and a valid
    room name (answer 403 ERR_NOSUCHCHANNEL, as ergo does for a bad name)."""
    if not channel.startswith(CHANNEL_PREFIX):
        return None
    room = channel[len(CHANNEL_PREFIX) :]
    return room if is_valid_room(room) else None


# --- hosts --------------------------------------------------------------------


def irc_host(address: str) -> str:
    """``address`` as IRC can carry it: an IPv6 address starting with ``:`` gets
    a leading ``0`` (``::1`` is ``0::1``), or it could not be a parameter."""
    return "0" + address if address.startswith(":") else address


def hostmask(nick: str, user: str, host: str) -> str:
    """``nick!user@host``, the source of what a user sends."""
    return f"{nick}!{user}@{irc_host(host)}"


# --- message ids --------------------------------------------------------------


def _valid_epoch(epoch: str) -> bool:
    return bool(epoch) and all(c.isprintable() and not c.isspace() for c in epoch)


@dataclass(frozen=True, slots=True)
class MsgId:
    """One message: its history ``epoch``, its folded ``room`` and its ``seq``.

    ``str()`` gives the ``msgid`` tag value.  Raises :class:`LocalIrcError` for
    an epoch that is empty or holds whitespace or a control character, an
    invalid room or a seq below 1: such an id could not come back as a
    ``CHATHISTORY`` parameter.
    """

    epoch: str
    room: str
    seq: int

    def __post_init__(self) -> None:
        if not _valid_epoch(self.epoch) or not is_valid_room(self.room) or self.seq < 1:
            raise LocalIrcError(f"no msgid for {self.epoch!r}, {self.room!r}, {self.seq!r}")
        object.__setattr__(self, "room", fold(self.room))

    def __str__(self) -> str:
        return f"{self.epoch}:{self.room}:{self.seq}"


def msgid(epoch: str, room: str, seq: int) -> str:
    """The ``msgid`` tag value of message ``seq`` of ``room``."""
    return str(MsgId(epoch, room, seq))


def parse_msgid(text: str) -> MsgId | None:
    """The message a ``msgid`` names, or ``None`` if it is not one of ours."""
    parts = text.rsplit(":", 2)
    if len(parts) != 3:
        return None
    epoch, room, seq = parts
    if not _valid_epoch(epoch) or not is_valid_room(room) or not _SEQ.fullmatch(seq):
        return None
    return MsgId(epoch, room, int(seq))


# --- server-time --------------------------------------------------------------


def format_server_time(ts: float) -> str:
    """The ``time`` tag of unix time ``ts``: UTC, to the nearest millisecond."""
    seconds, millis = divmod(round(ts * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def parse_server_time(text: str) -> float | None:
    """The unix time of a ``YYYY-MM-DDThh:mm:ss[.s...]Z`` timestamp, or ``None``."""
    match = _SERVER_TIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    fraction = match[7] or ""
    return moment.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


@dataclass(frozen=True, slots=True)
class TimestampRef:
    """A ``timestamp=`` reference of ``CHATHISTORY``: a unix time."""

    ts: float


def parse_message_ref(text: str) -> MsgId | TimestampRef | None:
    """A ``CHATHISTORY`` reference, ``msgid=...`` or ``timestamp=...``, or ``None``
    (answer ``FAIL CHATHISTORY INVALID_PARAMS``)."""
    kind, equals, value = text.partition("=")
    if not equals:
        return None
    if kind == "msgid":
        return parse_msgid(value)
    if kind == "timestamp":
        ts = parse_server_time(value)
        return None if ts is None else TimestampRef(ts)
    return None


# --- ban masks ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BanMask:
    """A moderation ban as IRC shows it: by ``nick`` or by ``address`` (an IP
    address or CIDR network), exactly one of them.

    Build one from a native ban (``BanMask(nick=...)`` or
    ``BanMask(address=...)``) and use :attr:`mask` for 367 and ``MODE``;
    raises :class:`LocalIrcError` unless exactly one is given and valid.
    """

    nick: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        if (self.nick is None) == (self.address is None):
            raise LocalIrcError("a ban is by nick or by address, exactly one")
        if self.nick is not None and not is_valid_nick(self.nick):
            raise LocalIrcError(f"no ban mask for nick {self.nick!r}")
        if self.address is not None:
            address = _canonical_address(self.address)
            if address is None:
                raise LocalIrcError(f"no ban mask for address {self.address!r}")
            object.__setattr__(self, "address", address)

    @property
    def mask(self) -> str:
        if self.nick is not None:
            return f"{self.nick}!*@*"
        return f"*!*@{self.address}"


def parse_ban_mask(mask: str) -> BanMask | None:
    """The ban a mask asks for, or ``None`` for a mask hubbub cannot hold."""
    if "!" not in mask and "@" not in mask:
        return BanMask(nick=mask) if is_valid_nick(mask) else None
    nick, bang, rest = mask.partition("!")
    user, at, host = rest.partition("@")
    if not bang or not at or user != "*":
        return None
    if host == "*":
        return BanMask(nick=nick) if is_valid_nick(nick) else None
    if nick != "*":
        return None
    address = _canonical_address(host)
    return BanMask(address=address) if address is not None else None


def _canonical_address(text: str) -> str | None:
    """An IP address or CIDR network as :mod:`ipaddress` writes it, or ``None``."""
    if "%" in text:  # an IPv6 zone: it names an interface of one host, not an address
        return None
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
