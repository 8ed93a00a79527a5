"""What ``/help`` shows: the commands of :data:`chat_client.commands.COMMANDS`
and the keys of the interactive client.

:data:`KEYS` is the one list of key bindings people are told about (the
README's table says the same); :func:`help_lines` turns the two tables into
the lines ``/help`` and ``/help COMMAND`` show.  Pure: it returns text and
the caller shows it.
"""

from __future__ import annotations

from . import commands

__all__ = ["KEYS", "help_lines"]

#: Keys of the interactive client, for /help and the README.
KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "send the line"),
    ("Alt-Enter", "new line in the message"),
    ("Up / Down", "input history"),
    ("Tab / Shift-Tab", "complete a command, nick or room"),
    ("Ctrl-N / Ctrl-P", "next / previous window"),
    ("Alt-1 .. Alt-9, Alt-0", "window 1 .. 10"),
    ("PageUp / PageDown", "scroll; PageUp at the top loads older history"),
    ("End, Ctrl-End", "back to the newest line"),
    ("Ctrl-R", "search back in this window (again: older; Enter: stay; Esc: back)"),
    ("Ctrl-C", "clear the input line"),
    ("Ctrl-D", "quit, on an empty line"),
)

#: The width of the first column of ``/help``.
COLUMN = 26


def help_lines(name: str = "") -> list[str]:
    """The lines of ``/help``: every command and key, or only the command ``name``.

    ``name`` is a command name or alias without the slash; an unknown one
    gets a single line saying so.
    """
    if name:
        command = commands.find(name)
        if command is None:
            return [f"no such command: /{name}"]
        aliases = ", ".join(f"/{alias}" for alias in command.aliases)
        also = f" (also {aliases})" if aliases else ""
        return [f"{command.usage}: {command.summary}{also}"]
    return [f"{command.usage:<{COLUMN}} {command.summary}" for command in commands.COMMANDS] + [
        f"{keys:<{COLUMN}} {what}" for keys, what in KEYS
    ]
