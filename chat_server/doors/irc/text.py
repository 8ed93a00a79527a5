"""Message text between the hub and IRC: line splitting and CTCP.

A native message may hold several lines and up to ``max-text`` characters; an
IRC ``PRIVMSG`` is one line of at most 512 bytes.  :func:`payloads` turns one
native text into the ``PRIVMSG``/``NOTICE`` texts to send, in order;
:func:`read_text` turns a received ``PRIVMSG`` text into what the hub takes.

Decisions:

- One ``PRIVMSG`` per line of the native text (split at CRLF, CR or LF).
  Empty lines are skipped, since IRC clients drop an empty ``PRIVMSG``; a text
  made only of line breaks becomes a single space, so that every native
  message is at least one IRC line.
- A line too long for 512 bytes is cut on a code point boundary, after the
  last space in the second half of the piece if there is one; the space stays
  at the end of the piece, so joining the pieces gives the line back.
- ``\\x01`` is removed from native text: it would make an IRC client read it
  as CTCP, letting a native user send CTCP queries or fake actions.
- CTCP follows the modern CTCP document: ``\\x01COMMAND params\\x01``, the
  final ``\\x01`` optional when reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import LocalIrcError
from .wire import MAX_BODY

CTCP_DELIMITER = "\x01"
#: The most bytes a UTF-8 code point takes: the least a piece may hold.
_MIN_PIECE = 4
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ACTION_WRAP = len("\x01ACTION \x01")


def text_lines(text: str) -> list[str]:
    """The lines of a native text, empty ones left out; ``[" "]`` if none is left."""
    return [line for line in _LINE_BREAK.split(text) if line] or [" "]


def split_utf8(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` UTF-8 bytes.

    Never cuts inside a code point; prefers to cut after a space found in the
    second half of a piece.  ``"".join()`` of the result is ``text`` (with any
    lone surrogate as ``?``).  Raises :class:`LocalIrcError` if ``limit`` is
    below 4, the size of the largest code point.
    """
    if limit < _MIN_PIECE:
        raise LocalIrcError(f"a piece of {limit} bytes cannot hold every code point")
    data = text.encode("utf-8", "replace")
    pieces: list[str] = []
    start = 0
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:
            cut -= 1
        space = data.rfind(b" ", start + limit // 2, cut)
        if space != -1:
            cut = space + 1
        pieces.append(data[start:cut].decode("utf-8"))
        start = cut
    pieces.append(data[start:].decode("utf-8"))
    return pieces


def payload_budget(*, source: str, command: str, target: str, action: bool = False) -> int:
    """Bytes of text that fit in ``:SOURCE COMMAND TARGET :TEXT\\r\\n`` within 512
    (tags do not count), less the CTCP wrapping for an action."""
    head = len(f":{source} {command} {target} :".encode("utf-8", "replace"))
    return MAX_BODY - head - (_ACTION_WRAP if action else 0)


def payloads(
    text: str, *, source: str, target: str, command: str = "PRIVMSG", action: bool = False
) -> list[str]:
    """The texts of the ``command`` lines that carry one native message.

    ``source`` is the sender's ``nick!user@host`` and ``target`` the channel or
    nick, exactly as they will be sent: each resulting line fits in 512 bytes
    with them.  An action has every piece wrapped as CTCP ``ACTION``.  Raises
    :class:`LocalIrcError` if ``source`` and ``target`` leave no room.
    """
    budget = payload_budget(source=source, command=command, target=target, action=action)
    clean = text.replace(CTCP_DELIMITER, "")
    pieces = [piece for line in text_lines(clean) for piece in split_utf8(line, budget)]
    if action:
        return [ctcp("ACTION", piece) for piece in pieces]
    return pieces


@dataclass(frozen=True, slots=True)
class Ctcp:
    """A CTCP query or reply other than ``ACTION``: ``command`` upper-cased."""

    command: str
    params: str = ""


@dataclass(frozen=True, slots=True)
class Said:
    """What a user said, ready for the hub's ``say`` or ``whisper``."""

    text: str
    action: bool = False


def ctcp(command: str, params: str = "") -> str:
    """``\\x01COMMAND params\\x01``; ``\\x01`` inside ``params`` is removed."""
    params = params.replace(CTCP_DELIMITER, "")
    body = f"{command} {params}" if params else command
    return f"{CTCP_DELIMITER}{body}{CTCP_DELIMITER}"


def parse_ctcp(text: str) -> Ctcp | None:
    """The CTCP message in a ``PRIVMSG``/``NOTICE`` text, or ``None`` if the text
    is not CTCP.  A missing final ``\\x01`` is tolerated."""
    if not text.startswith(CTCP_DELIMITER):
        return None
    body = text[1:].removesuffix(CTCP_DELIMITER)
    command, _, params = body.partition(" ")
    if not command or CTCP_DELIMITER in command:
        return None
    return Ctcp(command.upper(), params)


def read_text(text: str) -> Said | Ctcp:
    """A received ``PRIVMSG`` text: ``ACTION`` becomes ``Said(text, action=True)``,
    any other CTCP a :class:`Ctcp` for the door to answer or ignore, and plain
    text ``Said(text)``."""
    message = parse_ctcp(text)
    if message is None:
        return Said(text)
    if message.command == "ACTION":
        return Said(message.params, action=True)
    return message
