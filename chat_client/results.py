"""What a typed line means: the results of :func:`chat_client.commands.parse`.

A line is sent to the server (:class:`Send`), done in the client
(:class:`Local`), or refused with a reason (:class:`Problem`).  Each command
of the table is a :class:`Command`, whose handler turns the rest of the line
and the :class:`Context` it was typed in into one of those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from protocol import DEFAULT_MAX_TEXT, ClientMessage

__all__ = [
    "BellMode",
    "Command",
    "Context",
    "Handler",
    "Local",
    "LocalAction",
    "Problem",
    "Result",
    "Send",
]

BellMode = Literal["on", "off", "mentions"]
LocalAction = Literal[
    "switch", "query", "close", "bell", "help", "quit", "clear", "show_topic", "reconnect",
    "window_list", "lastlog", "url", "ignore", "unignore",
]  # fmt: skip


@dataclass(frozen=True)
class Context:
    """Where the line was typed: a room window, a private window, or neither."""

    room: str | None = None
    query: str | None = None
    #: The server's longest text, from ``welcome`` (the protocol's default until then).
    max_text: int = DEFAULT_MAX_TEXT
    #: The rooms joined, folded (``/leave WORD`` is a room if it names one of them).
    joined: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Send:
    """Send ``message``, then each of ``rest``, to the server (assign ``id`` s first)."""

    message: ClientMessage
    #: More messages for the same line: the later parts of a long text.
    rest: tuple[ClientMessage, ...] = ()

    @property
    def messages(self) -> tuple[ClientMessage, ...]:
        """Every message to send, in order."""
        return (self.message, *self.rest)


@dataclass(frozen=True)
class Local:
    """Do ``action`` in the client; ``arg`` is its (already checked) argument."""

    action: LocalAction
    arg: str = ""


@dataclass(frozen=True)
class Problem:
    """Nothing is sent; show ``text`` to the user."""

    text: str


Result = Send | Local | Problem
Handler = Callable[[str, Context], Result]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    handler: Handler
    aliases: tuple[str, ...] = ()
