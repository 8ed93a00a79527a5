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

from pathlib import Path
from typing import TYPE_CHECKING

from protocol import HistoryRequest, Join, Say, Whisper, fold

from . import commands
from .commands import BELL_MODES, Context, Local, Problem
from .help import help_lines
from .transfers import TransferError

if TYPE_CHECKING:
    from .state import ChatState

__all__ = ["HISTORY_PAGE", "context", "join", "load_older", "submit"]

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
    if not state.send(message):
        state.error("not connected: nothing was sent")
    return None


def join(state: ChatState, room: str, *, switch: bool = True) -> bool:
    """Ask to join ``room``; its window opens when the server says ``joined``.

    With ``switch`` that window becomes current.  Returns whether the request
    went out (``False`` while offline).
    """
    if switch:
        state.switch_on_join.add(fold(room))
    return state.send(Join(room=room))


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
    elif action == "send_file":
        _send_file(state, arg)
    elif action == "get_file":
        _get_file(state, arg)
    return None


def _send_file(state: ChatState, path: str) -> None:
    """``/send PATH``: share a file in the current room or private window, in the background.

    The room's ``message`` (or the ``whisper``'s echo) says it arrived; only a
    failure is reported here, in the window it was typed in.
    """
    transfers, window = state.transfers, state.window
    if transfers is None:
        state.error("this client cannot send files")
        return
    where = {"room": window.name} if window.kind == "room" else {"to": window.name}
    source = Path(path)

    async def send() -> None:
        try:
            await transfers.upload(source, **where)
        except TransferError as exc:
            state.error(f"/send {path}: {exc}", window if window in state.windows else None)

    state.spawn(send())


def _get_file(state: ChatState, arg: str) -> None:
    """``/get ID [DEST]``: fetch a shared file in the background."""
    transfers, window = state.transfers, state.window
    if transfers is None:
        state.error("this client cannot fetch files")
        return
    file_id, _, dest = arg.partition(" ")
    destination = Path(dest.strip()) if dest.strip() else None

    async def get() -> None:
        shown = window if window in state.windows else None
        try:
            saved = await transfers.download(file_id, destination)
        except TransferError as exc:
            state.error(f"/get {file_id}: {exc}", shown)
        else:
            state.info(f"saved {saved.name} in {saved.parent}", shown)

    state.spawn(get())


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
