"""Broadcasts as IRC lines, rendered once per distinct rendering.

A broadcast (a room's messages, a join, a nick change...) reaches every
member as the same :class:`~chat_server.hub.Out`.  Its IRC lines differ only
by the capabilities in :attr:`IrcConnection.render_key
<chat_server.doors.irc.door.IrcConnection.render_key>` (``server-time``,
``message-tags``, ``away-notify``), so they are rendered once per key and
kept in ``Out.memo``.  What differs for one member (its own message without
``echo-message``, its own away state as 305/306, its own nick change) is
marked with the nick it concerns and settled per member, cheaply.

Decisions:

- A message is one ``PRIVMSG`` per line and per 512-byte piece
  (:func:`~.text.payloads`); ``msgid`` goes on the first line only, since a
  ``msgid`` names one line, and ``time`` on all.
- A ``presence`` ``leave`` whose reason is ``kicked by BY[: REASON]`` is the
  ``KICK`` it was; ``quit`` reaches a member once per shared room and is
  said once (:attr:`IrcConnection.last_quit`).
- ``mute_changed`` has no IRC mode: it is a ``NOTICE`` to the channel from
  the server.
- A source that is no nick (``*admin*``) is the server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from protocol import (
    AwayChanged,
    BanChanged,
    Message,
    MuteChanged,
    NickChanged,
    OpChanged,
    Presence,
    Topic,
    VoiceChanged,
    WhisperMessage,
    fold,
    is_valid_nick,
)

from ...hub import Out
from .errors import LocalIrcError
from .mapping import BanMask, channel_name, format_server_time, msgid
from .numerics import RPL_NOWAWAY, RPL_UNAWAY, reply
from .text import payloads
from .wire import IrcMessage

if TYPE_CHECKING:
    from .connection import IrcConnection
    from .door import IrcDoor

#: Server message types rendered through the memo.
BROADCASTS: frozenset[type[BaseModel]] = frozenset(
    {
        Message,
        WhisperMessage,
        Presence,
        NickChanged,
        Topic,
        AwayChanged,
        OpChanged,
        VoiceChanged,
        BanChanged,
        MuteChanged,
    }
)
SERVER_TIME, MESSAGE_TAGS, AWAY_NOTIFY = 1, 2, 4
#: ``Out.memo`` key of the lines in an :class:`Out` the door made itself.
OWN_LINES = "irc-lines"
_KICKED = re.compile(r"kicked by (\S+?)(?:: (.*))?", re.DOTALL)


@dataclass(slots=True)
class Rendered:
    """One broadcast's lines for one render key.

    ``items`` pairs each message's lines with the folded nick it is about for
    its own sake (``None`` if nobody's): that member gets :func:`own` instead.
    """

    data: bytes
    items: list[tuple[bytes, str | None, BaseModel]]
    owners: frozenset[str]
    #: Whether a member may simply take :attr:`data`, unless it is an owner: no
    #: quit to say once however many rooms it comes from.
    plain: bool = True


def own_lines(data: bytes) -> Out:
    """An :class:`Out` of lines the door words itself: it goes through the hub's
    ``Post`` (:meth:`Queries.send <chat_server.hub.Queries.send>`), so it keeps
    its place among the hub's frames, and ``IrcConnection.send`` writes it."""
    out = Out((), b"")
    out.memo = {OWN_LINES: data}
    return out


def broadcast(conn: IrcConnection, out: Out) -> bytes:
    """The bytes of a broadcast ``Out`` for ``conn``; see the module docstring."""
    messages = out.messages
    first = messages[0]
    if type(first) is Presence and first.event == "quit":
        quitter = fold(first.nick)
        if conn.last_quit == quitter:
            return b""
        conn.last_quit = quitter
    else:
        conn.last_quit = None
    memo = out.memo
    if memo is None:
        if not conn.echo and all(_said_by(message, conn.folded) for message in messages):
            return b""  # its own messages, to a sender without echo-message: nothing to render
        memo = out.memo = {}
    key = conn.render_key
    rendered = memo.get(key)
    if rendered is None:
        rendered = memo[key] = render(conn.door, messages, key)
    assert isinstance(rendered, Rendered)
    if conn.folded not in rendered.owners:
        return rendered.data
    return b"".join(
        own(conn, data, message) if owner == conn.folded else data
        for data, owner, message in rendered.items
    )


def _said_by(message: BaseModel, folded: str) -> bool:
    return type(message) is Message and fold(message.from_) == folded


def render(door: IrcDoor, messages: Sequence[BaseModel], key: int) -> Rendered:
    """Every message's lines for render ``key``, and whom each one is about."""
    items: list[tuple[bytes, str | None, BaseModel]] = []
    for message in messages:
        owner: str | None = None
        match message:
            case Message():
                data = message_lines(door, message, key)
                owner = fold(message.from_)
            case WhisperMessage():
                data = whisper_lines(door, message, key)
                owner = fold(message.from_)
            case Presence():
                data = presence_line(door, message)
            case NickChanged(old=old, new=new):
                data = IrcMessage("NICK", [new], source=door.source(old, holder=new)).serialize()
                owner = fold(old)
            case Topic(room=room, topic=topic, by=by):
                line = IrcMessage(
                    "TOPIC",
                    [channel_name(room), topic or ""],
                    source=by_source(door, by),
                    trailing=True,
                )
                data = line.serialize()
            case AwayChanged(nick=nick, text=text):
                data = b""
                if key & AWAY_NOTIFY:
                    params = [text] if text else []
                    data = IrcMessage(
                        "AWAY", params, source=door.source(nick), trailing=True
                    ).serialize()
                owner = fold(nick)
            case OpChanged(room=room, nick=nick, op=on, by=by):
                data = mode_line(door, by, room, ("+o" if on else "-o"), nick)
            case VoiceChanged(room=room, nick=nick, voiced=on, by=by):
                data = mode_line(door, by, room, ("+v" if on else "-v"), nick)
            case BanChanged(room=room, ban=ban, by=by, removed=removed):
                try:
                    mask = BanMask(nick=ban.nick, address=ban.address).mask
                except LocalIrcError:
                    data = b""
                else:
                    data = mode_line(door, by, room, "-b" if removed else "+b", mask)
            case MuteChanged():
                data = mute_line(door, message)
            case _:
                data = b""
        items.append((data, owner, message))
    first = messages[0]
    return Rendered(
        data=b"".join(data for data, _, _ in items),
        items=items,
        owners=frozenset(owner for _, owner, _ in items if owner is not None),
        plain=not (type(first) is Presence and first.event == "quit"),
    )


def own(conn: IrcConnection, data: bytes, message: BaseModel) -> bytes:
    """What ``conn`` gets of a broadcast line about itself."""
    match message:
        case WhisperMessage(id=message_id):
            conn.ledger.echoed(message_id)
            return data if conn.echo else b""
        case Message():
            return data if conn.echo else b""
        case AwayChanged(text=text):
            numeric = RPL_NOWAWAY if text else RPL_UNAWAY
            return reply(conn.server, conn.nick, numeric).serialize()
        case NickChanged(new=new):
            conn.renaming = None
            conn.renamed(new)
    return data


# --- one message each ---------------------------------------------------------------


def by_source(door: IrcDoor, by: str) -> str:
    """The source of something done ``by`` someone: the server if it is no nick."""
    return door.source(by) if is_valid_nick(by) else door.server_name


def message_lines(
    door: IrcDoor, message: Message, key: int, extra: dict[str, str] | None = None
) -> bytes:
    """A room message as ``PRIVMSG`` lines; ``extra`` tags (``batch``) go on every line."""
    source = door.source(message.from_)
    target = channel_name(message.room)
    tags = dict(extra) if extra else {}
    if key & SERVER_TIME:
        tags["time"] = format_server_time(message.ts)
    first = tags
    if key & MESSAGE_TAGS:
        first = dict(tags)
        first["msgid"] = msgid(door.hub.queries.epoch, message.room, message.seq)
        client = door.client_tags.of(message.id, message.from_)
        if client:
            first.update(client)
    pieces = payloads(message.text, source=source, target=target, action=message.action)
    return b"".join(
        IrcMessage(
            "PRIVMSG", [target, piece], source=source, tags=first if i == 0 else tags, trailing=True
        ).serialize()
        for i, piece in enumerate(pieces)
    )


def whisper_lines(door: IrcDoor, message: WhisperMessage, key: int) -> bytes:
    source = door.source(message.from_)
    tags: dict[str, str] = {}
    if key & SERVER_TIME:
        tags["time"] = format_server_time(message.ts)
    client = door.client_tags.of(message.id, message.from_) if key & MESSAGE_TAGS else None
    if client:
        tags.update(client)
    pieces = payloads(message.text, source=source, target=message.to, action=message.action)
    return b"".join(
        IrcMessage(
            "PRIVMSG", [message.to, piece], source=source, tags=tags, trailing=True
        ).serialize()
        for piece in pieces
    )


def presence_line(door: IrcDoor, presence: Presence) -> bytes:
    channel = channel_name(presence.room)
    source = door.source(presence.nick)
    if presence.event == "join":
        return IrcMessage("JOIN", [channel], source=source).serialize()
    if presence.event == "quit":
        return IrcMessage(
            "QUIT", [presence.reason or "Quit"], source=source, trailing=True
        ).serialize()
    kicked = _KICKED.fullmatch(presence.reason or "")
    if kicked is not None:
        by, why = kicked[1], kicked[2]
        line = IrcMessage(
            "KICK", [channel, presence.nick, why or by], source=by_source(door, by), trailing=True
        )
        return line.serialize()
    return IrcMessage("PART", [channel], source=source).serialize()


def mode_line(door: IrcDoor, by: str, room: str, change: str, *params: str) -> bytes:
    line = IrcMessage("MODE", [channel_name(room), change, *params], source=by_source(door, by))
    return line.serialize()


def mute_line(door: IrcDoor, change: MuteChanged) -> bytes:
    if change.muted:
        until = f" until {format_server_time(change.until)}" if change.until else ""
        text = f"{change.nick} is muted by {change.by}{until}"
    else:
        text = f"{change.nick} is no longer muted (by {change.by})"
    line = IrcMessage(
        "NOTICE", [channel_name(change.room), text], source=door.server_name, trailing=True
    )
    return line.serialize()
