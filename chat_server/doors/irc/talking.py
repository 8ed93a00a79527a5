"""Talking: ``PRIVMSG`` and ``NOTICE`` as ``say`` and ``whisper``, and ``TAGMSG``.

CTCP other than ``ACTION`` is dropped: a native user could not answer it.
Client-only (``+``) tags go along by the message ``id``
(:class:`~.door.ClientTags`) to IRC clients that negotiated ``message-tags``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from protocol import Say, Whisper, fold, is_valid_nick

from ...hub import Out
from . import moderating
from .asked import Asked
from .mapping import CHANNEL_PREFIX, format_server_time, room_name
from .numerics import (
    ERR_CANNOTSENDTOCHAN,
    ERR_NORECIPIENT,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_NOTEXTTOSEND,
)
from .render import SERVER_TIME, own_lines
from .requests import Step, build
from .text import Ctcp, read_text
from .wire import IrcMessage

if TYPE_CHECKING:
    from .connection import IrcConnection


def privmsg(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    """``PRIVMSG``/``NOTICE`` to ``#room`` (a ``say``) or a nick (a ``whisper``).

    CTCP other than ``ACTION`` is dropped: a native user could not answer it.
    ``NOTICE`` is sent the same way and never answered, not even a refusal.
    """
    command = message.command
    silent = command == "NOTICE"
    params = message.params
    if not params or not params[0]:
        if not silent:
            conn.emit(conn.reply(ERR_NORECIPIENT, text=f"No recipient given ({command})"))
        return
    target = params[0]
    if len(params) < 2 or not params[1]:
        if not silent:
            conn.emit(conn.reply(ERR_NOTEXTTOSEND))
        return
    said = read_text(params[1])
    if isinstance(said, Ctcp):
        return
    tags = client_tags(conn, message)
    asked = Asked(command, target, silent=silent)
    if target.startswith(CHANNEL_PREFIX):
        room = room_name(target)
        if room is None:
            if not silent:
                conn.emit(conn.reply(ERR_NOSUCHCHANNEL, target))
            return
        say = build(conn, Say, room=room, text=said.text, action=said.action)
        if tags and isinstance(say, Say):
            conn.door.client_tags.keep(say.id, conn.folded, tags)
        yield say, asked
        return
    if not is_valid_nick(target):
        if not silent:
            conn.emit(conn.reply(ERR_NOSUCHNICK, target))
        return
    moderating.tell_away(conn, target, silent=silent)
    whisper = build(conn, Whisper, to=target, text=said.text, action=said.action)
    if tags and isinstance(whisper, Whisper):
        conn.door.client_tags.keep(whisper.id, conn.folded, tags)
    yield whisper, asked


def client_tags(conn: IrcConnection, message: IrcMessage) -> dict[str, str]:
    """The client-only (``+``) tags of ``message``, if its sender negotiated ``message-tags``."""
    if not message.tags or not conn.has("message-tags"):
        return {}
    return {k: v for k, v in message.tags.items() if k.startswith("+")}


def tagmsg(conn: IrcConnection, message: IrcMessage) -> Iterable[Step]:
    """``TAGMSG``: relayed to the room's (or the nick's) IRC clients that negotiated
    ``message-tags``; native clients never see it.  It costs a flood-control
    token, and without one it is dropped."""
    tags = client_tags(conn, message)
    seat = conn.seat
    if not tags or not message.params or seat is None:
        return ()
    target = message.params[0]
    queries = conn.hub.queries
    if target.startswith(CHANNEL_PREFIX):
        room = room_name(target)
        if room is None or fold(room) not in conn.channels:
            numeric = ERR_NOSUCHCHANNEL if room is None else ERR_CANNOTSENDTOCHAN
            conn.emit(conn.reply(numeric, target))
            return ()
        recipients = queries.members(room)
    else:
        found = queries.seat(target) if is_valid_nick(target) else None
        if found is None:
            conn.emit(conn.reply(ERR_NOSUCHNICK, target))
            return ()
        recipients = (found, seat)
    if not queries.spend(seat):
        return ()
    outs: dict[bool, Out] = {}  # the same Out to each member with the same rendering
    now = time.time()
    for other in recipients:
        member = conn.door.irc(other)
        if member is None or not member.has("message-tags"):
            continue
        if member is conn and not conn.echo:
            continue
        stamped = bool(member.render_key & SERVER_TIME)
        out = outs.get(stamped)
        if out is None:
            sent = {"time": format_server_time(now), **tags} if stamped else tags
            line = IrcMessage("TAGMSG", [target], source=conn.hostmask, tags=sent)
            out = outs[stamped] = own_lines(line.serialize())
        queries.send(other, out)
    return ()
