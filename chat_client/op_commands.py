"""The commands of moderation, away, whois and ignore: ``/op`` ... ``/unignore``.

Pure, like :mod:`chat_client.commands`, whose table takes :data:`OP_COMMANDS`.
Commands about a room act on the room of the window they are typed in
(``/bans`` and ``/invite`` may name another).  A DURATION is seconds, or a
number with ``s``, ``m``, ``h`` or ``d``; a ban's target is an ADDRESS (an IP
address or CIDR network) when it holds ``.`` or ``:``, else a NICK.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import ValidationError

from protocol import (
    Away,
    Ban,
    Bans,
    ClientMessage,
    Deop,
    Devoice,
    Invite,
    Kick,
    Kill,
    Mute,
    Op,
    Oper,
    SetMode,
    Unban,
    Unmute,
    Voice,
    Whois,
    is_valid_nick,
    is_valid_room,
)

from .results import Command, Context, Local, Problem, Result, Send

__all__ = ["OP_COMMANDS", "parse_duration", "parse_modes"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float | None:
    """``90``, ``90s``, ``10m``, ``2h``, ``1d`` in seconds; ``None`` if it is not one."""
    match = _DURATION.fullmatch(text.lower())
    if match is None or float(match.group(1)) <= 0:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


_FLAGS = {"i": "invite_only", "m": "moderated", "t": "topic_ops"}


def parse_modes(words: list[str]) -> dict[str, object] | str:
    """IRC-style mode changes (``+im``, ``-t``, ``+k KEY``, ``-k``, ``+l 10``, ``-l``)
    as ``mode`` fields, or a reason they are wrong."""
    changes: dict[str, object] = {}
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if len(word) < 2 or word[0] not in "+-":
            return f"not a mode change: {word!r} (+i -m +k KEY +l N ...)"
        on = word[0] == "+"
        for letter in word[1:]:
            if letter in _FLAGS:
                changes[_FLAGS[letter]] = on
            elif letter == "k":
                if on and not rest:
                    return "+k needs the key"
                changes["key"] = rest.pop(0) if on else None
            elif letter == "l":
                if not on:
                    changes["limit"] = None
                elif not rest or not rest[0].isdigit():
                    return "+l needs a number"
                else:
                    changes["limit"] = int(rest.pop(0))
            else:
                return f"unknown mode {letter!r} (i, m, t, k, l)"
    return changes


def _build(make: Callable[[], ClientMessage]) -> Result:
    try:
        return Send(make())
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        return Problem(str(error["msg"]))


def _in_room(ctx: Context, usage: str) -> str | Problem:
    return ctx.room if ctx.room is not None else Problem(f"{usage} works in a room window")


def _nick_and_rest(arg: str, usage: str) -> tuple[str, str] | Problem:
    nick, _, rest = arg.strip().partition(" ")
    if not nick:
        return Problem(f"usage: {usage}")
    if not is_valid_nick(nick):
        return Problem(f"not a nick: {nick!r}")
    return nick, rest.strip()


def _targeted(
    kind: type[Op | Deop | Voice | Devoice | Unmute], usage: str
) -> Callable[..., Result]:
    def handler(arg: str, ctx: Context) -> Result:
        room = _in_room(ctx, usage)
        found = _nick_and_rest(arg, usage)
        if isinstance(room, Problem):
            return room
        if isinstance(found, Problem):
            return found
        return _build(lambda: kind(room=room, nick=found[0]))

    return handler


def _kick(arg: str, ctx: Context) -> Result:
    room, found = _in_room(ctx, "/kick"), _nick_and_rest(arg, "/kick NICK [REASON]")
    if isinstance(room, Problem) or isinstance(found, Problem):
        return room if isinstance(room, Problem) else found  # type: ignore[return-value]
    nick, reason = found
    return _build(lambda: Kick(room=room, nick=nick, reason=reason or None))


def _target(text: str) -> dict[str, str]:
    return {"address": text} if "." in text or ":" in text else {"nick": text}


def _ban(arg: str, ctx: Context) -> Result:
    room = _in_room(ctx, "/ban")
    if isinstance(room, Problem):
        return room
    words = arg.split()
    if not words:
        return Problem("usage: /ban NICK|ADDRESS [DURATION] [REASON]")
    target, rest = _target(words[0]), words[1:]
    duration = parse_duration(rest[0]) if rest else None
    if duration is not None:
        rest = rest[1:]
    reason = " ".join(rest) or None
    return _build(lambda: Ban(room=room, duration=duration, reason=reason, **target))  # type: ignore[arg-type]


def _unban(arg: str, ctx: Context) -> Result:
    room = _in_room(ctx, "/unban")
    if isinstance(room, Problem):
        return room
    if not arg.strip():
        return Problem("usage: /unban NICK|ADDRESS")
    target = _target(arg.split()[0])
    return _build(lambda: Unban(room=room, **target))  # type: ignore[arg-type]


def _bans(arg: str, ctx: Context) -> Result:
    room = arg.strip().removeprefix("#") or ctx.room
    if room is None:
        return Problem("usage: /bans [ROOM]")
    if not is_valid_room(room):
        return Problem(f"not a room name: {room!r}")
    return Send(Bans(room=room))


def _mute(arg: str, ctx: Context) -> Result:
    room, found = _in_room(ctx, "/mute"), _nick_and_rest(arg, "/mute NICK [DURATION]")
    if isinstance(room, Problem) or isinstance(found, Problem):
        return room if isinstance(room, Problem) else found  # type: ignore[return-value]
    nick, rest = found
    duration = parse_duration(rest) if rest else None
    if rest and duration is None:
        return Problem(f"not a duration: {rest!r} (90, 90s, 10m, 2h, 1d)")
    return _build(lambda: Mute(room=room, nick=nick, duration=duration))


def _mode(arg: str, ctx: Context) -> Result:
    room = _in_room(ctx, "/mode")
    if isinstance(room, Problem):
        return room
    changes = parse_modes(arg.split())
    if isinstance(changes, str):
        return Problem(changes)
    return _build(lambda: SetMode.model_validate({"room": room, **changes}))


def _invite(arg: str, ctx: Context) -> Result:
    found = _nick_and_rest(arg, "/invite NICK [ROOM]")
    if isinstance(found, Problem):
        return found
    nick, rest = found
    room = rest.removeprefix("#") or ctx.room
    if room is None:
        return Problem("usage: /invite NICK [ROOM]")
    return _build(lambda: Invite(room=room, nick=nick))


def _oper(arg: str, ctx: Context) -> Result:
    if not arg.strip():
        return Problem("usage: /oper PASSWORD")
    return Send(Oper(password=arg.strip()))


def _kill(arg: str, ctx: Context) -> Result:
    found = _nick_and_rest(arg, "/kill NICK [REASON]")
    if isinstance(found, Problem):
        return found
    return _build(lambda: Kill(nick=found[0], reason=found[1] or None))


def _away(arg: str, ctx: Context) -> Result:
    return _build(lambda: Away(text=arg.strip() or None))


def _whois(arg: str, ctx: Context) -> Result:
    found = _nick_and_rest(arg, "/whois NICK")
    return found if isinstance(found, Problem) else Send(Whois(nick=found[0]))


def _ignore(arg: str, ctx: Context) -> Result:
    nick = arg.strip()
    if nick and not is_valid_nick(nick):
        return Problem(f"not a nick: {nick!r}")
    return Local("ignore", nick)


def _unignore(arg: str, ctx: Context) -> Result:
    found = _nick_and_rest(arg, "/unignore NICK")
    return found if isinstance(found, Problem) else Local("unignore", found[0])


OP_COMMANDS: tuple[Command, ...] = (
    Command("op", "/op NICK", "make NICK an op of this room", _targeted(Op, "/op NICK")),
    Command("deop", "/deop NICK", "take op from NICK", _targeted(Deop, "/deop NICK")),
    Command(
        "voice",
        "/voice NICK",
        "let NICK speak in a moderated room",
        _targeted(Voice, "/voice NICK"),
    ),
    Command(
        "devoice", "/devoice NICK", "take voice from NICK", _targeted(Devoice, "/devoice NICK")
    ),
    Command("kick", "/kick NICK [REASON]", "put NICK out of this room", _kick),
    Command(
        "ban", "/ban NICK|ADDRESS [DURATION] [REASON]", "ban from this room (10m, 2h...)", _ban
    ),
    Command("unban", "/unban NICK|ADDRESS", "lift a ban of this room", _unban),
    Command("bans", "/bans [ROOM]", "list the bans of a room", _bans),
    Command("mute", "/mute NICK [DURATION]", "NICK may not speak here", _mute),
    Command("unmute", "/unmute NICK", "lift a mute", _targeted(Unmute, "/unmute NICK")),
    Command("mode", "/mode [+i|-i +m +t +k KEY +l N ...]", "show or set this room's modes", _mode),
    Command(
        "invite", "/invite NICK [ROOM]", "let NICK join once, past invite-only and key", _invite
    ),
    Command("oper", "/oper PASSWORD", "become a server operator", _oper),
    Command("kill", "/kill NICK [REASON]", "disconnect NICK (server operators)", _kill),
    Command("away", "/away [TEXT]", "say you are away; without TEXT, back", _away),
    Command("whois", "/whois NICK", "who NICK is, where, and since when", _whois),
    Command("ignore", "/ignore [NICK]", "hide NICK's messages, whispers and files; list", _ignore),
    Command("unignore", "/unignore NICK", "show NICK again", _unignore),
)
