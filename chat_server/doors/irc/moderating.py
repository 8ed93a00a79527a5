"""Moderation both ways: ``MODE``, ``KICK``, ``INVITE``, ``OPER``, ``KILL``,
``AWAY`` and ``WHOIS`` as hub requests, and the hub's moderation replies as
IRC lines.

Channel modes map onto the native requests (PROTOCOL.md, "IRC gateway"):
``+o``/``-o`` are ``op``/``deop``, ``+v``/``-v`` ``voice``/``devoice``, ``+b
MASK``/``-b MASK`` ``ban``/``unban`` (:class:`~.mapping.BanMask`), ``+b``
alone or ``b`` the ban list (367/368, even when empty: irssi waits for it on
every join), and the room-wide ``i``, ``k``, ``l``, ``m``, ``t`` one ``mode``
request.  ``MODE #room`` alone is 324 from the modes the client was told.
User modes: ``i`` is accepted and changes nothing, ``o`` only comes with
``OPER`` (381 and ``MODE nick +o``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel

from protocol import (
    Away,
    Ban,
    BanList,
    Bans,
    Deop,
    Devoice,
    Invite,
    Invited,
    Kick,
    Kicked,
    Kill,
    Notice,
    Op,
    Oper,
    Opered,
    RoomModeChanged,
    SetMode,
    Unban,
    Voice,
    Whois,
    WhoisReply,
    fold,
    is_valid_nick,
)

from .asked import Asked
from .errors import LocalIrcError
from .mapping import CHANNEL_PREFIX, BanMask, channel_name, room_name
from .modes import (
    BanChange,
    BanListQuery,
    MemberChange,
    mode_changes,
    parse_channel_modes,
    problem_replies,
    render_changes,
    render_room_modes,
    room_mode_request,
)
from .numerics import (
    ERR_NEEDMOREPARAMS,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_UMODEUNKNOWNFLAG,
    ERR_USERONCHANNEL,
    ERR_USERSDONTMATCH,
    RPL_AWAY,
    RPL_BANLIST,
    RPL_CHANNELMODEIS,
    RPL_ENDOFBANLIST,
    RPL_ENDOFWHOIS,
    RPL_INVITING,
    RPL_UMODEIS,
    RPL_WHOISCHANNELS,
    RPL_WHOISIDLE,
    RPL_WHOISOPERATOR,
    RPL_WHOISSERVER,
    RPL_WHOISUSER,
    RPL_YOUREOPER,
    packed_replies,
)
from .render import by_source
from .requests import build
from .wire import IrcMessage

if TYPE_CHECKING:
    from ...hub import Request
    from .connection import IrcConnection

Step = tuple["Request", Asked]

# --- commands ----------------------------------------------------------------------


def mode(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    params = message.params
    if not params:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "MODE"))
        return
    target = params[0]
    if not target.startswith(CHANNEL_PREFIX):
        user_mode(conn, target, params[1:])
        return
    room = room_name(target)
    facts = conn.hub.queries.room(room) if room is not None else None
    if facts is None:
        conn.emit(conn.reply(ERR_NOSUCHCHANNEL, target))
        return
    if len(params) == 1:
        member = fold(facts.name) in conn.channels
        shown = render_room_modes(facts.modes, show_key=member)
        conn.emit(conn.reply(RPL_CHANNELMODEIS, channel_name(facts.name), *shown))
        return
    parsed = parse_channel_modes(params[1], params[2:])
    conn.emit(*problem_replies(conn.server, conn.nick, target, parsed))
    room = facts.name
    listed = False
    for change in parsed.changes:
        match change:
            case BanListQuery():
                if not listed:
                    listed = True
                    yield _build(conn, Bans, room=room), Asked("MODE", target, lists=True)
            case MemberChange(letter=letter, on=on, nick=nick):
                kind = _MEMBER_REQUESTS[letter, on]
                yield _build(conn, kind, room=room, nick=nick), Asked("MODE", target, nick=nick)
            case BanChange(on=on, ban=ban):
                request = _build(
                    conn, Ban if on else Unban, room=room, nick=ban.nick, address=ban.address
                )
                yield request, Asked("MODE", target)
    room_wide = room_mode_request(parsed.changes)
    if room_wide:
        yield _build(conn, SetMode, room=room, **room_wide), Asked("MODE", target)


_MEMBER_REQUESTS: dict[tuple[str, bool], type[BaseModel]] = {
    ("o", True): Op,
    ("o", False): Deop,
    ("v", True): Voice,
    ("v", False): Devoice,
}


def user_mode(conn: IrcConnection, target: str, params: list[str]) -> None:
    """``MODE nick [+i|-i]``: 221 for the query; 502 for anyone else's modes."""
    if fold(target) != conn.folded:
        if conn.hub.queries.seat(target) is None:
            conn.emit(conn.reply(ERR_NOSUCHNICK, target))
        else:
            conn.emit(conn.reply(ERR_USERSDONTMATCH))
        return
    if not params:
        conn.emit(conn.reply(RPL_UMODEIS, conn.user_modes()))
        return
    on = True
    applied = ""
    for letter in params[0]:
        if letter in "+-":
            on = letter == "+"
        elif letter == "i":
            if conn.invisible != on:
                conn.invisible = on
                applied += ("+" if on else "-") + "i"
        elif letter != "o":  # o comes and goes with OPER only
            conn.emit(conn.reply(ERR_UMODEUNKNOWNFLAG))
    if applied:
        conn.emit(IrcMessage("MODE", [conn.nick, applied], source=conn.hostmask))


def kick(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    params = message.params
    if len(params) < 2:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "KICK"))
        return
    channel = params[0]
    room = room_name(channel)
    if room is None:
        conn.emit(conn.reply(ERR_NOSUCHCHANNEL, channel))
        return
    reason = params[2] if len(params) > 2 and params[2] else None
    for nick in params[1].split(","):
        request = _build(conn, Kick, room=room, nick=nick, reason=reason)
        yield request, Asked("KICK", channel, nick=nick)


def invite(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    params = message.params
    if len(params) < 2:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "INVITE"))
        return
    nick, channel = params[0], params[1]
    room = room_name(channel)
    facts = conn.hub.queries.room(room) if room is not None else None
    if facts is None:
        conn.emit(conn.reply(ERR_NOSUCHCHANNEL, channel))
        return
    if fold(nick) in {fold(n) for n in facts.nicks}:
        conn.emit(conn.reply(ERR_USERONCHANNEL, nick, channel))
        return
    yield _build(conn, Invite, room=facts.name, nick=nick), Asked("INVITE", channel, nick=nick)


def oper(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    """``OPER NAME PASSWORD``: the name is ignored, the password is ``--oper-password``."""
    if len(message.params) < 2:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "OPER"))
        return
    yield _build(conn, Oper, password=message.params[1]), Asked("OPER")


def kill(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    params = message.params
    if len(params) < 1:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "KILL"))
        return
    reason = params[1] if len(params) > 1 and params[1] else None
    yield (
        _build(conn, Kill, nick=params[0], reason=reason),
        Asked("KILL", params[0], nick=params[0]),
    )


def away(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    text = message.params[0] if message.params and message.params[0] else None
    yield _build(conn, Away, text=text), Asked("AWAY")


def whois(conn: IrcConnection, message: IrcMessage) -> Iterator[Step]:
    """``WHOIS [server] nick``: one nick (``TARGMAX`` says so)."""
    if not message.params:
        conn.emit(conn.reply(ERR_NEEDMOREPARAMS, "WHOIS"))
        return
    nick = message.params[-1].split(",")[0]
    if not is_valid_nick(nick):
        conn.emit(conn.reply(ERR_NOSUCHNICK, nick), conn.reply(RPL_ENDOFWHOIS, nick))
        return
    yield _build(conn, Whois, nick=nick), Asked("WHOIS", nick, nick=nick)


def tell_away(conn: IrcConnection, nick: str, *, silent: bool) -> None:
    """301 before a private message to someone away (not for ``NOTICE``)."""
    if silent:
        return
    text = conn.door.away_text(nick)
    if text is not None:
        conn.emit(conn.reply(RPL_AWAY, nick, text=text))


COMMANDS = {
    "MODE": mode,
    "KICK": kick,
    "INVITE": invite,
    "OPER": oper,
    "KILL": kill,
    "AWAY": away,
    "WHOIS": whois,
}


def _build(conn: IrcConnection, kind: type[BaseModel], **fields: object) -> Request:
    return build(conn, kind, **fields)  # type: ignore[return-value]


# --- replies -------------------------------------------------------------------------


def answer(conn: IrcConnection, message: BaseModel) -> list[IrcMessage] | None:
    """The lines of a moderation reply for ``conn``; ``None`` if it is none."""
    match message:
        case Kicked(room=room, by=by, reason=reason):
            conn.channels.pop(fold(room), None)
            return [
                IrcMessage(
                    "KICK", [channel_name(room), conn.nick, reason or by],
                    source=by_source(conn.door, by), trailing=True,
                )
            ]  # fmt: skip
        case RoomModeChanged(room=room, modes=modes, by=by):
            known = conn.channels.get(fold(room))
            if known is None:
                return []
            conn.channels[fold(room)] = modes
            params = render_changes(mode_changes(known, modes))
            if not params:
                return []
            return [IrcMessage("MODE", [channel_name(room), *params],
                               source=by_source(conn.door, by))]  # fmt: skip
        case BanList():
            conn.ledger.reply("bans")
            return ban_list(conn, message)
        case Invited(room=room, by=by):
            if fold(by) == conn.folded:  # to the inviter: the invitee is in what it asked
                asked = conn.ledger.reply("invite")
                invitee = asked.nick if asked is not None and asked.nick else "*"
                return [conn.reply(RPL_INVITING, invitee, channel_name(room))]
            return [IrcMessage("INVITE", [conn.nick, channel_name(room)],
                               source=by_source(conn.door, by))]  # fmt: skip
        case Opered():
            return [
                conn.reply(RPL_YOUREOPER),
                IrcMessage("MODE", [conn.nick, "+o"], source=conn.server),
            ]
        case Notice(from_=sender, text=text):
            source = by_source(conn.door, sender)
            return [
                IrcMessage("NOTICE", [conn.nick, line], source=source, trailing=True)
                for line in text.splitlines() or [" "]
            ]
        case WhoisReply():
            conn.ledger.reply("whois")
            return whois_lines(conn, message)
    return None


def ban_list(conn: IrcConnection, message: BanList) -> list[IrcMessage]:
    """367 per ban (``mask setter``), then 368."""
    channel = channel_name(message.room)
    lines = []
    for ban in message.bans:
        try:
            mask = BanMask(nick=ban.nick, address=ban.address).mask
        except LocalIrcError:
            continue
        lines.append(conn.reply(RPL_BANLIST, channel, mask, ban.by))
    lines.append(conn.reply(RPL_ENDOFBANLIST, channel))
    return lines


def whois_lines(conn: IrcConnection, message: WhoisReply) -> list[IrcMessage]:
    """311, 312, 313 (a server operator), 301 (away), 317, 319, 318."""
    door, nick = conn.door, message.nick
    user, host, realname = door.who_is(nick) or (nick, door.server_name, nick)
    lines = [
        conn.reply(RPL_WHOISUSER, nick, user, host, "*", text=realname),
        conn.reply(RPL_WHOISSERVER, nick, door.server_name, text=f"hubbub ({message.via})"),
    ]
    if door.is_server_operator(nick):
        lines.append(conn.reply(RPL_WHOISOPERATOR, nick))
    if message.away is not None:
        lines.append(conn.reply(RPL_AWAY, nick, text=message.away))
    lines.append(conn.reply(RPL_WHOISIDLE, nick, str(int(message.idle)), str(int(message.since))))
    ops = {fold(room) for room in message.op_in}
    channels = [("@" if fold(room) in ops else "") + channel_name(room) for room in message.rooms]
    lines.extend(packed_replies(conn.server, conn.nick, RPL_WHOISCHANNELS, (nick,), channels))
    lines.append(conn.reply(RPL_ENDOFWHOIS, nick))
    return lines
