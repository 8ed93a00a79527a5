"""What the user's typed lines and keys do to the client.

:func:`submit` carries out one line typed in the current window: it asks the
pure parser :func:`chat_client.commands.parse` what the line means, then
sends the messages (with a fresh ``id`` for each ``say`` and ``whisper``,
noting the window it was typed in so that an error lands there) or does the
local action (switch windows, ``/bell``, ``/help``, ``/lastlog``...).
While offline, what would be sent waits in the outbox
(:mod:`chat_client.outbox`) and goes after the reconnect.  :func:`join`,
:func:`load_older` and :func:`reclaim_nick` are the same kind of request,
made by ``--room``, by PageUp, and by the client itself to take the user's
nick back.

Problems are shown in the current window, never raised.  When :func:`submit`
returns a reason the user asked to quit, and the caller must do so.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from protocol import ClientMessage, HistoryRequest, Join, Leave, SetNick, Whisper, fold

from . import commands
from .commands import BELL_MODES, Context, Local, Problem
from .help import help_lines
from .ignore import toggle_ignored
from .sanitize import sanitize
from .view import Line, clock_text, set_by

if TYPE_CHECKING:
    from .state import ChatState

__all__ = ["HISTORY_PAGE", "context", "join", "load_older", "reclaim_nick", "submit"]

logger = logging.getLogger(__name__)

#: Messages asked for by one PageUp at the top of a room.
HISTORY_PAGE = 50
#: Say/whisper ids remembered for routing their errors, at most.
TYPED_IN_LIMIT = 1000
#: Lines ``/lastlog`` lists, at most (the newest).
LASTLOG_LIMIT = 200


def context(state: ChatState) -> Context:
    """Where a line typed now goes: the current room, private window, or neither."""
    window = state.window
    joined = frozenset(state.wanted)
    if window.kind == "room":
        return Context(room=window.name, max_text=state.max_text, joined=joined)
    if window.kind == "query":
        return Context(query=window.name, max_text=state.max_text, joined=joined)
    return Context(max_text=state.max_text, joined=joined)


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
    origin = state.window
    opened = False
    if isinstance(result.message, Whisper):
        opened = state.find(result.message.to, "query") is None
        state.switch_to(state.open_window("query", result.message.to))
    messages = [_with_id(state, message) for message in result.messages]
    if opened and messages[0].id is not None:
        state.tentative[messages[0].id] = (state.window, origin)
    for message in messages:
        if isinstance(message, Join):
            state.switch_on_join.add(fold(message.room))
            joined = state.find(message.room, "room")
            if joined is not None and joined.joined:
                state.switch_to(joined)
    if state.link == "connected" and not state.outbox:
        sent = [message for message in messages if _send(state, message)]
        if len(sent) == len(messages):
            return None
        messages = messages[len(sent) :]
    _queue(state, line, messages)
    return None


def _send(state: ChatState, message: ClientMessage) -> bool:
    """Send ``message``; a join or leave at the server's pace (:mod:`chat_client.pacing`)."""
    return state.pacer.send(message) if isinstance(message, Join | Leave) else state.send(message)


def _with_id(state: ChatState, message: ClientMessage) -> ClientMessage:
    """``say`` and ``whisper`` get an ``id``, and their window is noted for errors."""
    if getattr(message, "text", None) is None or not hasattr(message, "id"):
        return message
    message = message.model_copy(update={"id": state.next_id()})
    assert message.id is not None
    state.typed_in[message.id] = state.window
    while len(state.typed_in) > TYPED_IN_LIMIT:
        del state.typed_in[next(iter(state.typed_in))]
    return message


def _queue(state: ChatState, typed: str, messages: list[ClientMessage]) -> None:
    """Keep ``messages`` for after the reconnect, shown dim in the current window."""
    if not state.outbox.room(len(messages)):
        state.error(f"not connected, and {len(state.outbox)} lines are waiting already: not kept")
        return
    ts = state.now()
    line = Line(
        [("class:time", clock_text(ts, ts)), ("class:queued", "(queued) " + sanitize(typed))],
        indent=6,
        ts=ts,
        log=False,
    )
    state.window.add(line)
    state.outbox.put(messages, state.window, line)


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
    server has no older messages, or when the scrollback is full.  After
    ``/clear`` it fetches the newest messages seen again.
    """
    window = state.window
    if window.kind != "room" or window.older != "idle" or not window.joined:
        return
    if len(window.lines) >= window.cap:
        return
    before = window.first_seq
    if before is None and window.last_seq is not None:
        before = window.last_seq + 1
    window.older = "loading"
    if not state.send(HistoryRequest(room=window.name, before=before, limit=HISTORY_PAGE)):
        window.older = "idle"


def reclaim_nick(state: ChatState) -> None:
    """Ask for the nick the user chose, if the server gave us another one.

    One request at a time; a ``nick_taken`` answer to it is not shown (the
    reducer drops it), and the next try comes from the caller's timer or when
    the nick's holder is seen leaving.
    """
    if state.link != "connected" or state.reclaiming:
        return
    if fold(state.nick) == fold(state.wanted_nick):
        return
    request = SetNick(nick=state.wanted_nick, id=state.next_id())
    assert request.id is not None
    if state.send(request):
        state.reclaiming.add(request.id)


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
        state.note(f"bell: {state.bell} (on, off or mentions)")
    elif action == "clear":
        state.window.clear()
    elif action == "show_topic":
        _show_topic(state)
    elif action == "help":
        for text in help_lines(arg):
            state.note(text)
    elif action == "window_list":
        _window_list(state)
    elif action == "lastlog":
        _lastlog(state, arg)
    elif action == "url":
        _urls(state, int(arg))
    elif action in ("ignore", "unignore"):
        toggle_ignored(state, arg, on=action == "ignore")
    return None


def _show_topic(state: ChatState) -> None:
    window = state.window
    if window.topic:
        state.note(f"topic: {window.topic}{set_by(window, state.now())}")
    else:
        state.note("no topic is set")


def _window_list(state: ChatState) -> None:
    for number, window in enumerate(state.windows, 1):
        kind = {"status": "", "room": " (room)", "query": " (private)"}[window.kind]
        unread = f", {window.unread} unread" if window.unread else ""
        here = "  <- here" if window is state.window else ""
        state.note(f"{number}: {window.name}{kind}{unread}{here}")


def _lastlog(state: ChatState, text: str) -> None:
    """List the lines of this window that hold ``text`` (any case), oldest first."""
    needle = text.casefold()
    found = [
        line
        for line in state.window.lines
        if (line.log or line.seq is not None) and needle in line.text.casefold()
    ]
    shown = found[-LASTLOG_LIMIT:]
    more = " (the newest shown)" if len(found) > len(shown) else ""
    state.note(f"lastlog {text!r}: {len(found)} line(s){more}")
    now = state.now()
    for line in shown:
        when = clock_text(line.ts, now)
        for plain in line.plain():
            state.note(f"{when}{plain}")


def _urls(state: ChatState, count: int) -> None:
    seen = state.urls.latest(count)
    if not seen:
        state.note("no web addresses seen yet")
        return
    now = state.now()
    for number, url in enumerate(seen, len(state.urls) - len(seen) + 1):
        state.note(f"{number}. {clock_text(url.ts, now)}{url.where} <{url.nick}> {url.url}")


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
