"""The additions for moderation, away and whois (docs/protocol.md, "Additions").

Requests validate their fields like the core ones: a missing or mistyped
field is ``bad_message``; a nick or room that breaks its rule is
``nick_invalid`` / ``room_invalid``.  Who may send which request, and the
refusals that depend on the room (``not_op``, ``banned`` ...), are the
server's business.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from .fields import Nick, RequestModel, Room, Text, WireModel, absent, is_false

#: Longest reason (kick, ban, kill) and away text, in characters.
MAX_REASON = 300
KEY_RULE = "a room key is 1-32 characters without spaces or commas"


def _check_key(value: str | None) -> str | None:
    if value is not None and not is_valid_key(value):
        raise ValueError(KEY_RULE)
    return value


def is_valid_key(key: str) -> bool:
    """A room key: 1-32 characters, none of them a space (any whitespace) or a comma."""
    return 1 <= len(key) <= 32 and "," not in key and not any(c.isspace() for c in key)


def _check_address(value: str) -> str:
    """An address as :mod:`ipaddress` writes it; a network (with ``/``) as its network."""
    try:
        if "/" in value:
            return str(ipaddress.ip_network(value, strict=False))
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("an address is an IPv4 or IPv6 address or CIDR network") from None


Reason = Annotated[str, Field(max_length=MAX_REASON)]
Key = Annotated[str, AfterValidator(_check_key)]
#: An IP address or network, normalised (``10.1.2.3/8`` is ``10.0.0.0/8``, ``::0001`` is ``::1``).
Address = Annotated[str, AfterValidator(_check_address)]
#: Seconds a ban or mute lasts (any positive number); absent means until lifted.
Duration = Annotated[float, Field(gt=0, le=10 * 365 * 86400)]


class RoomModes(WireModel):
    """All five modes of a room, always; off and ``null`` by default."""

    invite_only: bool = False
    key: str | None = None
    topic_ops: bool = False
    moderated: bool = False
    limit: int | None = None


class BanEntry(WireModel):
    """One ban of a room: by nick (case-insensitive) or by address."""

    nick: str | None = Field(default=None, exclude_if=absent)
    address: str | None = Field(default=None, exclude_if=absent)
    by: str
    reason: str | None = Field(default=None, exclude_if=absent)
    #: When it ends (unix seconds), or ``null`` for never.
    until: float | None = None


# --- client to server -----------------------------------------------------------


class Away(RequestModel):
    type: Literal["away"] = "away"
    #: Absent or ``""`` clears the away state.
    text: Reason | None = Field(default=None, exclude_if=absent)


class Whois(RequestModel):
    type: Literal["whois"] = "whois"
    nick: Nick


class _Target(RequestModel):
    room: Room
    nick: Nick


class Op(_Target):
    type: Literal["op"] = "op"


class Deop(_Target):
    type: Literal["deop"] = "deop"


class Voice(_Target):
    type: Literal["voice"] = "voice"


class Devoice(_Target):
    type: Literal["devoice"] = "devoice"


class Kick(_Target):
    type: Literal["kick"] = "kick"
    reason: Reason | None = Field(default=None, exclude_if=absent)


class _BanTarget(RequestModel):
    """Exactly one of ``nick`` and ``address``."""

    room: Room
    nick: Nick | None = Field(default=None, exclude_if=absent)
    address: Address | None = Field(default=None, exclude_if=absent)

    @model_validator(mode="after")
    def _one_target(self) -> _BanTarget:
        if (self.nick is None) == (self.address is None):
            raise ValueError("give exactly one of nick and address")
        return self


class Ban(_BanTarget):
    type: Literal["ban"] = "ban"
    duration: Duration | None = Field(default=None, exclude_if=absent)
    reason: Reason | None = Field(default=None, exclude_if=absent)


class Unban(_BanTarget):
    type: Literal["unban"] = "unban"


class Bans(RequestModel):
    type: Literal["bans"] = "bans"
    room: Room


class Mute(_Target):
    type: Literal["mute"] = "mute"
    duration: Duration | None = Field(default=None, exclude_if=absent)


class Unmute(_Target):
    type: Literal["unmute"] = "unmute"


class SetMode(RequestModel):
    """Any of the five modes; a field left out stays as it is."""

    type: Literal["mode"] = "mode"
    room: Room
    invite_only: bool | None = Field(default=None, exclude_if=absent)
    #: A new key, or ``null`` to remove it: absent leaves it alone.
    key: Key | None = Field(default=None)
    topic_ops: bool | None = Field(default=None, exclude_if=absent)
    moderated: bool | None = Field(default=None, exclude_if=absent)
    #: At least 1, or ``null`` to lift it: absent leaves it alone.
    limit: Annotated[int, Field(ge=1)] | None = Field(default=None)

    def changes(self) -> dict[str, object]:
        """The modes this request sets, by name (``key``/``limit`` may be set to ``None``)."""
        return {name: getattr(self, name) for name in self.model_fields_set & _MODE_NAMES}

    @model_serializer(mode="wrap")
    def _only_what_is_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """``key`` and ``limit`` go on the wire only when set: ``null`` there removes them."""
        data: dict[str, Any] = handler(self)
        for name in ("key", "limit"):
            if name not in self.model_fields_set:
                data.pop(name, None)
        return data


_MODE_NAMES = frozenset(RoomModes.model_fields)


class Invite(_Target):
    type: Literal["invite"] = "invite"


class Oper(RequestModel):
    type: Literal["oper"] = "oper"
    password: str


class Kill(RequestModel):
    type: Literal["kill"] = "kill"
    nick: Nick
    reason: Reason | None = Field(default=None, exclude_if=absent)


class SendNotice(RequestModel):
    type: Literal["notice"] = "notice"
    text: Text


# --- server to client -----------------------------------------------------------


class AwayChanged(WireModel):
    type: Literal["away"] = "away"
    nick: str
    text: str | None


class WhoisReply(WireModel):
    type: Literal["whois"] = "whois"
    nick: str
    rooms: list[str]
    away: str | None
    #: Seconds since their last say or whisper.
    idle: float
    #: When they connected (unix seconds).
    since: float
    #: The door they came through: ``native``, ``irc``, ...
    via: str
    op_in: list[str]


class OpChanged(WireModel):
    type: Literal["op_changed"] = "op_changed"
    room: str
    nick: str
    op: bool
    by: str


class VoiceChanged(WireModel):
    type: Literal["voice_changed"] = "voice_changed"
    room: str
    nick: str
    voiced: bool
    by: str


class Kicked(WireModel):
    type: Literal["kicked"] = "kicked"
    room: str
    by: str
    reason: str | None = Field(default=None, exclude_if=absent)


class BanChanged(WireModel):
    type: Literal["ban_changed"] = "ban_changed"
    room: str
    ban: BanEntry
    by: str
    removed: bool = Field(default=False, exclude_if=is_false)


class BanList(WireModel):
    type: Literal["ban_list"] = "ban_list"
    room: str
    bans: list[BanEntry]
    truncated: bool = Field(default=False, exclude_if=is_false)


class MuteChanged(WireModel):
    type: Literal["mute_changed"] = "mute_changed"
    room: str
    nick: str
    muted: bool
    by: str
    until: float | None = Field(default=None, exclude_if=absent)


class RoomModeChanged(WireModel):
    type: Literal["room_mode"] = "room_mode"
    room: str
    modes: RoomModes
    by: str


class Invited(WireModel):
    type: Literal["invited"] = "invited"
    room: str
    by: str


class Opered(WireModel):
    type: Literal["opered"] = "opered"


class Notice(WireModel):
    type: Literal["notice"] = "notice"
    from_: str = Field(alias="from")
    text: str
    ts: float


MODERATION_REQUESTS = (
    Away,
    Whois,
    Op,
    Deop,
    Voice,
    Devoice,
    Kick,
    Ban,
    Unban,
    Bans,
    Mute,
    Unmute,
    SetMode,
    Invite,
    Oper,
    Kill,
    SendNotice,
)
