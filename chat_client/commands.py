"""A pure parser from one input line to what the client should do.

:func:`parse` turns ``/join lobby`` into ``Send(Join(room="lobby"))``, plain
text into a ``say`` (or a ``whisper`` in a private window), and client-only
commands such as ``/switch 2`` into a :class:`Local` action.  It never touches
the network or the screen; the caller carries the result out.  ``id`` fields
are left empty: the caller assigns them before sending.

The commands live in one table, :data:`COMMANDS`; ``/help`` and tab
completion read the same table.
"""

from __future__ import annotations

from pydantic import ValidationError

from protocol import (
    Join,
    Leave,
    ListRooms,
    Say,
    SetNick,
    SetTopic,
    Whisper,
    Who,
    is_valid_nick,
    is_valid_room,
)

from .op_commands import OP_COMMANDS
from .results import BellMode, Command, Context, Local, LocalAction, Problem, Result, Send

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
    try:
        limits = {"max_text": ctx.max_text}
        if ctx.room is not None:
            fields = {"room": ctx.room, "text": text, "action": action}
            return Send(Say.model_validate(fields, context=limits))
        if ctx.query is not None:
            if action:
                return Problem("/me works in rooms only")
            return Send(Whisper.model_validate({"to": ctx.query, "text": text}, context=limits))
    except ValidationError as exc:
        return Problem(_why(exc))
    return Problem("you are not in a room: /join ROOM first")


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
    room = _room_arg(arg.strip().split(" ", 1)[0]) if arg.strip() else ctx.room
    if room is None:
        if ctx.query is not None:
            return Local("close")
        return Problem("usage: /leave [ROOM]")
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


def _clear(arg: str, ctx: Context) -> Result:
    return Local("clear")


def _say_command(arg: str, ctx: Context) -> Result:
    return _say(arg, ctx)


COMMANDS: tuple[Command, ...] = (
    Command("join", "/join ROOM", "join a room (and create it)", _join, ("j",)),
    Command("leave", "/leave [ROOM]", "leave this room or ROOM", _leave, ("part",)),
    Command("switch", "/switch ROOM|NICK|N", "go to a window", _switch, ("window", "w")),
    Command("msg", "/msg NICK [TEXT]", "private message; opens a window", _msg, ("query",)),
    Command("me", "/me ACTION", "say an action: * you waves", _me),
    Command("nick", "/nick NEWNICK", "change your nick", _nick),
    Command("topic", "/topic [TEXT|-delete]", "show, set or clear the topic", _topic),
    Command("list", "/list", "list the rooms on the server", _list),
    Command("who", "/who [ROOM]", "list the members of a room", _who, ("names",)),
    Command("bell", "/bell [on|off|mentions]", "when to ring the terminal bell", _bell),
    Command("close", "/close", "close this private window", _close),
    Command("clear", "/clear", "clear this window's scrollback", _clear),
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
    """Every command name and alias, sorted, for completion."""
    return sorted(_BY_NAME)


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
