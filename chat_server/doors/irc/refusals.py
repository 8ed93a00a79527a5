"""The hub's ``error`` replies as the numerics IRC clients expect.

The numeric depends on the command that caused the error
(:class:`~.asked.Asked`): ``not_in_room`` is 404 for ``PRIVMSG``, 442 for
``PART`` or ``TOPIC``, 441 for a ``KICK`` or ``MODE +o`` of someone not in a
room the client is in, and the end of the list (366, 315, 368) for ``NAMES``,
``WHO`` and ``MODE #room b``, whose clients wait for it.

An error no numeric fits is an IRCv3 ``FAIL`` to a client that negotiated
``standard-replies`` (code: the native code in capitals), else a ``NOTICE``
from the server.  A ``NOTICE`` command never gets any of it (RFC 2812 3.3.2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocol import Error, fold

from .asked import Asked
from .mapping import room_name
from .numerics import (
    ERR_BADCHANNELKEY,
    ERR_BANNEDFROMCHAN,
    ERR_CANNOTSENDTOCHAN,
    ERR_CHANNELISFULL,
    ERR_CHANOPRIVSNEEDED,
    ERR_ERRONEUSNICKNAME,
    ERR_INPUTTOOLONG,
    ERR_INVITEONLYCHAN,
    ERR_NICKNAMEINUSE,
    ERR_NOPRIVILEGES,
    ERR_NOSUCHCHANNEL,
    ERR_NOSUCHNICK,
    ERR_NOTONCHANNEL,
    ERR_PASSWDMISMATCH,
    ERR_UNKNOWNCOMMAND,
    ERR_USERNOTINCHANNEL,
    RPL_ENDOFBANLIST,
    RPL_ENDOFNAMES,
    RPL_ENDOFWHO,
    RPL_ENDOFWHOIS,
    fail,
)
from .registration import Phase
from .wire import IrcMessage

if TYPE_CHECKING:
    from .connection import IrcConnection

#: Codes answered ``ERR_*`` on the channel named by the command, whatever the command.
_ON_CHANNEL = {
    "banned": ERR_BANNEDFROMCHAN,
    "invite_only": ERR_INVITEONLYCHAN,
    "bad_key": ERR_BADCHANNELKEY,
    "room_full": ERR_CHANNELISFULL,
    "room_invalid": ERR_NOSUCHCHANNEL,
}
#: The numeric that ends each command's list (see :attr:`Asked.lists`).
_LIST_END = {"NAMES": RPL_ENDOFNAMES, "WHO": RPL_ENDOFWHO, "MODE": RPL_ENDOFBANLIST}
#: Server-wide commands: ``not_op`` is 481, not 482.
_SERVER_WIDE = frozenset({"KILL"})
#: Commands that name a second target, another member of the room.
_ON_MEMBER = frozenset({"KICK", "MODE", "INVITE"})


def error_lines(conn: IrcConnection, error: Error, asked: Asked | None) -> list[IrcMessage]:
    """The lines that tell ``conn`` of ``error``, a refusal of a request it sent."""
    registration = conn.registration
    if registration is not None and error.ref == "hello":
        return _registration_refused(conn, error, asked)
    asked = asked or _asked_later(conn, error)
    if asked.silent:
        return []
    code, command, target = error.code, asked.command, asked.target
    if code == "nick_taken":
        return [conn.reply(ERR_NICKNAMEINUSE, target)]
    if code == "nick_invalid":
        if command == "NICK":
            return [conn.reply(ERR_ERRONEUSNICKNAME, target)]
        return [conn.reply(ERR_NOSUCHNICK, asked.nick or target)]
    if code in _ON_CHANNEL:
        return [conn.reply(_ON_CHANNEL[code], target)]
    if code == "room_limit":
        return [conn.reply(ERR_NOSUCHCHANNEL, target, text=error.message)]
    if code == "not_in_room":
        return _not_in_room(conn, asked)
    if code == "no_such_nick":
        lines = [conn.reply(ERR_NOSUCHNICK, asked.nick or target)]
        if command == "WHOIS":
            lines.append(conn.reply(RPL_ENDOFWHOIS, target))
        return lines
    if code == "text_too_long":
        return [conn.reply(ERR_INPUTTOOLONG, text=error.message)]
    if code == "not_op":
        if command in _SERVER_WIDE:
            return [conn.reply(ERR_NOPRIVILEGES)]
        return [conn.reply(ERR_CHANOPRIVSNEEDED, target)]
    if code == "muted":
        return [conn.reply(ERR_CANNOTSENDTOCHAN, target, text=error.message)]
    if code == "auth_failed":
        return [conn.reply(ERR_PASSWDMISMATCH)]
    if asked.lists:  # a list the client waits for (irssi asks MODE #room b on every join)
        return [conn.reply(_LIST_END[command], target)]
    if code == "unknown_type":
        return [conn.reply(ERR_UNKNOWNCOMMAND, command)]
    return [generic(conn, command, error)]


def generic(conn: IrcConnection, command: str | None, error: Error) -> IrcMessage:
    """``FAIL COMMAND CODE :text`` with ``standard-replies``, else a server ``NOTICE``."""
    if conn.standard_replies:
        return fail(conn.server, command, error.code.upper(), description=error.message)
    return IrcMessage("NOTICE", [conn.nick, error.message], source=conn.server, trailing=True)


def _not_in_room(conn: IrcConnection, asked: Asked) -> list[IrcMessage]:
    command, target = asked.command, asked.target
    if command in ("PRIVMSG", "TAGMSG"):
        return [conn.reply(ERR_CANNOTSENDTOCHAN, target)]
    if asked.lists:
        return [conn.reply(_LIST_END[command], target)]
    room = room_name(target)
    member = asked.nick is not None and room is not None and fold(room) in conn.channels
    if command in _ON_MEMBER and asked.nick is not None and member:  # the other one is not
        return [conn.reply(ERR_USERNOTINCHANNEL, asked.nick, target)]
    return [conn.reply(ERR_NOTONCHANNEL, target)]


def _registration_refused(
    conn: IrcConnection, error: Error, asked: Asked | None
) -> list[IrcMessage]:
    """``hello`` refused: a nick in use waits for another ``NICK``; a password closes."""
    registration = conn.registration
    assert registration is not None
    nick = asked.target if asked is not None else registration.nick or "*"
    if registration.phase is Phase.REGISTERING:  # the door has not followed the hub yet
        registration.nick_refused()
    if error.code == "nick_taken":
        return [conn.reply(ERR_NICKNAMEINUSE, nick)]
    if error.code == "nick_invalid":
        return [conn.reply(ERR_ERRONEUSNICKNAME, nick)]
    if error.code == "auth_failed":
        conn.fatal("auth_failed")
        return [conn.reply(ERR_PASSWDMISMATCH)]
    return [generic(conn, "NICK", error)]


def _asked_later(conn: IrcConnection, error: Error) -> Asked:
    """The command an error answers that came after its read (a shared store's answer)."""
    if error.ref == "nick" and conn.renaming is not None:
        nick, conn.renaming = conn.renaming, None
        return Asked("NICK", nick)
    command = {"say": "PRIVMSG", "topic": "TOPIC"}.get(error.ref or "")
    return Asked(command or "*")
