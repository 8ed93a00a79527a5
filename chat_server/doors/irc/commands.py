"""IRC commands as hub requests: one handler per command, in :data:`COMMANDS`.

A handler takes the connection and the received :class:`~.wire.IrcMessage`
and returns (or yields) the requests for the hub, each with the
:class:`~.asked.Asked` that words its answer.  Whatever it answers by itself
it sends with :meth:`IrcConnection.emit
<chat_server.doors.irc.door.IrcConnection.emit>`.  A request the door cannot
build (a room name IRC allows and hubbub does not, a text too long) goes to
the hub as the :class:`~protocol.MessageError` it is, so that it is answered
like any refusal, in order.

Before registration only ``CAP``, ``PASS``, ``NICK``, ``USER``, ``PING``,
``PONG`` and ``QUIT`` count (:mod:`.registration`); once there is a nick and
a user and ``CAP`` holds nothing, the door sends the hub one ``hello``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from protocol import (
    PROTOCOL_VERSION,
    Hello,
    Join,
    Leave,
    ListRooms,
    Ping,
    Quit,
    SetNick,
    SetTopic,
    Who,
    is_valid_nick,
)

from . import chathistory, moderating, talking
from .asked import Asked
from .mapping import CHANNEL_PREFIX, room_name
from .numerics import (
    ERR_ALREADYREGISTERED,
    ERR_NEEDMOREPARAMS,
    ERR_NONICKNAMEGIVEN,
    ERR_NOORIGIN,
    ERR_NOSUCHCHANNEL,
    ERR_UNKNOWNCOMMAND,
    RPL_ENDOFNAMES,
    RPL_ENDOFWHO,
    RPL_NOTOPIC,
    RPL_TOPIC,
    RPL_TOPICWHOTIME,
    motd,
)
from .registration import Phase
from .requests import Handler, Step, build
from .wire import IrcMessage

if TYPE_CHECKING:
    from .connection import IrcConnection


#: Nicks ``USERHOST`` and ``ISON`` answer at most (RFC 2812: five for USERHOST).
MAX_LOOKUPS = 5
RPL_USERHOST = "302"
RPL_ISON = "303"


def dispatch(conn: IrcConnection, message: IrcMessage) -> Iterable[Step]:
    """The requests of one line; answers what the door answers by itself."""
    if conn.registration is not None:
        return registering(conn, message)
    handler = COMMANDS.get(message.command)
    if handler is None:
        conn.emit(conn.reply(ERR_UNKNOWNCOMMAND, message.command))
        return ()
    return handler(conn, message)


def registering(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    """A line before registration; ``hello`` once registration is ready."""
    registration = conn.registration
    assert registration is not None
    command = message.command
    if command == "PING":
        yield from ping(conn, message)
        return
    if command == "PONG":
        return
    if command == "QUIT":
        conn.quit_reason = message.params[0] if message.params else None
        conn.fatal("quit")
        return
    conn.emit(*registration.handle(message, server=conn.server))
    if command == "CAP":
        conn.caps_changed()
    if registration.phase is Phase.READY:
        registration.begin()
        nick = registration.nick
        assert nick is not None
        hello = build(
            conn, Hello, nick=nick, protocol=PROTOCOL_VERSION, password=registration.password
        )
        yield hello, Asked("NICK", nick)


# --- connection ----------------------------------------------------------------------


def ping(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    """``PONG``, after whatever the hub has queued before it (through the hub's ``ping``)."""
    if not message.params:
        conn.emit(conn.reply(ERR_NOORIGIN))
        return
    token = message.params[-1]
    request = build(conn, Ping, token=token)
    if isinstance(request, Ping) and conn.seat is not None and conn.seat.welcomed:
        yield request, Asked("PING")
    else:
        conn.emit(IrcMessage("PONG", [conn.server, token], source=conn.server, trailing=True))


def pong(conn: IrcConnection, message: IrcMessage) -> Iterable[Step]:
    return ()  # a sign of life, counted as every line is


def cap(conn: IrcConnection, message: IrcMessage) -> Iterable[Step]:
    conn.emit(*conn.caps.handle(message.params, server=conn.server, nick=conn.nick))
    conn.caps_changed()
    return ()


def reregister(conn: IrcConnection, message: IrcMessage) -> Iterable[Step]:
    conn.emit(conn.reply(ERR_ALREADYREGISTERED))
    return ()


def nick(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    if not message.params or not message.params[0]:
        conn.emit(conn.reply(ERR_NONICKNAMEGIVEN))
        return
    wanted = message.params[0]
    if wanted == conn.nick:
        return
    request = build(conn, SetNick, nick=wanted)
    if isinstance(request, SetNick):
        conn.renaming = wanted
    yield request, Asked("NICK", wanted)


def quit(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    reason = message.params[0] if message.params and message.params[0] else None
    conn.quit_reason = reason
    yield build(conn, Quit, reason=reason), Asked("QUIT")


def motd_command(conn: IrcConnection, message: IrcMessage) -> Iterable[Step]:
    conn.emit(*motd(conn.server, conn.nick, conn.config.motd))
    return ()


# --- rooms -----------------------------------------------------------------------------


def join(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    """``JOIN #a,#b key1,key2``; ``JOIN 0`` leaves every room."""
    if not message.params:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "JOIN"))
        return
    if message.params[0] == "0":
        for key in list(conn.channels):
            yield build(conn, Leave, room=key), Asked("PART", CHANNEL_PREFIX + key)
        return
    channels = message.params[0].split(",")
    keys = message.params[1].split(",") if len(message.params) > 1 else []
    for index, channel in enumerate(channels):
        room = room_name(channel)
        if room is None:
            conn.emit(conn.reply(ERR_NOSUCHCHANNEL, channel))
            continue
        given = keys[index] if index < len(keys) and keys[index] else None
        yield build(conn, Join, room=room, key=given), Asked("JOIN", channel)


def part(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    if not message.params:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "PART"))
        return
    for channel in message.params[0].split(","):
        room = room_name(channel)
        if room is None:
            conn.emit(conn.reply(ERR_NOSUCHCHANNEL, channel))
            continue
        yield build(conn, Leave, room=room), Asked("PART", channel)


def topic(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    """``TOPIC #room`` asks (332 or 331); ``TOPIC #room :text`` sets (``""`` clears)."""
    if not message.params:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "TOPIC"))
        return
    channel = message.params[0]
    room = room_name(channel)
    facts = conn.hub.queries.room(room) if room is not None else None
    if facts is None:
        conn.emit(conn.reply(ERR_NOSUCHCHANNEL, channel))
        return
    if len(message.params) == 1:
        if facts.topic is None:
            conn.emit(conn.reply(RPL_NOTOPIC, channel))
            return
        conn.emit(conn.reply(RPL_TOPIC, channel, text=facts.topic))
        if facts.topic_by is not None:
            when = str(int(facts.topic_ts or 0))
            conn.emit(conn.reply(RPL_TOPICWHOTIME, channel, facts.topic_by, when))
        return
    yield build(conn, SetTopic, room=facts.name, topic=message.params[1]), Asked("TOPIC", channel)


def names(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    if not message.params:
        conn.emit(conn.reply(RPL_ENDOFNAMES, "*"))
        return
    for channel in message.params[0].split(","):
        room = room_name(channel)
        if room is None:
            conn.emit(conn.reply(RPL_ENDOFNAMES, channel))
            continue
        yield build(conn, Who, room=room), Asked("NAMES", channel, lists=True)


def list_rooms(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    wanted = tuple(message.params[0].split(",")) if message.params else ()
    yield build(conn, ListRooms), Asked("LIST", targets=wanted)


def who(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    """``WHO #room`` (352 per member) or ``WHO nick``; any other mask gets 315 alone."""
    from .replies import who_line  # replies renders; commands only asks

    mask = message.params[0] if message.params else "*"
    if mask.startswith(CHANNEL_PREFIX):
        room = room_name(mask)
        if room is not None:
            yield build(conn, Who, room=room), Asked("WHO", mask, lists=True)
            return
    elif is_valid_nick(mask) and (seat := conn.hub.queries.seat(mask)) is not None:
        assert seat.nick is not None
        line = who_line(conn, "*", seat.nick, away=conn.door.is_away(seat.nick), prefix="")
        conn.emit(line, conn.reply(RPL_ENDOFWHO, mask))
        return
    conn.emit(conn.reply(RPL_ENDOFWHO, mask))


# --- talking ---------------------------------------------------------------------------


def userhost(conn: IrcConnection, message: IrcMessage) -> Iterable[Step]:
    """302: ``nick[*]=+user@host`` (``-`` when away) for each nick found, up to five."""
    if not message.params:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "USERHOST"))
        return ()
    door = conn.door
    found = []
    for wanted in message.params[:MAX_LOOKUPS]:
        seat = conn.hub.queries.seat(wanted) if is_valid_nick(wanted) else None
        if seat is None or seat.nick is None:
            continue
        user, host, _ = door.who_is(seat.nick) or (seat.nick, door.server_name, "")
        oper = "*" if door.is_server_operator(seat.nick) else ""
        away = "-" if door.is_away(seat.nick) else "+"
        found.append(f"{seat.nick}{oper}={away}{user}@{host}")
    conn.emit(
        IrcMessage(RPL_USERHOST, [conn.nick, " ".join(found)], source=conn.server, trailing=True)
    )
    return ()


def ison(conn: IrcConnection, message: IrcMessage) -> Iterable[Step]:
    """303: which of the nicks given are here, in their owners' spelling."""
    wanted = [n for param in message.params for n in param.split()]
    here = [
        seat.nick
        for n in wanted
        if is_valid_nick(n) and (seat := conn.hub.queries.seat(n)) is not None and seat.nick
    ]
    conn.emit(IrcMessage(RPL_ISON, [conn.nick, " ".join(here)], source=conn.server, trailing=True))
    return ()


COMMANDS: dict[str, Handler] = {
    "CAP": cap,
    "PASS": reregister,
    "USER": reregister,
    "PING": ping,
    "PONG": pong,
    "NICK": nick,
    "QUIT": quit,
    "MOTD": motd_command,
    "JOIN": join,
    "PART": part,
    "TOPIC": topic,
    "NAMES": names,
    "LIST": list_rooms,
    "WHO": who,
    "PRIVMSG": talking.privmsg,
    "NOTICE": talking.privmsg,
    "TAGMSG": talking.tagmsg,
    "USERHOST": userhost,
    "ISON": ison,
    "CHATHISTORY": chathistory.command,
    **moderating.COMMANDS,
}
