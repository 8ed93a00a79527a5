"""How what the server says changes what the client knows.

:func:`handle` applies one event of :mod:`chat_client.events` (connected,
disconnected, retrying...) and :func:`apply` one server message to a
:class:`~chat_client.state.ChatState`: it opens and closes windows, adds
lines, tracks members and topics, counts unread lines and rings the bell.
It sends only what keeping the windows whole needs (re-joins after a
reconnect, ``history`` for a gap); it never raises for a message a hostile
server may send, and never draws: the caller repaints afterwards.  Network
text goes into lines only through the line-building functions of
:mod:`chat_client.view`, which sanitise it.

Room messages are shown once, by ``seq``: after a reconnect the rooms are
re-joined and only what had not been seen is shown; a gap that
``joined.history`` does not cover is fetched with ``history`` while newer
messages wait in the window's ``catchup``, so the scrollback stays in order.
A new ``epoch`` forgets the seqs seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocol import (
    DEFAULT_MAX_TEXT,
    Bye,
    Error,
    History,
    HistoryRequest,
    Join,
    Joined,
    Left,
    Members,
    Message,
    NickChanged,
    Presence,
    RoomList,
    RoomModes,
    ServerMessage,
    Topic,
    Welcome,
    WhisperMessage,
    fold,
)

from . import moderation
from .events import Connected, Disconnected, Event, GaveUp, Incoming, Retrying
from .view import Line, message_line, whisper_line
from .windows import Window

if TYPE_CHECKING:
    from .state import ChatState

__all__ = ["apply", "handle", "welcomed"]


def handle(state: ChatState, event: Event) -> None:
    """Apply one event from :class:`chat_client.reconnect.Connection`."""
    match event:
        case Incoming(message=message):
            apply(state, message)
        case Connected(welcome=welcome, again=again):
            welcomed(state, welcome, again=again)
        case Disconnected(reason=reason):
            state.connection = "disconnected"
            state.pacer.clear()
            for window in state.windows:
                state.error(f"disconnected: {reason}", window)
                window.joined = False
                window.catchup = None
                if window.older == "loading":
                    window.older = "idle"
        case Retrying(delay=delay, attempt=attempt, error=error):
            state.connection = f"reconnecting in {delay:.0f}s (try {attempt})"
            if error:
                state.info(f"reconnect failed: {error}", state.status)
        case GaveUp(reason=reason):
            state.connection = "offline"
            for window in state.windows:
                state.error(f"{reason}; not reconnecting (/quit)", window)


def welcomed(state: ChatState, welcome: Welcome, *, again: bool) -> None:
    """Note the welcome; after a reconnect (``again``), re-join every room."""
    state.connection = "connected"
    state.server_name = welcome.server
    state.max_text = welcome.max_text or DEFAULT_MAX_TEXT
    state.pacer.limits(welcome.rate, welcome.burst)
    state.away = None  # a new connection is not away
    if state.nick != welcome.nick:
        state.info(f"you are now {welcome.nick}", state.status)
    state.nick = welcome.nick
    for room in welcome.rooms:
        state.rooms[fold(room)] = room
    if state.epoch is not None and welcome.epoch != state.epoch:
        for window in state.windows:
            window.first_seq = window.last_seq = None
            window.older = "idle"
            if window.kind == "room":
                state.info("the server's history was reset", window)
    state.epoch = welcome.epoch
    if not again:
        state.info(f"connected to {state.server} ({welcome.server})", state.status)
        if welcome.motd:
            for text in welcome.motd.splitlines():
                state.info(text, state.status, style="class:motd")
        if welcome.rooms:
            rooms = " ".join(welcome.rooms) + (" ..." if welcome.truncated else "")
            state.info(f"rooms here: {rooms} (/join ROOM)", state.status)
        else:
            state.info("no rooms yet: /join ROOM creates one", state.status)
        return
    for window in state.windows:
        state.info("reconnected", window)
    for room in state.wanted.values():  # paced: more rooms than burst are not refused
        state.pacer.send(Join(room=room))


def apply(state: ChatState, message: ServerMessage) -> None:
    """Apply one server message to the windows."""
    match message:
        case Message():
            _message(state, message)
        case Joined():
            _joined(state, message)
        case WhisperMessage():
            _whisper(state, message)
        case Presence():
            _presence(state, message)
        case History():
            _history(state, message)
        case Left():
            _left(state, message)
        case NickChanged():
            _nick_changed(state, message)
        case Topic():
            _topic(state, message)
        case RoomList():
            _room_list(state, message)
        case Members():
            _members(state, message)
        case Error():
            _error(state, message)
        case Bye(reason=reason):
            state.error(f"the server said bye: {reason}", state.status)
        case _:
            moderation.apply(state, message)


def _notice(state: ChatState, window: Window, line: Line, *, from_me: bool) -> None:
    """Count unread lines and ring the bell for a new message in ``window``."""
    if from_me:
        return
    state.windows.count_unseen(window, mention=line.mention)
    if state.bell == "on" or (state.bell == "mentions" and line.mention):
        state.ring()


def _message(state: ChatState, message: Message) -> None:
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
    line = message_line(message, state.nick)
    window.add_message(line)
    window.spoke(message.from_)
    if live:
        _notice(state, window, line, from_me=mine)


def _joined(state: ChatState, joined: Joined) -> None:
    key = fold(joined.room)
    window = state.open_window("room", joined.room)
    window.name = joined.room
    window.joined = True
    window.members = {fold(nick): nick for nick in joined.members}
    window.topic = joined.topic
    window.ops = {fold(nick) for nick in joined.ops}
    window.voiced = {fold(nick) for nick in joined.voiced}
    window.modes = joined.modes
    state.wanted[key] = joined.room
    state.rooms[key] = joined.room
    if key in state.switch_on_join:
        state.switch_on_join.discard(key)
        state.switch_to(window)
    history = sorted(joined.history, key=lambda m: m.seq)
    if window.last_seq is None:
        state.info(f"you joined {joined.room}", window)
        if joined.topic:
            by = f" (set by {joined.topic_by})" if joined.topic_by else ""
            state.info(f"topic: {joined.topic}{by}", window)
        for message in history:
            _show(state, window, message, live=False)
        state.info(f"members: {' '.join(map(window.marked, joined.members))}", window)
        if joined.modes != RoomModes():
            state.info(f"modes: {moderation.describe_modes(joined.modes)}", window)
        return
    last = window.last_seq
    missed = [m for m in history if m.seq > last]
    if missed and missed[0].seq > last + 1:
        window.catchup = missed
        _ask_gap(state, window, before=missed[0].seq)
        return
    for message in missed:
        _show(state, window, message, live=True)


def _ask_gap(state: ChatState, window: Window, before: int) -> None:
    assert window.last_seq is not None
    limit = max(1, min(100, before - window.last_seq - 1))
    state.send(HistoryRequest(room=window.name, before=before, limit=limit))


def _history(state: ChatState, history: History) -> None:
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
        for message in sorted(held, key=lambda m: m.seq):
            _show(state, window, message, live=True)
        return
    if window.older != "loading":
        return
    first = window.first_seq
    older = [m for m in messages if first is None or m.seq < first]
    window.older = "idle" if older else "done"
    if not older:
        state.info("(start of the history kept by the server)", window)
        return
    shown = [m for m in older if fold(m.from_) not in state.ignored]
    window.prepend([message_line(m, state.nick) for m in shown])


def _left(state: ChatState, left: Left) -> None:
    window = state.find(left.room, "room")
    state.wanted.pop(fold(left.room), None)
    if window is not None:
        state.close(window)
    state.info(f"you left {left.room}", state.status)


def _whisper(state: ChatState, message: WhisperMessage) -> None:
    mine = fold(message.from_) == fold(state.nick)
    if mine and message.id is not None:
        state.typed_in.pop(message.id, None)
    if not mine and fold(message.from_) in state.ignored:
        return
    other = message.to if mine else message.from_
    window = state.open_window("query", other)
    line = whisper_line(message, state.nick)
    window.add(line)
    _notice(state, window, line, from_me=mine)


def _presence(state: ChatState, presence: Presence) -> None:
    window = state.find(presence.room, "room")
    if window is None:
        return
    key = fold(presence.nick)
    if presence.event == "join":
        window.members[key] = presence.nick
        state.info(f"{presence.nick} has joined {presence.room}", window, "class:join")
        return
    window.members.pop(key, None)
    window.ops.discard(key)
    window.voiced.discard(key)
    why = f" ({presence.reason})" if presence.reason else ""
    verb = "left" if presence.event == "leave" else "quit"
    state.info(f"{presence.nick} has {verb}{why}", window, "class:part")


def _nick_changed(state: ChatState, change: NickChanged) -> None:
    old, new = fold(change.old), fold(change.new)
    if old == fold(state.nick):
        state.nick = change.new
        state.nick_changed(change.new)
        state.info(f"you are now known as {change.new}", state.status)
    for window in state.windows:
        if window.kind == "room" and old in window.members:
            del window.members[old]
            window.members[new] = change.new
            for ranks in (window.ops, window.voiced):
                if old in ranks:
                    ranks.discard(old)
                    ranks.add(new)
            window.speakers = [new if key == old else key for key in window.speakers]
            state.info(f"{change.old} is now known as {change.new}", window)
        elif window.kind == "query" and window.key == old:
            window.name = change.new
            state.info(f"{change.old} is now known as {change.new}", window)


def _topic(state: ChatState, topic: Topic) -> None:
    window = state.find(topic.room, "room")
    if window is None:
        return
    window.topic = topic.topic
    if topic.topic:
        state.info(f"{topic.by} changed the topic to: {topic.topic}", window)
    else:
        state.info(f"{topic.by} cleared the topic", window)


def _room_list(state: ChatState, listing: RoomList) -> None:
    state.info(f"{len(listing.rooms)} room(s) on the server:")
    for room in listing.rooms:
        state.rooms[fold(room.name)] = room.name
        topic = f"  {room.topic}" if room.topic else ""
        state.info(f"  {room.name} ({room.members}){topic}")
    if listing.truncated:
        state.info("  (list cut short by the server)")


def _members(state: ChatState, members: Members) -> None:
    window = state.find(members.room, "room")
    if window is not None and window.joined:
        window.members = {fold(nick): nick for nick in members.members}
        if not members.truncated:
            window.ops = {fold(nick) for nick in members.ops}
            window.voiced = {fold(nick) for nick in members.voiced}
    ops, voiced = {fold(n) for n in members.ops}, {fold(n) for n in members.voiced}
    away = {fold(n) for n in members.away}

    def marked(nick: str) -> str:
        key = fold(nick)
        mark = "@" if key in ops else "+" if key in voiced else ""
        return mark + nick + (" (away)" if key in away else "")

    more = " ..." if members.truncated else ""
    names = " ".join(map(marked, members.members))
    state.info(f"{members.room} ({len(members.members)}): {names}{more}")


def _error(state: ChatState, error: Error) -> None:
    if error.code == "rate_limited" and state.pacer.refused(error.id):
        return  # a paced join or leave: it is sent again once a token is back
    if error.ref == "history":
        for window in state.windows:
            if window.older == "loading":
                window.older = "idle"
    typed_in = state.typed_in.pop(error.id, None) if error.id else None
    if typed_in is not None and typed_in not in state.windows:
        typed_in = None
    state.error(f"{error.message} ({error.code})", typed_in)
