"""Every message of the wire protocol (docs/protocol.md) as a frozen pydantic model.

Client messages validate the name and length rules on construction (see
:mod:`protocol.fields`).  Server messages are plain data: a client trusts
their shape, never their text.  Optional fields that are absent stay absent
on the wire (``exclude_if``).  The additions of docs/protocol.md live in
:mod:`protocol.moderation` and :mod:`protocol.files`; the unions here take
them all.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from .fields import (
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    PROTOCOL_VERSION,
    ErrorCode,
    Nick,
    RequestModel,
    Room,
    Text,
    Token,
    TopicText,
    WireModel,
    absent,
    is_false,
)
from .files import (
    FILE_REQUESTS,
    DownloadTicket,
    FileGet,
    FileInfo,
    FileList,
    FileOffer,
    ListFiles,
    Transfer,
    TransferDone,
    TransferReady,
    UploadTicket,
)
from .moderation import (
    MODERATION_REQUESTS,
    Away,
    AwayChanged,
    Ban,
    BanChanged,
    BanList,
    Bans,
    Deop,
    Devoice,
    Invite,
    Invited,
    Kick,
    Kicked,
    Kill,
    Mute,
    MuteChanged,
    Notice,
    Op,
    OpChanged,
    Oper,
    Opered,
    RoomModeChanged,
    RoomModes,
    SendNotice,
    SetMode,
    Unban,
    Unmute,
    Voice,
    VoiceChanged,
    Whois,
    WhoisReply,
)

# --- client to server -------------------------------------------------------


class Hello(RequestModel):
    """The nick is checked by the server, after ``protocol`` and ``password``:
    docs/protocol.md fixes that order, so it cannot be a field validator here."""

    type: Literal["hello"] = "hello"
    nick: str
    protocol: int
    password: str | None = Field(default=None, exclude_if=absent)


class Join(RequestModel):
    type: Literal["join"] = "join"
    room: Room
    #: The room's key, if it has one (``mode`` ``key``).
    key: str | None = Field(default=None, exclude_if=absent)


class Leave(RequestModel):
    type: Literal["leave"] = "leave"
    room: Room


class Say(RequestModel):
    type: Literal["say"] = "say"
    room: Room
    text: Text
    action: bool = Field(default=False, exclude_if=is_false)


class Whisper(RequestModel):
    type: Literal["whisper"] = "whisper"
    to: Nick
    text: Text
    #: A ``/me`` (an addition: IRC's private CTCP ACTION).
    action: bool = Field(default=False, exclude_if=is_false)


class SetNick(RequestModel):
    type: Literal["nick"] = "nick"
    nick: Nick


class SetTopic(RequestModel):
    type: Literal["topic"] = "topic"
    room: Room
    topic: TopicText | None


class ListRooms(RequestModel):
    type: Literal["list"] = "list"


class Who(RequestModel):
    type: Literal["who"] = "who"
    room: Room


class HistoryRequest(RequestModel):
    type: Literal["history"] = "history"
    room: Room
    before: int | None = Field(default=None, exclude_if=absent)
    limit: int = Field(default=HISTORY_LIMIT_DEFAULT, ge=1, le=HISTORY_LIMIT_MAX)


class Ping(RequestModel):
    """Sent by either side; the other answers :class:`Pong` with the same token."""

    type: Literal["ping"] = "ping"
    token: Token | None = Field(default=None, exclude_if=absent)


class Pong(RequestModel):
    type: Literal["pong"] = "pong"
    token: Token | None = Field(default=None, exclude_if=absent)


class Quit(RequestModel):
    type: Literal["quit"] = "quit"
    reason: str | None = Field(default=None, exclude_if=absent)


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
    | Quit
    | Away
    | Whois
    | Op
    | Deop
    | Voice
    | Devoice
    | Kick
    | Ban
    | Unban
    | Bans
    | Mute
    | Unmute
    | SetMode
    | Invite
    | Oper
    | Kill
    | SendNotice
    | FileOffer
    | FileGet
    | ListFiles
    | Transfer,
    Field(discriminator="type"),
]

# --- server to client -------------------------------------------------------


class Message(WireModel):
    type: Literal["message"] = "message"
    room: str
    from_: str = Field(alias="from")
    text: str
    ts: float
    seq: int
    id: str | None = Field(default=None, exclude_if=absent)
    action: bool = False
    #: A shared file (``file_offer``); ``text`` then says ``shared NAME (SIZE)``.
    file: FileInfo | None = Field(default=None, exclude_if=absent)


class Welcome(WireModel):
    type: Literal["welcome"] = "welcome"
    nick: str
    protocol: int = PROTOCOL_VERSION
    epoch: str
    server: str
    rooms: list[str]
    motd: str | None = Field(default=None, exclude_if=absent)
    truncated: bool = Field(default=False, exclude_if=is_false)
    #: The server's limits, so a client can check a message before sending it
    #: (``rate`` 0 means no flood control).  Optional: older servers omit them.
    max_text: int | None = Field(default=None, exclude_if=absent)
    max_frame: int | None = Field(default=None, exclude_if=absent)
    rate: float | None = Field(default=None, exclude_if=absent)
    burst: int | None = Field(default=None, exclude_if=absent)


class Joined(WireModel):
    type: Literal["joined"] = "joined"
    room: str
    members: list[str]
    topic: str | None
    history: list[Message]
    #: Set when even with no history the member list had to be cut to fit.
    truncated: bool = Field(default=False, exclude_if=is_false)
    ops: list[str] = Field(default_factory=list)
    voiced: list[str] = Field(default_factory=list)
    modes: RoomModes = Field(default_factory=RoomModes)
    topic_by: str | None = Field(default=None, exclude_if=absent)
    topic_ts: float | None = Field(default=None, exclude_if=absent)


class Left(WireModel):
    type: Literal["left"] = "left"
    room: str


class Presence(WireModel):
    type: Literal["presence"] = "presence"
    room: str
    nick: str
    event: Literal["join", "leave", "quit"]
    reason: str | None = Field(default=None, exclude_if=absent)


class WhisperMessage(WireModel):
    type: Literal["whisper"] = "whisper"
    from_: str = Field(alias="from")
    to: str
    text: str
    ts: float
    id: str | None = Field(default=None, exclude_if=absent)
    file: FileInfo | None = Field(default=None, exclude_if=absent)
    #: Sent only when true (an addition, like ``whisper.action``).
    action: bool = Field(default=False, exclude_if=is_false)


class NickChanged(WireModel):
    type: Literal["nick_changed"] = "nick_changed"
    old: str
    new: str


class Topic(WireModel):
    type: Literal["topic"] = "topic"
    room: str
    topic: str | None
    by: str


class RoomInfo(WireModel):
    name: str
    members: int
    topic: str | None


class RoomList(WireModel):
    type: Literal["room_list"] = "room_list"
    rooms: list[RoomInfo]
    truncated: bool = Field(default=False, exclude_if=is_false)


class Members(WireModel):
    type: Literal["members"] = "members"
    room: str
    members: list[str]
    truncated: bool = Field(default=False, exclude_if=is_false)
    ops: list[str] = Field(default_factory=list)
    voiced: list[str] = Field(default_factory=list)
    #: Members who are away.
    away: list[str] = Field(default_factory=list)


class History(WireModel):
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


class Error(WireModel):
    type: Literal["error"] = "error"
    code: Annotated[ErrorCode, WrapValidator(_known_or_newer)]
    message: str
    ref: str | None = Field(default=None, exclude_if=absent)
    id: str | None = Field(default=None, exclude_if=absent)


class Bye(WireModel):
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
    | Bye
    | AwayChanged
    | WhoisReply
    | OpChanged
    | VoiceChanged
    | Kicked
    | BanChanged
    | BanList
    | MuteChanged
    | RoomModeChanged
    | Invited
    | Opered
    | Notice
    | UploadTicket
    | TransferReady
    | TransferDone
    | DownloadTicket
    | FileList,
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
        *MODERATION_REQUESTS,
        *FILE_REQUESTS,
    )
)
#: What a client may send before ``welcome``.
PRE_WELCOME_TYPES = frozenset({"hello", "ping", "pong"})
#: What a frame may be on a connection that is not welcomed: a chat connection's
#: handshake, or the ``transfer`` that opens a side connection (docs/protocol.md,
#: "Files").  Only the first frame after any ``ping``/``pong`` may be ``transfer``:
#: the door that reads it decides, and hands anything else to the hub, which
#: takes :data:`PRE_WELCOME_TYPES` only.
OPENING_TYPES = PRE_WELCOME_TYPES | {"transfer"}
#: Requests that cost one token of the sender's rate limit ("Liveness and limits").
RATED_TYPES = frozenset(
    {
        "join",
        "leave",
        "say",
        "whisper",
        "nick",
        "topic",
        "away",
        "op",
        "deop",
        "voice",
        "devoice",
        "kick",
        "ban",
        "unban",
        "mute",
        "unmute",
        "mode",
        "invite",
        "oper",
        "kill",
        "notice",
        "file_offer",
        "file_get",
    }
)
