"""What the user's typed lines and keys do to the client.

:func:`submit` carries out one line typed in the current window: it asks the
pure parser :func:`chat_client.commands.parse` what the line means, then
sends the message (with a fresh ``id`` for ``say`` and ``whisper``, noting
the window it was typed in so that an error lands there) or does the local
action (switch windows, ``/bell``, ``/help``, ``/clear``...).  :func:`join`
and :func:`load_older` are the same kind of request, made by ``--room`` and
by PageUp.

Problems are shown in the current window, never raised.  When :func:`submit`
returns a reason the user asked to quit, and the caller must do so.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from protocol import HistoryRequest, Join, Leave, Say, Whisper, fold

from . import commands
from .commands import BELL_MODES, Context, Local, Problem
from .help import help_lines
from .ignore import write_ignored

if TYPE_CHECKING:
    from .state import ChatState

__all__ = ["HISTORY_PAGE", "context", "join", "load_older", "submit"]

logger = logging.getLogger(__name__)

#: Messages asked for by one PageUp at the top of a room.
HISTORY_PAGE = 50
#: Say/whisper ids remembered for routing their errors, at most.
TYPED_IN_LIMIT = 1000


def context(state: ChatState) -> Context:
    """Where a line typed now goes: the current room, private window, or neither."""
    window = state.window
    if window.kind == "room":
        return Context(room=window.name, max_text=state.max_text)
    if window.kind == "query":
        return Context(query=window.name, max_text=state.max_text)
    return Context(max_text=state.max_text)


def submit(state: ChatState, line: str) -> str | None:
    """Carry out one typed line; returns the reason when the user quits."""
    result = commands.parse(line, context(state))
    if result is None:
        return None
    if isinstance(result, Problem):
        state.error(result.text)
        return None
    if isinstance(result, Local):
        return _local(state, result)
    message = result.message
    if isinstance(message, Say | Whisper):
        message = message.model_copy(update={"id": state.next_id()})
    if isinstance(message, Whisper):
        state.switch_to(state.open_window("query", message.to))
    if isinstance(message, Say | Whisper) and message.id is not None:
        state.typed_in[message.id] = state.window
        while len(state.typed_in) > TYPED_IN_LIMIT:
            del state.typed_in[next(iter(state.typed_in))]
    if isinstance(message, Join):
        state.switch_on_join.add(fold(message.room))
        joined = state.find(message.room, "room")
        if joined is not None and joined.joined:
            state.switch_to(joined)
    sent = state.pacer.send(message) if isinstance(message, Join | Leave) else state.send(message)
    if not sent:
        state.error("not connected: nothing was sent")
    return None


def join(state: ChatState, room: str, *, switch: bool = True) -> bool:
    """Ask to join ``room``; its window opens when the server says ``joined``.

    With ``switch`` that window becomes current.  Returns whether the request
    went out (``False`` while offline).
    """
    if switch:
        state.switch_on_join.add(fold(room))
    return state.pacer.send(Join(room=room))


def load_older(state: ChatState) -> None:
    """PageUp at the top of a room's scrollback: fetch the page before it.

    Does nothing outside a joined room, while a page is on its way, once the
    server has no older messages, or when the scrollback is full.
    """
    window = state.window
    if window.kind != "room" or window.older != "idle" or not window.joined:
        return
    if len(window.lines) >= window.cap:
        return
    window.older = "loading"
    if not state.send(
        HistoryRequest(room=window.name, before=window.first_seq, limit=HISTORY_PAGE)
    ):
        window.older = "idle"


def _local(state: ChatState, result: Local) -> str | None:
    action, arg = result.action, result.arg
    if action == "quit":
        return arg
    if action == "reconnect":
        state.info("reconnecting", state.status)
        state.reconnect()
    if action == "switch":
        _switch(state, arg)
    elif action == "query":
        state.switch_to(state.open_window("query", arg))
    elif action == "close":
        if state.window.kind == "query":
            state.close(state.window)
        else:
            state.error("/close closes private windows; /leave leaves a room")
    elif action == "bell":
        if arg:
            state.bell = next(mode for mode in BELL_MODES if mode == arg)
        state.info(f"bell: {state.bell} (on, off or mentions)")
    elif action == "clear":
        state.window.lines.clear()
        state.window.scroll = 0
    elif action == "show_topic":
        topic = state.window.topic
        state.info(f"topic: {topic}" if topic else "no topic is set")
    elif action == "help":
        for text in help_lines(arg):
            state.info(text)
    elif action in ("ignore", "unignore"):
        _ignore(state, arg, on=action == "ignore")
    return None


def _ignore(state: ChatState, nick: str, *, on: bool) -> None:
    """``/ignore NICK``, ``/unignore NICK``, or ``/ignore`` alone to list; kept in the file."""
    if not nick:
        listed = " ".join(sorted(state.ignored)) or "nobody"
        state.info(f"ignoring: {listed}")
        return
    key = fold(nick)
    if on:
        state.ignored.add(key)
        state.info(f"ignoring {nick}: their messages, whispers and files are hidden")
    elif key in state.ignored:
        state.ignored.discard(key)
        state.info(f"no longer ignoring {nick}")
    else:
        state.info(f"{nick} was not ignored")
        return
    if state.ignore_file is not None:
        try:
            write_ignored(state.ignored, state.ignore_file)
        except OSError as exc:
            logger.warning("cannot keep the ignore list in %s: %s", state.ignore_file, exc)
            state.error(f"cannot keep the ignore list in {state.ignore_file}: {exc}")


def _switch(state: ChatState, target: str) -> None:
    if target.isdigit():
        if not state.switch(int(target) - 1):
            state.error(f"no window {target}")
        return
    window = state.find(target)
    if window is None:
        state.error(f"no window for {target}")
    else:
        state.switch_to(window)
