"""The numeric replies the gateway sends, and the builders of the common ones.

Each :class:`Numeric` carries its code, its name and, when the last parameter
is a fixed sentence, the standard text (RFC 2812 as the modern IRC client
protocol document gives it).  :func:`reply` builds
``:server CODE nick params... :text``; :func:`standard_reply` and its three
short forms build IRCv3 ``FAIL``/``WARN``/``NOTE``.

Parameters echoed from a client may be anything.  :func:`reply` sends each of
``params`` through :func:`safe_param`, so a value that could not be one
parameter becomes ``*``, as ergo does; whatever may hold spaces goes in
``text``, the last parameter.

Left out on purpose: 329 (the hub keeps no creation time), 346/347 (no ``+I``
list), 405 (no per-user room limit: ``room_limit`` is better told with 403 and
its own text, or ``FAIL JOIN``), 465 and 476 (no server bans; a bad channel
name is 403, as in ergo).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .wire import MAX_LINE, IrcMessage, is_middle_param

#: The longest value :func:`safe_param` lets through: a channel is at most 65.
MAX_ECHOED = 200


@dataclass(frozen=True, slots=True)
class Numeric:
    """A numeric reply: ``code`` is three digits, ``text`` its standard last
    parameter or ``None`` when the caller always supplies one."""

    code: str
    name: str
    text: str | None = None


RPL_WELCOME = Numeric("001", "RPL_WELCOME")
RPL_YOURHOST = Numeric("002", "RPL_YOURHOST")
RPL_CREATED = Numeric("003", "RPL_CREATED")
RPL_MYINFO = Numeric("004", "RPL_MYINFO")
RPL_ISUPPORT = Numeric("005", "RPL_ISUPPORT", "are supported by this server")
RPL_UMODEIS = Numeric("221", "RPL_UMODEIS")
RPL_AWAY = Numeric("301", "RPL_AWAY")
RPL_UNAWAY = Numeric("305", "RPL_UNAWAY", "You are no longer marked as being away")
RPL_NOWAWAY = Numeric("306", "RPL_NOWAWAY", "You have been marked as being away")
RPL_WHOISUSER = Numeric("311", "RPL_WHOISUSER")
RPL_WHOISSERVER = Numeric("312", "RPL_WHOISSERVER")
RPL_WHOISOPERATOR = Numeric("313", "RPL_WHOISOPERATOR", "is an IRC operator")
RPL_ENDOFWHO = Numeric("315", "RPL_ENDOFWHO", "End of WHO list")
RPL_WHOISIDLE = Numeric("317", "RPL_WHOISIDLE", "seconds idle, signon time")
RPL_ENDOFWHOIS = Numeric("318", "RPL_ENDOFWHOIS", "End of /WHOIS list")
RPL_WHOISCHANNELS = Numeric("319", "RPL_WHOISCHANNELS")
RPL_LISTSTART = Numeric("321", "RPL_LISTSTART", "Users  Name")  # after the word Channel
RPL_LIST = Numeric("322", "RPL_LIST")
RPL_LISTEND = Numeric("323", "RPL_LISTEND", "End of /LIST")
RPL_CHANNELMODEIS = Numeric("324", "RPL_CHANNELMODEIS")
RPL_NOTOPIC = Numeric("331", "RPL_NOTOPIC", "No topic is set")
RPL_TOPIC = Numeric("332", "RPL_TOPIC")
RPL_TOPICWHOTIME = Numeric("333", "RPL_TOPICWHOTIME")
RPL_INVITING = Numeric("341", "RPL_INVITING")
RPL_WHOREPLY = Numeric("352", "RPL_WHOREPLY")
RPL_NAMREPLY = Numeric("353", "RPL_NAMREPLY")
RPL_ENDOFNAMES = Numeric("366", "RPL_ENDOFNAMES", "End of /NAMES list")
RPL_BANLIST = Numeric("367", "RPL_BANLIST")
RPL_ENDOFBANLIST = Numeric("368", "RPL_ENDOFBANLIST", "End of channel ban list")
RPL_MOTD = Numeric("372", "RPL_MOTD")
RPL_MOTDSTART = Numeric("375", "RPL_MOTDSTART")
RPL_ENDOFMOTD = Numeric("376", "RPL_ENDOFMOTD", "End of /MOTD command.")
RPL_YOUREOPER = Numeric("381", "RPL_YOUREOPER", "You are now an IRC operator")
ERR_NOSUCHNICK = Numeric("401", "ERR_NOSUCHNICK", "No such nick/channel")
ERR_NOSUCHCHANNEL = Numeric("403", "ERR_NOSUCHCHANNEL", "No such channel")
ERR_CANNOTSENDTOCHAN = Numeric("404", "ERR_CANNOTSENDTOCHAN", "Cannot send to channel")
ERR_NOORIGIN = Numeric("409", "ERR_NOORIGIN", "No origin specified")
ERR_INVALIDCAPCMD = Numeric("410", "ERR_INVALIDCAPCMD", "Invalid CAP command")
ERR_NORECIPIENT = Numeric("411", "ERR_NORECIPIENT", "No recipient given")
ERR_NOTEXTTOSEND = Numeric("412", "ERR_NOTEXTTOSEND", "No text to send")
ERR_INPUTTOOLONG = Numeric("417", "ERR_INPUTTOOLONG", "Input line was too long")
ERR_UNKNOWNCOMMAND = Numeric("421", "ERR_UNKNOWNCOMMAND", "Unknown command")
ERR_NOMOTD = Numeric("422", "ERR_NOMOTD", "MOTD File is missing")
ERR_NONICKNAMEGIVEN = Numeric("431", "ERR_NONICKNAMEGIVEN", "No nickname given")
ERR_ERRONEUSNICKNAME = Numeric("432", "ERR_ERRONEUSNICKNAME", "Erroneous nickname")
ERR_NICKNAMEINUSE = Numeric("433", "ERR_NICKNAMEINUSE", "Nickname is already in use")
ERR_USERNOTINCHANNEL = Numeric("441", "ERR_USERNOTINCHANNEL", "They aren't on that channel")
ERR_NOTONCHANNEL = Numeric("442", "ERR_NOTONCHANNEL", "You're not on that channel")
ERR_USERONCHANNEL = Numeric("443", "ERR_USERONCHANNEL", "is already on channel")
ERR_NOTREGISTERED = Numeric("451", "ERR_NOTREGISTERED", "You have not registered")
ERR_NEEDMOREPARAMS = Numeric("461", "ERR_NEEDMOREPARAMS", "Not enough parameters")
ERR_ALREADYREGISTERED = Numeric("462", "ERR_ALREADYREGISTERED", "You may not reregister")
ERR_PASSWDMISMATCH = Numeric("464", "ERR_PASSWDMISMATCH", "Password incorrect")
ERR_CHANNELISFULL = Numeric("471", "ERR_CHANNELISFULL", "Cannot join channel (+l)")
ERR_UNKNOWNMODE = Numeric("472", "ERR_UNKNOWNMODE", "is unknown mode char to me")
ERR_INVITEONLYCHAN = Numeric("473", "ERR_INVITEONLYCHAN", "Cannot join channel (+i)")
ERR_BANNEDFROMCHAN = Numeric("474", "ERR_BANNEDFROMCHAN", "Cannot join channel (+b)")
ERR_BADCHANNELKEY = Numeric("475", "ERR_BADCHANNELKEY", "Cannot join channel (+k)")
ERR_NOPRIVILEGES = Numeric(
    "481", "ERR_NOPRIVILEGES", "Permission Denied- You're not an IRC operator"
)
ERR_CHANOPRIVSNEEDED = Numeric("482", "ERR_CHANOPRIVSNEEDED", "You're not channel operator")
ERR_UMODEUNKNOWNFLAG = Numeric("501", "ERR_UMODEUNKNOWNFLAG", "Unknown MODE flag")
ERR_USERSDONTMATCH = Numeric("502", "ERR_USERSDONTMATCH", "Cant change mode for other users")
ERR_INVALIDKEY = Numeric("525", "ERR_INVALIDKEY", "Key is not well-formed")
ERR_INVALIDMODEPARAM = Numeric("696", "ERR_INVALIDMODEPARAM")

#: Standard-reply codes the gateway uses (IRCv3 reply code registry).
INVALID_UTF8 = "INVALID_UTF8"
NEED_MORE_PARAMS = "NEED_MORE_PARAMS"
INVALID_PARAMS = "INVALID_PARAMS"
INVALID_TARGET = "INVALID_TARGET"
UNKNOWN_COMMAND = "UNKNOWN_COMMAND"
MESSAGE_ERROR = "MESSAGE_ERROR"


def safe_param(param: str) -> str:
    """``param`` if it can go out as one parameter that is not the last, else
    ``*``: empty, holding a space, CR or LF, starting with ``:`` or longer than
    200 characters.  NUL is dropped first."""
    param = param.replace("\0", "")
    if not is_middle_param(param) or "\r" in param or "\n" in param or len(param) > MAX_ECHOED:
        return "*"
    return param


def reply(
    server: str, nick: str | None, numeric: Numeric, *params: str, text: str | None = None
) -> IrcMessage:
    """``:server CODE nick params... :text``.

    ``nick`` is the client's nick, or ``None`` before it has one (sent as
    ``*``).  ``params`` are single words and go through :func:`safe_param`;
    ``text`` replaces the numeric's standard text as the last parameter,
    always sent with its ``:``.  A numeric without standard text and without
    ``text`` ends with ``params``.
    """
    last = text if text is not None else numeric.text
    args = [safe_param(nick or "*"), *(safe_param(p) for p in params)]
    if last is not None:
        args.append(last)
    return IrcMessage(numeric.code, args, source=server, trailing=last is not None)


def standard_reply(
    server: str,
    kind: Literal["FAIL", "WARN", "NOTE"],
    command: str | None,
    code: str,
    *context: str,
    description: str,
) -> IrcMessage:
    """IRCv3 standard replies: ``KIND <command or *> CODE [context...] :description``."""
    args = [safe_param(command or "*"), code, *(safe_param(c) for c in context), description]
    return IrcMessage(kind, args, source=server, trailing=True)


def fail(
    server: str, command: str | None, code: str, *context: str, description: str
) -> IrcMessage:
    return standard_reply(server, "FAIL", command, code, *context, description=description)


def warn(
    server: str, command: str | None, code: str, *context: str, description: str
) -> IrcMessage:
    return standard_reply(server, "WARN", command, code, *context, description=description)


def note(
    server: str, command: str | None, code: str, *context: str, description: str
) -> IrcMessage:
    return standard_reply(server, "NOTE", command, code, *context, description=description)


# --- replies that take more than one line ----------------------------------------


def pack_words(words: Sequence[str], budget: int) -> list[str]:
    """``words`` joined by spaces into as few strings of at most ``budget`` UTF-8
    bytes as they fit in; a word longer than ``budget`` goes alone."""
    lines: list[str] = []
    current: list[str] = []
    size = -1
    for word in words:
        length = len(word.encode("utf-8", "replace"))
        if current and size + 1 + length > budget:
            lines.append(" ".join(current))
            current, size = [], -1
        current.append(word)
        size += 1 + length
    if current:
        lines.append(" ".join(current))
    return lines


def packed_replies(
    server: str, nick: str | None, numeric: Numeric, params: Sequence[str], words: Sequence[str]
) -> list[IrcMessage]:
    """As many ``numeric`` replies as it takes to carry ``words`` in their last
    parameter, each within 512 bytes (353 names, 319 channels); none if
    ``words`` is empty."""
    empty = reply(server, nick, numeric, *params, text="")
    budget = MAX_LINE - empty.body_size()
    return [reply(server, nick, numeric, *params, text=line) for line in pack_words(words, budget)]


def member_prefix(*, op: bool, voiced: bool, multi_prefix: bool) -> str:
    """A member's prefix under ``PREFIX=(ov)@+``: the highest one, or all of
    them to a client that negotiated ``multi-prefix``."""
    prefixes = ("@" if op else "") + ("+" if voiced else "")
    return prefixes if multi_prefix else prefixes[:1]


def who_flags(*, away: bool, server_operator: bool, prefix: str) -> str:
    """The flags of 352: ``H`` or ``G``, ``*`` for a server operator, then the
    member's prefix as :func:`member_prefix` gives it."""
    return ("G" if away else "H") + ("*" if server_operator else "") + prefix


def names_replies(server: str, nick: str, channel: str, members: Sequence[str]) -> list[IrcMessage]:
    """353 lines for ``members`` (each already prefixed), then 366."""
    return [
        *packed_replies(server, nick, RPL_NAMREPLY, ("=", channel), members),
        reply(server, nick, RPL_ENDOFNAMES, channel),
    ]


def welcome(
    server: str, nick: str, *, network: str, hostmask: str, version: str, created: str
) -> list[IrcMessage]:
    """001, 002 and 003; 004 and 005 come from :mod:`.isupport`."""
    return [
        reply(server, nick, RPL_WELCOME, text=f"Welcome to the {network} Network, {hostmask}"),
        reply(server, nick, RPL_YOURHOST, text=f"Your host is {server}, running version {version}"),
        reply(server, nick, RPL_CREATED, text=f"This server was created {created}"),
    ]


def motd(server: str, nick: str, text: str | None) -> list[IrcMessage]:
    """375, one 372 per line of ``text`` and 376; or 422 if there is none."""
    if not text:
        return [reply(server, nick, ERR_NOMOTD)]
    return [
        reply(server, nick, RPL_MOTDSTART, text=f"- {server} Message of the day - "),
        *(reply(server, nick, RPL_MOTD, text=f"- {line}") for line in text.splitlines()),
        reply(server, nick, RPL_ENDOFMOTD),
    ]
