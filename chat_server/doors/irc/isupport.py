"""What the server advertises at registration: 004 and the 005 tokens.

Only what the gateway does is claimed:

- ``CASEMAPPING=ascii``: names are ASCII and fold with :func:`protocol.fold`.
- ``CHANTYPES=#``, ``CHANNELLEN=65`` (``#`` and a 64-character room) and
  ``NICKLEN=32``, the limits of PROTOCOL.md "Names".
- ``CHANMODES=b,k,l,imt`` and ``PREFIX=(ov)@+``, from :mod:`.modes`.
- ``TOPICLEN=<max-text>``; ``AWAYLEN`` and ``KICKLEN`` only if given.
- ``CHATHISTORY=100`` and ``MSGREFTYPES=msgid,timestamp`` (draft/chathistory).
- ``MODES=4``: the parser takes any number, so 4 is a promise kept.
- ``TARGMAX``: by default comma lists for ``JOIN`` only, one target elsewhere.
- ``NETWORK`` and ``UTF8ONLY``.

Tokens go out sorted, at most 13 a line as the modern IRC document allows
(15 parameters less the nick and the text) and within 512 bytes, as ergo
splits them.  A value's space, backslash, ``=`` and control characters are
written ``\\xHH``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protocol import DEFAULT_MAX_TEXT, HISTORY_LIMIT_MAX

from .mapping import CHANNEL_PREFIX
from .modes import CHANMODES, CHANNEL_MODES, CHANNEL_MODES_WITH_PARAM, PREFIX, USER_MODES
from .numerics import RPL_ISUPPORT, RPL_MYINFO, reply
from .wire import MAX_LINE, IrcMessage

#: PROTOCOL.md "Names": a nick is 1-32 characters, a room 1-64.
NICKLEN = 32
CHANNELLEN = len(CHANNEL_PREFIX) + 64
MAX_TOKENS_PER_LINE = 13
DEFAULT_TARGMAX: tuple[tuple[str, int | None], ...] = (
    ("JOIN", None),
    ("KICK", 1),
    ("LIST", 1),
    ("NAMES", 1),
    ("NOTICE", 1),
    ("PART", 1),
    ("PRIVMSG", 1),
    ("TAGMSG", 1),
    ("WHOIS", 1),
)


@dataclass(frozen=True, slots=True)
class Features:
    """The server settings that 005 tells clients about.

    ``targmax`` pairs a command with its most targets (``None``: no limit).
    """

    network: str
    max_text: int = DEFAULT_MAX_TEXT
    history_limit: int = HISTORY_LIMIT_MAX
    modes: int = 4
    awaylen: int | None = None
    kicklen: int | None = None
    targmax: tuple[tuple[str, int | None], ...] = DEFAULT_TARGMAX


def escape_value(value: str) -> str:
    """An ISUPPORT value with space, ``\\``, ``=`` and control characters as ``\\xHH``."""
    return "".join(
        f"\\x{ord(c):02X}" if c in " \\=" or ord(c) < 0x20 or ord(c) == 0x7F else c for c in value
    )


def isupport_tokens(features: Features) -> list[str]:
    """The 005 tokens, sorted by name."""
    values: dict[str, str] = {
        "CASEMAPPING": "ascii",
        "CHANMODES": CHANMODES,
        "CHANNELLEN": str(CHANNELLEN),
        "CHANTYPES": CHANNEL_PREFIX,
        "CHATHISTORY": str(features.history_limit),
        "MODES": str(features.modes),
        "MSGREFTYPES": "msgid,timestamp",
        "NETWORK": escape_value(features.network),
        "NICKLEN": str(NICKLEN),
        "PREFIX": PREFIX,
        "TARGMAX": ",".join(
            f"{command}:{'' if most is None else most}" for command, most in features.targmax
        ),
        "TOPICLEN": str(features.max_text),
        "UTF8ONLY": "",
    }
    if features.awaylen is not None:
        values["AWAYLEN"] = str(features.awaylen)
    if features.kicklen is not None:
        values["KICKLEN"] = str(features.kicklen)
    return [f"{name}={value}" if value else name for name, value in sorted(values.items())]


def isupport_replies(server: str, nick: str, tokens: Sequence[str]) -> list[IrcMessage]:
    """``:server 005 nick TOKEN... :are supported by this server``, as many lines
    as it takes: at most 13 tokens each, each within 512 bytes.  Raises
    :class:`~.errors.LocalIrcError` for a token holding a space."""

    def line(chunk: Sequence[str]) -> IrcMessage:
        return IrcMessage(RPL_ISUPPORT.code, [nick, *chunk, text], source=server)

    text = RPL_ISUPPORT.text or ""
    lines: list[list[str]] = []
    for token in tokens:
        current = lines[-1] if lines else None
        if (
            current is None
            or len(current) == MAX_TOKENS_PER_LINE
            or line([*current, token]).body_size() > MAX_LINE
        ):
            lines.append([token])
        else:
            current.append(token)
    return [line(chunk) for chunk in lines]


def myinfo(server: str, nick: str, version: str) -> IrcMessage:
    """004: server name, version, user modes, channel modes, and the channel
    modes that take a parameter."""
    return reply(
        server, nick, RPL_MYINFO, server, version, USER_MODES, CHANNEL_MODES,
        CHANNEL_MODES_WITH_PARAM,
    )  # fmt: skip
