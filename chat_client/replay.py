"""Room messages, each shown once and in ``seq`` order.

A room's messages reach the client four ways: live (``message``), in
``joined.history`` when it (re-)joins, as ``history`` filling a gap after a
reconnect, and as ``history`` pages fetched by PageUp.  Within one server
``epoch`` a ``seq`` names one message, so a window shows each seq once: after
a reconnect the rooms are re-joined and only what had not been seen is
shown; a gap that ``joined.history`` does not cover is fetched with
``history`` while newer messages wait in the window's ``catchup``.

A new epoch means the seqs start again: the next ``joined`` is shown under
``-- history after server restart --`` as history (no unread count, no bell,
not logged), leaving out the messages the window already shows (same nick,
time and text), so nothing appears twice even then.

Lines are made by :mod:`chat_client.view`, which sanitises network text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocol import History, HistoryRequest, Joined, Message, RoomModes, fold

from .moderation import describe_modes
from .view import Line, message_key, message_line, rule_line, set_by
from .windows import Window

if TYPE_CHECKING:
    from .state import ChatState

__all__ = ["RESTART_RULE", "START_RULE", "history", "joined", "message"]

RESTART_RULE = "-- history after server restart --"
START_RULE = "-- start of the history kept by the server --"


def message(state: ChatState, message: Message) -> None:
    """A live ``message``: shown now, or held while a gap before it is fetched."""
    window = state.find(message.room, "room")
    if window is None:
        return
    if window.catchup is not None:
        window.catchup.append(message)
        return
    _show(state, window, message, live=True)


def _show(state: ChatState, window: Window, message: Message, *, live: bool) -> None:
    mine = fold(message.from_) == fold(state.nick)
    if message.id is not None and mine:
        state.typed_in.pop(message.id, None)
    if window.last_seq is not None and message.seq <= window.last_seq:
        return
    if not mine and fold(message.from_) in state.ignored:
        window.skip(message.seq)  # seen, so no gap is fetched for it, but not shown
        return
    line = message_line(message, state.nick, now=state.now, log=live)
    window.add_message(line)
    window.spoke(message.from_)
    if live:
        state.noticed(window, line, from_me=mine)
        state.urls.note(line.fragments[-1][1], ts=message.ts, where=window.name, nick=message.from_)


def joined(state: ChatState, joined: Joined) -> None:
    """``joined``: the room's window opens (or is re-joined) and shows what it had not."""
    window = state.open_window("room", joined.room)
    window.name = joined.room
    window.joined = True
    window.members = {fold(nick): nick for nick in joined.members}
    window.ops = {fold(nick) for nick in joined.ops}
    window.voiced = {fold(nick) for nick in joined.voiced}
    window.modes = joined.modes
    if joined.topic != window.topic or joined.topic_by is not None:
        window.topic_by, window.topic_ts = joined.topic_by, joined.topic_ts
    window.topic = joined.topic
    history_ = sorted(joined.history, key=lambda m: m.seq)
    if window.restarted:
        _replay_after_restart(state, window, history_)
        return
    if window.total == 0:  # a new window
        state.info(f"you joined {joined.room}", window)
        if joined.topic:
            state.info(f"topic: {joined.topic}{set_by(window, state.now())}", window)
        for m in history_:
            _show(state, window, m, live=False)
        state.info(f"members: {' '.join(map(window.marked, joined.members))}", window)
        if joined.modes != RoomModes():
            state.info(f"modes: {describe_modes(joined.modes)}", window)
        return
    last = window.last_seq if window.last_seq is not None else 0
    missed = [m for m in history_ if m.seq > last]
    if missed and missed[0].seq > last + 1 and window.last_seq is not None:
        window.catchup = missed
        _ask_gap(state, window, before=missed[0].seq)
        return
    for m in missed:
        _show(state, window, m, live=True)


def _replay_after_restart(state: ChatState, window: Window, messages: list[Message]) -> None:
    window.restarted = False
    if not messages:
        return
    shown = {line.key for line in window.lines if line.key is not None}
    window.add(rule_line(RESTART_RULE, ts=state.now(), log=False))
    for m in messages:
        if message_key(m) not in shown:
            _show(state, window, m, live=False)
    window.first_seq, window.last_seq = messages[0].seq, messages[-1].seq


def _ask_gap(state: ChatState, window: Window, before: int) -> None:
    assert window.last_seq is not None
    limit = max(1, min(100, before - window.last_seq - 1))
    state.send(HistoryRequest(room=window.name, before=before, limit=limit))


def history(state: ChatState, history: History) -> None:
    """``history``: fills a reconnect's gap, or is the older page PageUp asked for."""
    window = state.find(history.room, "room")
    if window is None:
        return
    messages = sorted(history.messages, key=lambda m: m.seq)
    if window.catchup is not None and window.last_seq is not None:
        last = window.last_seq
        window.catchup = [m for m in messages if m.seq > last] + window.catchup
        oldest = window.catchup[0].seq if window.catchup else last + 1
        if messages and messages[0].seq > last + 1 and oldest > last + 1:
            _ask_gap(state, window, before=oldest)
            return
        held, window.catchup = window.catchup, None
        if held and held[0].seq > last + 1:
            state.info("some missed messages are no longer kept by the server", window)
        for m in sorted(held, key=lambda m: m.seq):
            _show(state, window, m, live=True)
        return
    if window.older != "loading":
        return
    first = window.first_seq
    if first is None and window.last_seq is not None:
        first = window.last_seq + 1  # after /clear: everything up to the newest seen
    older = [m for m in messages if first is None or m.seq < first]
    lines: list[Line] = [
        message_line(m, state.nick, now=state.now, log=False)
        for m in older
        if fold(m.from_) not in state.ignored
    ]
    window.older = "idle"
    if not older or older[0].seq <= 1:
        window.older = "done"
        lines.insert(0, rule_line(START_RULE, ts=older[0].ts if older else state.now(), log=False))
    window.prepend(lines)
