"""Channel modes: ``MODE`` changes parsed into typed changes, and a room's modes
rendered for 324.

The letters follow PROTOCOL.md's moderation and the server's
``CHANMODES=b,k,l,imt`` and ``PREFIX=(ov)@+``:

====  ======  =========================================================
b     type A  a ban mask (:mod:`.mapping`); without one, list the bans
k     type B  the key; ``+k`` needs it, ``-k`` takes one if given
l     type C  the member limit, an integer of at least 1; ``-l`` takes none
i m t type D  ``invite_only``, ``moderated``, ``topic_ops``
o v   prefix  a nick to op or voice
====  ======  =========================================================

:func:`parse_channel_modes` never raises: as servers do, it keeps every change
it understood and reports the rest, so the door applies what it can and sends
:func:`problem_replies`: 472 for each unknown letter, 461 if an argument was
missing, 472 for a ban mask hubbub cannot hold (as PROTOCOL.md asks), 525 for
a malformed key and 696 for a limit below 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from protocol import RoomModes, is_valid_key

from .mapping import BanMask, parse_ban_mask
from .numerics import (
    ERR_INVALIDKEY,
    ERR_INVALIDMODEPARAM,
    ERR_NEEDMOREPARAMS,
    ERR_UNKNOWNMODE,
    reply,
)
from .wire import IrcMessage

LIST_MODES = "b"
KEY_MODES = "k"
LIMIT_MODES = "l"
FLAG_MODES = "imt"
PREFIX_MODES = "ov"
PREFIX_SYMBOLS = "@+"
#: The ``CHANMODES`` token's value: types A, B, C and D.
CHANMODES = ",".join((LIST_MODES, KEY_MODES, LIMIT_MODES, FLAG_MODES))
#: The ``PREFIX`` token's value.
PREFIX = f"({PREFIX_MODES}){PREFIX_SYMBOLS}"
#: Every channel mode, for 004, and those that take a parameter.
CHANNEL_MODES = "".join(sorted(LIST_MODES + KEY_MODES + LIMIT_MODES + FLAG_MODES + PREFIX_MODES))
CHANNEL_MODES_WITH_PARAM = "".join(sorted(LIST_MODES + KEY_MODES + LIMIT_MODES + PREFIX_MODES))
#: The user modes there are: invisible (accepted, changes nothing) and operator.
USER_MODES = "io"

#: Native ``mode`` fields of the flag letters.
FLAG_FIELDS = {"i": "invite_only", "m": "moderated", "t": "topic_ops"}


@dataclass(frozen=True, slots=True)
class FlagChange:
    letter: str
    on: bool


@dataclass(frozen=True, slots=True)
class KeyChange:
    """``key`` set, or removed when ``None``."""

    key: str | None


@dataclass(frozen=True, slots=True)
class LimitChange:
    """``limit`` set, or removed when ``None``."""

    limit: int | None


@dataclass(frozen=True, slots=True)
class MemberChange:
    """``o`` or ``v`` given to (``on``) or taken from ``nick``."""

    letter: str
    on: bool
    nick: str


@dataclass(frozen=True, slots=True)
class BanChange:
    on: bool
    ban: BanMask


@dataclass(frozen=True, slots=True)
class BanListQuery:
    """``b`` without a mask: answer the ban list, 367s then 368."""


ModeChange = FlagChange | KeyChange | LimitChange | MemberChange | BanChange | BanListQuery


@dataclass(frozen=True, slots=True)
class ParsedModes:
    """What a ``MODE`` string asked for.

    ``changes`` in order; ``unknown`` letters (472 each); ``missing``: letters
    that needed an argument none was left for (461 ``MODE``); ``invalid``:
    ``(letter, argument)`` pairs refused, a limit that is not a positive
    integer, a ban mask hubbub cannot hold or a key that is not 1-32
    characters without a comma (see :func:`problem_replies`).
    """

    changes: tuple[ModeChange, ...] = ()
    unknown: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    invalid: tuple[tuple[str, str], ...] = ()


def parse_channel_modes(modestring: str, args: Sequence[str] = ()) -> ParsedModes:
    """Parse ``+ik-l key`` with its arguments, left to right.

    A string that starts with a letter counts as ``+``.  Arguments are taken
    in order by the letters that use them; any left over are ignored.
    """
    changes: list[ModeChange] = []
    unknown: list[str] = []
    missing: list[str] = []
    invalid: list[tuple[str, str]] = []
    queue = list(args)
    on = True
    for letter in modestring:
        if letter in "+-":
            on = letter == "+"
        elif letter in FLAG_MODES:
            changes.append(FlagChange(letter, on))
        elif letter in LIST_MODES:
            if not queue:
                changes.append(BanListQuery())
            elif (ban := parse_ban_mask(mask := queue.pop(0))) is None:
                invalid.append((letter, mask))
            else:
                changes.append(BanChange(on, ban))
        elif letter in KEY_MODES:
            if not on:
                if queue:
                    queue.pop(0)
                changes.append(KeyChange(None))
            elif not queue:
                missing.append(letter)
            elif not is_valid_key(key := queue.pop(0)):
                invalid.append((letter, key))
            else:
                changes.append(KeyChange(key))
        elif letter in LIMIT_MODES:
            if not on:
                changes.append(LimitChange(None))
            elif not queue:
                missing.append(letter)
            elif (limit := _positive(value := queue.pop(0))) is None:
                invalid.append((letter, value))
            else:
                changes.append(LimitChange(limit))
        elif letter in PREFIX_MODES:
            if queue:
                changes.append(MemberChange(letter, on, queue.pop(0)))
            else:
                missing.append(letter)
        else:
            unknown.append(letter)
    return ParsedModes(tuple(changes), tuple(unknown), tuple(missing), tuple(invalid))


def _positive(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    value = int(text)
    return value if value >= 1 else None


def render_changes(changes: Sequence[ModeChange]) -> list[str]:
    """The ``MODE`` parameters that announce ``changes``: ``["+o-v", "a", "b"]``.

    A removed key is shown as ``-k *`` (a type B mode always has a parameter
    from the server); :class:`BanListQuery` is no change and is left out.
    Empty if nothing is left.
    """
    letters: list[str] = []
    params: list[str] = []
    sign = ""
    for change in changes:
        match change:
            case FlagChange(letter, on):
                on_, letter_, param = on, letter, None
            case KeyChange(key):
                on_, letter_, param = key is not None, "k", key or "*"
            case LimitChange(limit):
                on_, letter_, param = limit is not None, "l", None if limit is None else str(limit)
            case MemberChange(letter, on, nick):
                on_, letter_, param = on, letter, nick
            case BanChange(on, ban):
                on_, letter_, param = on, "b", ban.mask
            case BanListQuery():
                continue
        wanted = "+" if on_ else "-"
        if wanted != sign:
            letters.append(wanted)
            sign = wanted
        letters.append(letter_)
        if param is not None:
            params.append(param)
    return ["".join(letters), *params] if letters else []


def render_room_modes(modes: RoomModes, *, show_key: bool = True) -> list[str]:
    """The 324 parameters after the channel: ``["+iklmt", key, limit]``, letters
    in alphabetical order and arguments in the same order; ``["+"]`` when no
    mode is set.  ``show_key=False`` shows the key as ``*``, for a client
    that is not a member."""
    letters = "+"
    params: list[str] = []
    if modes.invite_only:
        letters += "i"
    if modes.key is not None:
        letters += "k"
        params.append(modes.key if show_key else "*")
    if modes.limit is not None:
        letters += "l"
        params.append(str(modes.limit))
    if modes.moderated:
        letters += "m"
    if modes.topic_ops:
        letters += "t"
    return [letters, *params]


def mode_changes(old: RoomModes, new: RoomModes) -> list[ModeChange]:
    """The changes that turn ``old`` into ``new``, as ``MODE`` announces them:
    flags in the order ``imt``, then the key, then the limit."""
    changes: list[ModeChange] = [
        FlagChange(letter, getattr(new, field))
        for letter, field in FLAG_FIELDS.items()
        if getattr(old, field) != getattr(new, field)
    ]
    if old.key != new.key:
        changes.append(KeyChange(new.key))
    if old.limit != new.limit:
        changes.append(LimitChange(new.limit))
    return changes


def room_mode_request(changes: Sequence[ModeChange]) -> dict[str, bool | str | int | None]:
    """The fields of a native ``mode`` request for the room-wide changes among
    ``changes`` (flags, key, limit); the last change to a field wins.  Empty if
    there are none: bans and member changes are requests of their own."""
    fields: dict[str, bool | str | int | None] = {}
    for change in changes:
        match change:
            case FlagChange(letter, on):
                fields[FLAG_FIELDS[letter]] = on
            case KeyChange(key):
                fields["key"] = key
            case LimitChange(limit):
                fields["limit"] = limit
    return fields


_INVALID_TEXT = {
    "b": "A ban mask is nick!*@* or *!*@address, with an IP address or CIDR network",
    "l": "The limit must be a whole number of at least 1",
}


def problem_replies(server: str, nick: str, channel: str, parsed: ParsedModes) -> list[IrcMessage]:
    """The replies for what :func:`parse_channel_modes` could not take: 472 per
    unknown letter, one 461 if arguments were missing, then per refused
    argument 472 (a ban mask), 525 (a key) or 696 (a limit)."""
    out = [reply(server, nick, ERR_UNKNOWNMODE, letter) for letter in parsed.unknown]
    if parsed.missing:
        out.append(reply(server, nick, ERR_NEEDMOREPARAMS, "MODE"))
    for letter, value in parsed.invalid:
        if letter in LIST_MODES:
            out.append(reply(server, nick, ERR_UNKNOWNMODE, letter, text=_INVALID_TEXT[letter]))
        elif letter in KEY_MODES:
            out.append(reply(server, nick, ERR_INVALIDKEY, channel))
        else:
            text = _INVALID_TEXT[letter]
            out.append(reply(server, nick, ERR_INVALIDMODEPARAM, channel, letter, value, text=text))
    return out
