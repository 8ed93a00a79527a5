"""The hub's replies to one client, as that client's IRC replies.

Each reply is rendered for its one recipient, worded as the reply of the
command that asked (found in the connection's :mod:`.ledger`): ``welcome`` is the
registration burst (001-005 and the MOTD or 422), ``joined`` is ``JOIN``,
332/333 when a topic is set, 353/366 and, to a client with ``batch`` and
``server-time``, the room's history as a ``chathistory`` batch; ``members``
is 353/366 for ``NAMES`` and 352/315 for ``WHO``; ``room_list`` is
321/322/323; ``error`` is :mod:`.refusals`.  Moderation replies are in
:mod:`.moderating`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from protocol import (
    Error,
    Joined,
    Left,
    Members,
    Message,
    Pong,
    RoomList,
    RoomModes,
    Welcome,
    fold,
)

from . import moderating
from .asked import Asked
from .isupport import Features, isupport_replies, isupport_tokens, myinfo
from .mapping import channel_name
from .numerics import (
    RPL_ENDOFWHO,
    RPL_LIST,
    RPL_LISTEND,
    RPL_LISTSTART,
    RPL_TOPIC,
    RPL_TOPICWHOTIME,
    RPL_WHOREPLY,
    member_prefix,
    motd,
    names_replies,
    welcome,
    who_flags,
)
from .refusals import error_lines
from .render import message_lines
from .wire import IrcMessage

if TYPE_CHECKING:
    from .connection import IrcConnection

log = logging.getLogger(__name__)

#: Hop count and real name of 352: every user is on this server.
HOPS = "0"
NO_MODES = RoomModes()


def answer(conn: IrcConnection, messages: Sequence[BaseModel]) -> bytes:
    """The bytes of the hub's ``messages`` for ``conn`` (replies to it alone)."""
    lines: list[IrcMessage] = []
    raw: list[bytes] = []
    for message in messages:
        match message:
            case Error():
                lines.extend(error_lines(conn, message, conn.ledger.error(message)))
            case Joined():
                raw.append(joined(conn, message))
            case Left(room=room):
                conn.channels.pop(fold(room), None)
                lines.append(IrcMessage("PART", [channel_name(room)], source=conn.hostmask))
            case Members():
                asked = conn.ledger.reply("who")
                if asked is not None and asked.command == "WHO":
                    lines.extend(who(conn, message, asked.target))
                else:
                    lines.extend(names(conn, message))
            case RoomList():
                lines.extend(room_list(conn, message, conn.ledger.reply("list")))
            case Pong(token=token):
                lines.append(IrcMessage("PONG", [conn.server, token or conn.server],
                                        source=conn.server, trailing=True))  # fmt: skip
            case Welcome():
                lines.extend(registered(conn, message))
            case _:
                found = moderating.answer(conn, message)
                if found is None:
                    log.debug("no IRC rendering of %s", type(message).__name__)
                else:
                    lines.extend(found)
    data = b"".join(line.serialize() for line in lines)
    return data + b"".join(raw) if raw else data


def registered(conn: IrcConnection, message: Welcome) -> list[IrcMessage]:
    """The registration burst: the client is welcomed as ``message.nick``."""
    conn.welcomed(message.nick)
    server, nick = conn.server, conn.nick
    features = Features(
        network=conn.network, max_text=conn.config.max_text, awaylen=300, kicklen=300
    )
    return [
        *welcome(
            server,
            nick,
            network=conn.network,
            hostmask=conn.hostmask,
            version=conn.version,
            created=conn.door.created,
        ),
        myinfo(server, nick, conn.version),
        *isupport_replies(server, nick, isupport_tokens(features)),
        *motd(server, nick, message.motd),
    ]


def joined(conn: IrcConnection, message: Joined) -> bytes:
    """``JOIN``, the topic, the names and the history batch; nothing if already in."""
    key = fold(message.room)
    if key in conn.channels:
        return b""
    modes = message.modes
    conn.channels[key] = NO_MODES if modes == NO_MODES else modes  # most rooms: one object
    channel = channel_name(message.room)
    lines = [IrcMessage("JOIN", [channel], source=conn.hostmask)]
    if message.topic is not None:
        lines.append(conn.reply(RPL_TOPIC, channel, text=message.topic))
        if message.topic_by is not None:
            when = str(int(message.topic_ts or 0))
            lines.append(conn.reply(RPL_TOPICWHOTIME, channel, message.topic_by, when))
    lines.extend(
        names_replies(
            conn.server, conn.nick, channel, prefixed(conn, message.members, message.ops,
                                                      message.voiced)
        )
    )  # fmt: skip
    data = b"".join(line.serialize() for line in lines)
    if message.history and conn.has("batch") and conn.has("server-time"):
        data += history_batch(conn, channel, message.history)
    return data


def history_batch(conn: IrcConnection, target: str, messages: Sequence[Message]) -> bytes:
    """``messages`` as a ``chathistory`` batch (without ``batch``, as plain lines)."""
    if not conn.has("batch"):
        return b"".join(message_lines(conn.door, m, conn.render_key) for m in messages)
    batch = conn.batch_id()
    tags = {"batch": batch}
    start = IrcMessage("BATCH", [f"+{batch}", "chathistory", target], source=conn.server)
    end = IrcMessage("BATCH", [f"-{batch}"], source=conn.server)
    body = b"".join(message_lines(conn.door, m, conn.render_key, tags) for m in messages)
    return start.serialize() + body + end.serialize()


def prefixed(
    conn: IrcConnection, nicks: Sequence[str], ops: Sequence[str], voiced: Sequence[str]
) -> list[str]:
    """``nicks`` with their ``@`` and ``+`` (all of them with ``multi-prefix``)."""
    if not ops and not voiced:
        return list(nicks)
    op_set = {fold(n) for n in ops}
    voice_set = {fold(n) for n in voiced}
    return [
        member_prefix(
            op=fold(n) in op_set, voiced=fold(n) in voice_set, multi_prefix=conn.multi_prefix
        )
        + n
        for n in nicks
    ]


def names(conn: IrcConnection, message: Members) -> list[IrcMessage]:
    channel = channel_name(message.room)
    members = prefixed(conn, message.members, message.ops, message.voiced)
    return names_replies(conn.server, conn.nick, channel, members)


def who(conn: IrcConnection, message: Members, mask: str) -> list[IrcMessage]:
    """352 for each member of the room, then 315 for ``mask`` (as asked)."""
    channel = channel_name(message.room)
    ops = {fold(n) for n in message.ops}
    voiced = {fold(n) for n in message.voiced}
    away = {fold(n) for n in message.away}
    lines = [
        who_line(
            conn,
            channel,
            nick,
            away=fold(nick) in away,
            prefix=member_prefix(
                op=fold(nick) in ops, voiced=fold(nick) in voiced, multi_prefix=conn.multi_prefix
            ),
        )
        for nick in message.members
    ]
    lines.append(conn.reply(RPL_ENDOFWHO, mask))
    return lines


def who_line(
    conn: IrcConnection, channel: str, nick: str, *, away: bool, prefix: str
) -> IrcMessage:
    """One 352: ``channel user host server nick flags :hops realname``."""
    door = conn.door
    user, host, realname = door.who_is(nick) or (nick, door.server_name, nick)
    flags = who_flags(away=away, server_operator=door.is_server_operator(nick), prefix=prefix)
    return conn.reply(
        RPL_WHOREPLY, channel, user, host, door.server_name, nick, flags,
        text=f"{HOPS} {realname}",
    )  # fmt: skip


def room_list(conn: IrcConnection, message: RoomList, asked: Asked | None) -> list[IrcMessage]:
    """321, a 322 per room (those asked for, if any), 323."""
    wanted = {fold(t) for t in asked.targets} if asked is not None else set()
    lines = [conn.reply(RPL_LISTSTART, "Channel")]
    for room in message.rooms:
        channel = channel_name(room.name)
        if wanted and fold(channel) not in wanted:
            continue
        lines.append(conn.reply(RPL_LIST, channel, str(room.members), text=room.topic or ""))
    lines.append(conn.reply(RPL_LISTEND))
    return lines
