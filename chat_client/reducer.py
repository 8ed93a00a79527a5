"""How what the server says changes what the client knows.

:func:`handle` applies one event of :mod:`chat_client.events` (connected,
disconnected, retrying...) and :func:`apply` one server message to a
:class:`~chat_client.state.ChatState`: it opens and closes windows, adds
lines, tracks members and topics, counts unread lines and rings the bell.
It sends only what keeping the windows whole needs (re-joins after a
reconnect, ``history`` for a gap, the lines typed while offline, the nick
taken back when it frees up); it never raises for a message a hostile server
may send, and never draws: the caller repaints afterwards.  Network text goes
into lines only through the line-building functions of
:mod:`chat_client.view`, which sanitise it.

Room messages (live, ``joined``, ``history``) are :mod:`chat_client.replay`'s
business: each is shown once, in ``seq`` order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocol import (
    DEFAULT_MAX_TEXT,
    AwayChanged,
    Bye,
    Error,
    History,
    Join,
    Joined,
    Left,
    Members,
    Message,
    NickChanged,
    Presence,
    RoomList,
    ServerMessage,
    Topic,
    Welcome,
    WhisperMessage,
    fold,
)

from . import moderation, outbox, replay
from .events import Connected, Disconnected, Event, GaveUp, Incoming, Retrying
from .view import whisper_line

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
            state.link = "disconnected"
            for window in state.windows:
                state.error(f"disconnected: {reason}", window)
                window.joined = False
                window.catchup = None
                if window.older == "loading":
                    window.older = "idle"
            state.reclaiming.clear()
            state.pacer.clear()
        case Retrying(delay=delay, attempt=attempt, error=error):
            state.link = "waiting"
            state.retry_at = state.clock() + delay
            state.attempt = attempt
            if error:
                state.info(f"reconnect failed: {error}", state.status)
        case GaveUp(reason=reason):
            state.link = "offline"
            for window in state.windows:
                state.error(f"{reason}; not reconnecting (/quit)", window)


def welcomed(
    state: ChatState, welcome: Welcome, *, again: bool, joining: tuple[str, ...] = ()
) -> None:
    """Note the welcome; after a reconnect (``again``), re-join every room.

    ``joining`` names the rooms about to be joined (``--room``), for the first
    words of the status window.
    """
    state.link = "connected"
    state.server_name = welcome.server
    state.max_text = welcome.max_text or DEFAULT_MAX_TEXT
    state.pacer.limits(welcome.rate, welcome.burst)
    state.nick = welcome.nick
    if not again:
        state.wanted_nick = welcome.nick
    for room in welcome.rooms:
        state.rooms[fold(room)] = room
    if state.epoch is not None and welcome.epoch != state.epoch:
        for window in state.windows:
            window.first_seq = window.last_seq = None
            window.older = "idle"
            window.restarted = window.kind == "room"
    state.epoch = welcome.epoch
    if not again:
        _greeting(state, welcome, joining)
        return
    for window in state.windows:
        state.info("reconnected", window)
    if fold(welcome.nick) != fold(state.wanted_nick):
        for window in state.windows:
            state.error(
                f"{state.wanted_nick} is taken: you are {welcome.nick} for now "
                f"(taking {state.wanted_nick} back when it is free)",
                window,
            )
    for room in state.wanted.values():  # paced: more rooms than burst are not refused
        state.pacer.send(Join(room=room))
    outbox.flush(state)


def _greeting(state: ChatState, welcome: Welcome, joining: tuple[str, ...]) -> None:
    state.info(f"connected to {state.server} ({welcome.server})", state.status)
    if welcome.motd:
        for text in welcome.motd.splitlines():
            state.info(text, state.status, style="class:motd")
    if welcome.rooms:
        rooms = " ".join(welcome.rooms) + (" ..." if welcome.truncated else "")
        state.info(f"rooms here: {rooms} (/join ROOM)", state.status)
    elif joining:
        them = "it" if len(joining) == 1 else "them"
        state.info(f"no rooms yet: joining {' '.join(joining)} creates {them}", state.status)
    else:
        state.info("no rooms yet: /join ROOM creates one", state.status)


def apply(state: ChatState, message: ServerMessage) -> None:
    """Apply one server message to the windows."""
    match message:
        case Message():
            replay.message(state, message)
        case Joined():
            _joined(state, message)
        case WhisperMessage():
            _whisper(state, message)
        case Presence():
            _presence(state, message)
        case History():
            replay.history(state, message)
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
        case AwayChanged():
            if fold(message.nick) == fold(state.nick):
                state.away = message.text
        case Error():
            _error(state, message)
        case Bye(reason=reason):
            state.error(f"the server said bye: {reason}", state.status)
        case _:
            moderation.apply(state, message)


def _joined(state: ChatState, joined: Joined) -> None:
    key = fold(joined.room)
    state.wanted[key] = joined.room
    state.rooms[key] = joined.room
    replay.joined(state, joined)
    if key in state.switch_on_join:
        state.switch_on_join.discard(key)
        window = state.find(joined.room, "room")
        if window is not None:
            state.switch_to(window)
    outbox.flush(state)


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
        state.tentative.pop(message.id, None)
    if not mine and fold(message.from_) in state.ignored:
        return
    other = message.to if mine else message.from_
    window = state.open_window("query", other)
    line = whisper_line(message, state.nick, now=state.now)
    window.add(line)
    state.noticed(window, line, from_me=mine)
    if not mine:
        state.urls.note(line.fragments[-1][1], ts=message.ts, where=window.name, nick=message.from_)


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
    if key == fold(state.wanted_nick):
        state.reclaim_nick()


def _nick_changed(state: ChatState, change: NickChanged) -> None:
    old, new = fold(change.old), fold(change.new)
    mine = old == fold(state.nick)
    if mine:
        state.nick = change.new
        state.nick_changed(change.new)
        state.reclaiming.clear()
        if new == fold(state.wanted_nick):
            state.info(f"you are {change.new} again", state.status)
        else:
            state.info(f"you are now known as {change.new}", state.status)
        state.wanted_nick = change.new
    said = f"{'you are' if mine else f'{change.old} is'} now known as {change.new}"
    for window in state.windows:
        if window.kind == "room" and old in window.members:
            del window.members[old]
            window.members[new] = change.new
            for ranks in (window.ops, window.voiced):
                if old in ranks:
                    ranks.discard(old)
                    ranks.add(new)
            window.speakers = [new if key == old else key for key in window.speakers]
            state.info(said, window)
        elif window.kind == "query" and window.key == old:
            window.name = change.new
            state.info(said, window)
    if not mine and old == fold(state.wanted_nick):
        state.reclaim_nick()


def _topic(state: ChatState, topic: Topic) -> None:
    window = state.find(topic.room, "room")
    if window is None:
        return
    window.topic = topic.topic
    window.topic_by, window.topic_ts = topic.by, state.now()
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
    if error.id is not None and error.id in state.reclaiming:
        state.reclaiming.discard(error.id)  # the nick is still taken: try again later
        return
    if error.ref == "join":
        outbox.flush(state, force=True)
    typed_in = state.typed_in.pop(error.id, None) if error.id else None
    if typed_in is not None and typed_in not in state.windows:
        typed_in = None
    opened, back = state.tentative.pop(error.id, (None, None)) if error.id else (None, None)
    if opened is not None and opened in state.windows and not opened.lines:
        # A private window opened by a whisper nobody could receive: close it, and
        # say why where the user was.
        if opened is state.window and back is not None and back in state.windows:
            state.switch_to(back)
        state.close(opened)
        typed_in = None
    state.error(f"{error.message} ({error.code})", typed_in)
