"""A pure parser from one input line to what the client should do.

:func:`parse` turns ``/join lobby`` into ``Send(Join(room="lobby"))``, plain
text into a ``say`` (or a ``whisper`` in a private window), and client-only
commands such as ``/switch 2`` into a :class:`Local` action.  It never touches
the network or the screen; the caller carries the result out.  ``id`` fields
are left empty: the caller assigns them before sending.  A text longer than
the server's ``max_text`` becomes several messages (:mod:`chat_client.split`).

The commands live in one table, :data:`COMMANDS`; ``/help`` and tab
completion read the same table.
"""

from __future__ import annotations

from pydantic import ValidationError

from protocol import (
    ClientMessage,
    Join,
    Leave,
    ListRooms,
    Say,
    SetNick,
    SetTopic,
    Whisper,
    Who,
    fold,
    is_valid_nick,
    is_valid_room,
)

from .op_commands import OP_COMMANDS
from .results import BellMode, Command, Context, Local, LocalAction, Problem, Result, Send
from .split import split_text

__all__ = [
    "COMMANDS",
    "BellMode",
    "Command",
    "Context",
    "Local",
    "LocalAction",
    "Problem",
    "Result",
    "Send",
    "command_names",
    "parse",
]

BELL_MODES: tuple[BellMode, ...] = ("on", "off", "mentions")


def _room_arg(arg: str) -> str:
    return arg[1:] if arg.startswith("#") else arg


def _say(text: str, ctx: Context, *, action: bool = False) -> Result:
    if ctx.room is None and ctx.query is None:
        return Problem("you are not in a room: /join ROOM first")
    if ctx.query is not None and action:
        return Problem("/me works in rooms only")
    limits = {"max_text": ctx.max_text}
    messages: list[ClientMessage] = []
    try:
        for part in split_text(text, max(1, ctx.max_text)):
            if ctx.room is not None:
                fields = {"room": ctx.room, "text": part, "action": action}
                messages.append(Say.model_validate(fields, context=limits))
            else:
                fields = {"to": ctx.query, "text": part}
                messages.append(Whisper.model_validate(fields, context=limits))
    except ValidationError as exc:
        return Problem(_why(exc))
    return Send(messages[0], tuple(messages[1:]))


def _why(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    if error["type"] == "empty_text":
        return "nothing to send"
    return str(error["msg"])


def _join(arg: str, ctx: Context) -> Result:
    room = _room_arg(arg.strip())
    if not room:
        return Problem("usage: /join ROOM")
    if not is_valid_room(room):
        return Problem(f"not a room name: {room!r} (1-64 of A-Z a-z 0-9 _ - .)")
    return Send(Join(room=room))


def _leave(arg: str, ctx: Context) -> Result:
    """``/leave [ROOM] [REASON]``: the first word is a room if it starts with ``#``,
    names a joined room, or the line was typed outside a room; else it is the reason.

    The protocol's ``leave`` carries no reason, so a reason is not sent.
    """
    first = arg.split(maxsplit=1)[0] if arg.strip() else ""
    named = first.startswith("#") or fold(_room_arg(first)) in ctx.joined
    room = _room_arg(first) if first and (named or ctx.room is None) else ctx.room
    if room is None:
        if ctx.query is not None:
            return Local("close")
        return Problem("usage: /leave [ROOM] [REASON]")
    if not is_valid_room(room):
        return Problem(f"not a room name: {room!r}")
    return Send(Leave(room=room))


def _switch(arg: str, ctx: Context) -> Result:
    target = _room_arg(arg.strip())
    if not target:
        return Problem("usage: /switch ROOM|NICK|NUMBER")
    return Local("switch", target)


def _msg(arg: str, ctx: Context) -> Result:
    nick, _, text = arg.strip().partition(" ")
    if not nick:
        return Problem("usage: /msg NICK [TEXT]")
    if not is_valid_nick(nick):
        return Problem(f"not a nick: {nick!r}")
    if not text.strip():
        return Local("query", nick)
    return _say(text, Context(query=nick, max_text=ctx.max_text))


def _me(arg: str, ctx: Context) -> Result:
    if not arg.strip():
        return Problem("usage: /me ACTION")
    return _say(arg, ctx, action=True)


def _nick(arg: str, ctx: Context) -> Result:
    nick = arg.strip()
    if not nick:
        return Problem("usage: /nick NEWNICK")
    if not is_valid_nick(nick):
        return Problem(f"not a nick: {nick!r} (1-32 of A-Z a-z 0-9 _ -, not starting with -)")
    return Send(SetNick(nick=nick))


def _topic(arg: str, ctx: Context) -> Result:
    if ctx.room is None:
        return Problem("/topic works in a room window")
    text = arg.strip()
    if not text:
        return Local("show_topic")
    try:
        return Send(SetTopic(room=ctx.room, topic="" if text == "-delete" else text))
    except ValidationError as exc:
        return Problem(_why(exc))


def _list(arg: str, ctx: Context) -> Result:
    return Send(ListRooms())


def _who(arg: str, ctx: Context) -> Result:
    room = _room_arg(arg.strip()) or ctx.room
    if room is None:
        return Problem("usage: /who ROOM")
    if not is_valid_room(room):
        return Problem(f"not a room name: {room!r}")
    return Send(Who(room=room))


def _bell(arg: str, ctx: Context) -> Result:
    mode = arg.strip().lower()
    if mode and mode not in BELL_MODES:
        return Problem("usage: /bell on|off|mentions")
    return Local("bell", mode)


def _reconnect(arg: str, ctx: Context) -> Result:
    return Local("reconnect")


def _quit(arg: str, ctx: Context) -> Result:
    return Local("quit", arg.strip())


def _help(arg: str, ctx: Context) -> Result:
    name = arg.strip().lstrip("/").lower()
    if name and find(name) is None:
        return Problem(f"no such command: /{name}")
    return Local("help", name)


def _close(arg: str, ctx: Context) -> Result:
    return Local("close")


def _window(arg: str, ctx: Context) -> Result:
    word, _, rest = arg.strip().partition(" ")
    match word.lower():
        case "":
            return Problem("usage: /window N|NAME|list|close")
        case "list":
            return Local("window_list")
        case "close":
            return _window_close(rest, ctx)
        case "goto":
            return _switch(rest, ctx)
    return _switch(arg, ctx)


def _window_close(arg: str, ctx: Context) -> Result:
    if ctx.room is not None:
        return Send(Leave(room=ctx.room))
    if ctx.query is not None:
        return Local("close")
    return Problem("the status window stays open")


def _lastlog(arg: str, ctx: Context) -> Result:
    text = arg.strip()
    if not text:
        return Problem("usage: /lastlog TEXT")
    return Local("lastlog", text)


def _url(arg: str, ctx: Context) -> Result:
    count = arg.strip() or "10"
    if not count.isdigit() or int(count) < 1:
        return Problem("usage: /url [COUNT]")
    return Local("url", count)


def _clear(arg: str, ctx: Context) -> Result:
    return Local("clear")


def _say_command(arg: str, ctx: Context) -> Result:
    return _say(arg, ctx)


COMMANDS: tuple[Command, ...] = (
    Command("join", "/join ROOM", "join a room (and create it)", _join, ("j",)),
    Command("leave", "/leave [ROOM] [REASON]", "leave this room or ROOM", _leave, ("part",)),
    Command("switch", "/switch ROOM|NICK|N", "go to a window", _switch),
    Command(
        "window",
        "/window N|NAME|list|close",
        "go to a window, list the windows, or close this one",
        _window,
        ("win", "w"),
    ),
    Command("wc", "/wc", "close this window (leaving its room)", _window_close),
    Command("msg", "/msg NICK [TEXT]", "private message; opens a window", _msg, ("query",)),
    Command("me", "/me ACTION", "say an action: * you waves", _me),
    Command("nick", "/nick NEWNICK", "change your nick", _nick),
    Command("topic", "/topic [TEXT|-delete]", "show, set or clear the topic", _topic),
    Command("list", "/list", "list the rooms on the server", _list),
    Command("who", "/who [ROOM]", "list the members of a room", _who, ("names",)),
    Command("bell", "/bell [on|off|mentions]", "when to ring the terminal bell", _bell),
    Command("close", "/close", "close this private window", _close),
    Command("clear", "/clear", "clear this window's scrollback", _clear),
    Command(
        "lastlog", "/lastlog TEXT", "list this window's lines with TEXT", _lastlog, ("search",)
    ),
    Command("url", "/url [COUNT]", "list the last web addresses seen (10)", _url),
    Command("say", "/say TEXT", "send TEXT as is, even if it starts with /", _say_command),
    *OP_COMMANDS,
    Command("help", "/help [COMMAND]", "list the commands, or explain one", _help),
    Command("reconnect", "/reconnect", "drop the connection and connect again", _reconnect),
    Command("quit", "/quit [REASON]", "disconnect and exit", _quit, ("exit",)),
)

_BY_NAME: dict[str, Command] = {
    name: command for command in COMMANDS for name in (command.name, *command.aliases)
}


def find(name: str) -> Command | None:
    """The command called ``name`` (without the slash, any case), or ``None``."""
    return _BY_NAME.get(name.lower())


def command_names() -> list[str]:
    """Every command name, sorted, then every alias, sorted: completion offers
    ``/join`` before ``/j``."""
    names = sorted(command.name for command in COMMANDS)
    return names + sorted(set(_BY_NAME) - set(names))


def _split_command(line: str) -> tuple[str, str]:
    parts = line[1:].split(maxsplit=1)
    return (parts[0], parts[1] if len(parts) > 1 else "") if parts else ("", "")


def parse(line: str, ctx: Context) -> Result | None:
    """Decide what ``line`` means when typed in ``ctx``.

    Returns ``None`` for a blank line (do nothing).  A line starting with
    ``//`` is text that starts with ``/``.  An unknown command is a
    :class:`Problem`, never text sent by accident.
    """
    if not line.strip():
        return None
    if line.startswith("//"):
        return _say(line[1:], ctx)
    if not line.startswith("/"):
        return _say(line, ctx)
    name, arg = _split_command(line)
    command = find(name)
    if command is None:
        return Problem(f"unknown command: /{name} (try /help); nothing was sent")
    return command.handler(arg, ctx)
