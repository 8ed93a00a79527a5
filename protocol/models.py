"""Every message of the wire protocol (docs/protocol.md) as a frozen pydantic model.

Client messages validate the name and length rules on construction; a value of
the right type that breaks a rule raises a ``PydanticCustomError`` whose type is
the wire error code (``nick_invalid``, ``room_invalid``, ``text_too_long``), so
:func:`protocol.codec.parse_client` can answer with it.  The longest ``text`` is
a server setting: pass it as ``context={"max_text": N}`` when validating.

Server messages are plain data: a client trusts their shape, never their text.
Optional fields that are absent stay absent on the wire (``exclude_if``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

PROTOCOL_VERSION = 1
DEFAULT_MAX_TEXT = 4000
MAX_ID_LENGTH = 64
HISTORY_LIMIT_MAX = 100
HISTORY_LIMIT_DEFAULT = 50

NICK_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,31}")
ROOM_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")

#: Every ``error.code`` (and fatal ``bye.reason``) of docs/protocol.md, additions included.
ErrorCode = Literal[
    "bad_frame",
    "frame_too_large",
    "bad_message",
    "unknown_type",
    "not_ready",
    "protocol_unsupported",
    "auth_failed",
    "nick_invalid",
    "nick_taken",
    "room_invalid",
    "room_limit",
    "not_in_room",
    "no_such_nick",
    "text_too_long",
    "rate_limited",
    "server_full",
    "server_shutdown",
    "unavailable",
    "not_op",
    "banned",
    "invite_only",
    "bad_key",
    "room_full",
    "muted",
    "no_such_file",
    "file_too_large",
    "quota_exceeded",
    "file_corrupt",
    "bad_token",
]
ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))
#: Codes that a validator raises for a well-typed value breaking a rule.
RULE_CODES: dict[str, ErrorCode] = {
    "nick_invalid": "nick_invalid",
    "room_invalid": "room_invalid",
    "text_too_long": "text_too_long",
}


def is_valid_nick(nick: str) -> bool:
    return NICK_RE.fullmatch(nick) is not None


def is_valid_room(room: str) -> bool:
    return ROOM_RE.fullmatch(room) is not None


def fold(name: str) -> str:
    """The case-insensitive key of a nick or room name (both are ASCII)."""
    return name.lower()


NICK_RULE = "a nick is 1-32 characters from A-Z a-z 0-9 _ - and does not start with -"


def _check_nick(value: str) -> str:
    if NICK_RE.fullmatch(value) is None:
        raise PydanticCustomError("nick_invalid", NICK_RULE)
    return value


def _check_room(value: str) -> str:
    if ROOM_RE.fullmatch(value) is None:
        raise PydanticCustomError(
            "room_invalid", "a room name is 1-64 characters from A-Z a-z 0-9 _ - ."
        )
    return value


def _max_text(info: ValidationInfo) -> int:
    context = info.context
    if isinstance(context, dict):
        limit = context.get("max_text")
        if isinstance(limit, int):
            return limit
    return DEFAULT_MAX_TEXT


def _check_text(value: str, info: ValidationInfo) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value:
        raise PydanticCustomError("empty_text", "text is empty")
    limit = _max_text(info)
    if len(value) > limit:
        raise PydanticCustomError(
            "text_too_long",
            "text is {length} characters, the limit is {limit}",
            {"length": len(value), "limit": limit},
        )
    return value


def _check_topic(value: str, info: ValidationInfo) -> str | None:
    value = value.replace("\x00", "")
    limit = _max_text(info)
    if len(value) > limit:
        raise PydanticCustomError(
            "text_too_long",
            "topic is {length} characters, the limit is {limit}",
            {"length": len(value), "limit": limit},
        )
    return value or None


Nick = Annotated[str, AfterValidator(_check_nick)]
Room = Annotated[str, AfterValidator(_check_room)]
Text = Annotated[str, AfterValidator(_check_text)]
TopicText = Annotated[str, AfterValidator(_check_topic)]
Id = Annotated[str, Field(max_length=MAX_ID_LENGTH)]
Token = Annotated[str, Field(max_length=MAX_ID_LENGTH)]


def _absent(value: Any) -> bool:
    return value is None


def _false(value: Any) -> bool:
    return value is False


class _Model(BaseModel):
    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="ignore",
        serialize_by_alias=True,
        validate_by_name=True,
        validate_by_alias=True,
    )


# --- client to server -------------------------------------------------------


class _Request(_Model):
    """Any client frame may carry an ``id``: an error it causes echoes it."""

    id: Id | None = Field(default=None, exclude_if=_absent)


class Hello(_Request):
    """The nick is checked by the server, after ``protocol`` and ``password``:
    docs/protocol.md fixes that order, so it cannot be a field validator here."""

    type: Literal["hello"] = "hello"
    nick: str
    protocol: int
    password: str | None = Field(default=None, exclude_if=_absent)


class Join(_Request):
    type: Literal["join"] = "join"
    room: Room


class Leave(_Request):
    type: Literal["leave"] = "leave"
    room: Room


class Say(_Request):
    type: Literal["say"] = "say"
    room: Room
    text: Text
    action: bool = Field(default=False, exclude_if=_false)


class Whisper(_Request):
    type: Literal["whisper"] = "whisper"
    to: Nick
    text: Text


class SetNick(_Request):
    type: Literal["nick"] = "nick"
    nick: Nick


class SetTopic(_Request):
    type: Literal["topic"] = "topic"
    room: Room
    topic: TopicText | None


class ListRooms(_Request):
    type: Literal["list"] = "list"


class Who(_Request):
    type: Literal["who"] = "who"
    room: Room


class HistoryRequest(_Request):
    type: Literal["history"] = "history"
    room: Room
    before: int | None = Field(default=None, exclude_if=_absent)
    limit: int = Field(default=HISTORY_LIMIT_DEFAULT, ge=1, le=HISTORY_LIMIT_MAX)


class Ping(_Request):
    """Sent by either side; the other answers :class:`Pong` with the same token."""

    type: Literal["ping"] = "ping"
    token: Token | None = Field(default=None, exclude_if=_absent)


class Pong(_Request):
    type: Literal["pong"] = "pong"
    token: Token | None = Field(default=None, exclude_if=_absent)


class Quit(_Request):
    type: Literal["quit"] = "quit"
    reason: str | None = Field(default=None, exclude_if=_absent)


ClientMessage = Annotated[
    Hello
    | Join
    | Leave
    | Say
    | Whisper
    | SetNick
    | SetTopic
    | ListRooms
    | Who
    | HistoryRequest
    | Ping
    | Pong
    | Quit,
    Field(discriminator="type"),
]

# --- server to client -------------------------------------------------------


class Message(_Model):
    type: Literal["message"] = "message"
    room: str
    from_: str = Field(alias="from")
    text: str
    ts: float
    seq: int
    id: str | None = Field(default=None, exclude_if=_absent)
    action: bool = False


class Welcome(_Model):
    type: Literal["welcome"] = "welcome"
    nick: str
    protocol: int = PROTOCOL_VERSION
    epoch: str
    server: str
    rooms: list[str]
    motd: str | None = Field(default=None, exclude_if=_absent)
    truncated: bool = Field(default=False, exclude_if=_false)
    #: The server's limits, so a client can check a message before sending it
    #: (``rate`` 0 means no flood control).  Optional: older servers omit them.
    max_text: int | None = Field(default=None, exclude_if=_absent)
    max_frame: int | None = Field(default=None, exclude_if=_absent)
    rate: float | None = Field(default=None, exclude_if=_absent)
    burst: int | None = Field(default=None, exclude_if=_absent)


class Joined(_Model):
    type: Literal["joined"] = "joined"
    room: str
    members: list[str]
    topic: str | None
    history: list[Message]
    #: Set when even with no history the member list had to be cut to fit.
    truncated: bool = Field(default=False, exclude_if=_false)


class Left(_Model):
    type: Literal["left"] = "left"
    room: str


class Presence(_Model):
    type: Literal["presence"] = "presence"
    room: str
    nick: str
    event: Literal["join", "leave", "quit"]
    reason: str | None = Field(default=None, exclude_if=_absent)


class WhisperMessage(_Model):
    type: Literal["whisper"] = "whisper"
    from_: str = Field(alias="from")
    to: str
    text: str
    ts: float
    id: str | None = Field(default=None, exclude_if=_absent)


class NickChanged(_Model):
    type: Literal["nick_changed"] = "nick_changed"
    old: str
    new: str


class Topic(_Model):
    type: Literal["topic"] = "topic"
    room: str
    topic: str | None
    by: str


class RoomInfo(_Model):
    name: str
    members: int
    topic: str | None


class RoomList(_Model):
    type: Literal["room_list"] = "room_list"
    rooms: list[RoomInfo]
    truncated: bool = Field(default=False, exclude_if=_false)


class Members(_Model):
    type: Literal["members"] = "members"
    room: str
    members: list[str]
    truncated: bool = Field(default=False, exclude_if=_false)


class History(_Model):
    type: Literal["history"] = "history"
    room: str
    messages: list[Message]


def _known_or_newer(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    """A code of this version, or any string when reading a server (``newer_codes``):
    a newer server may send codes this client does not know, and it still shows them."""
    try:
        return handler(value)
    except ValidationError:
        context = info.context
        if isinstance(value, str) and isinstance(context, dict) and context.get("newer_codes"):
            return value
        raise


class Error(_Model):
    type: Literal["error"] = "error"
    code: Annotated[ErrorCode, WrapValidator(_known_or_newer)]
    message: str
    ref: str | None = Field(default=None, exclude_if=_absent)
    id: str | None = Field(default=None, exclude_if=_absent)


class Bye(_Model):
    type: Literal["bye"] = "bye"
    reason: str


ServerMessage = Annotated[
    Welcome
    | Joined
    | Left
    | Presence
    | Message
    | WhisperMessage
    | NickChanged
    | Topic
    | RoomList
    | Members
    | History
    | Ping
    | Pong
    | Error
    | Bye,
    Field(discriminator="type"),
]

CLIENT_ADAPTER: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
SERVER_ADAPTER: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)

CLIENT_TYPES = frozenset(
    m.model_fields["type"].default
    for m in (
        Hello,
        Join,
        Leave,
        Say,
        Whisper,
        SetNick,
        SetTopic,
        ListRooms,
        Who,
        HistoryRequest,
        Ping,
        Pong,
        Quit,
    )
)
#: What a client may send before ``welcome``.
PRE_WELCOME_TYPES = frozenset({"hello", "ping", "pong"})
#: Requests that cost one token of the sender's rate limit ("Liveness and limits").
RATED_TYPES = frozenset({"say", "whisper", "nick", "topic"})
