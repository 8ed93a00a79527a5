"""Everything the client knows, and how server messages and typed lines change it.

:class:`ChatState` holds the windows (a status window, one per joined room,
one per private conversation), their scrollback and unread counts, the bell
setting and the connection state shown in the status bar.  It knows nothing
about prompt_toolkit's layout: the UI reads it and repaints.  It sends through
the ``send`` callback it is given and rings through ``ring``.

Messages are de-duplicated by ``seq`` per room: after a reconnect it re-joins
the rooms and shows only what it had not seen, asking ``history`` for a gap
that ``joined.history`` does not cover.  A new ``epoch`` forgets the seqs.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable

from pydantic import BaseModel

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
    Say,
    ServerMessage,
    Topic,
    Welcome,
    Whisper,
    WhisperMessage,
    fold,
)

from . import commands
from .commands import BELL_MODES, BellMode, Context, Local, Problem
from .events import Connected, Disconnected, Event, GaveUp, Incoming, Retrying
from .help import help_lines
from .sanitize import sanitize
from .view import Line, message_line, system_line, whisper_line
from .windows import DEFAULT_SCROLLBACK, Window, WindowKind, Windows

__all__ = ["ChatState"]

logger = logging.getLogger(__name__)

HISTORY_PAGE = 50


class ChatState:
    """The client's model.  Feed it with :meth:`handle` and :meth:`submit`.

    ``send`` sends one protocol message and returns whether it went out;
    ``ring`` rings the terminal bell; ``now`` is the clock for system lines.
    After :meth:`submit` returns a quit reason the caller must quit.
    """

    def __init__(
        self,
        *,
        nick: str,
        server: str,
        send: Callable[[BaseModel], bool] = lambda message: False,
        ring: Callable[[], None] = lambda: None,
        scrollback: int = DEFAULT_SCROLLBACK,
        bell: BellMode = "mentions",
        now: Callable[[], float] = time.time,
    ) -> None:
        self.nick = nick
        self.server = server
        self.send = send
        self.ring = ring
        self.bell: BellMode = bell
        self.now = now
        self.windows = Windows(scrollback)
        self.connection = "connecting"
        self.epoch: str | None = None
        self.server_name = ""
        self.max_text = DEFAULT_MAX_TEXT
        self.rooms: dict[str, str] = {}
        self.wanted: dict[str, str] = {}
        self._switch_on_join: set[str] = set()
        self._ids = itertools.count(1)
        #: Where each unanswered say/whisper was typed, so an error lands there.
        self._typed_in: dict[str, Window] = {}
        #: Set by whoever owns the connection: the nick changed; drop and reconnect.
        self.nick_changed: Callable[[str], None] = lambda nick: None
        self.reconnect: Callable[[], None] = lambda: None

    # --- windows ---------------------------------------------------------

    @property
    def window(self) -> Window:
        """The window on screen."""
        return self.windows.window

    @property
    def status(self) -> Window:
        """The status window."""
        return self.windows.status

    @property
    def current(self) -> int:
        """The index (0-based) of the window on screen."""
        return self.windows.current

    def find(self, name: str, kind: WindowKind | None = None) -> Window | None:
        """The window called ``name`` (any case), of ``kind`` if given, or ``None``."""
        return self.windows.find(name, kind)

    def open_window(self, kind: WindowKind, name: str) -> Window:
        """The ``kind`` window called ``name``, opened if there is none yet."""
        return self.windows.open(kind, name)

    def switch(self, index: int) -> bool:
        """Make window ``index`` (0-based) current; returns whether it exists."""
        return self.windows.switch(index)

    def switch_to(self, window: Window) -> None:
        """Make ``window`` current."""
        self.windows.switch_to(window)

    def cycle(self, step: int) -> None:
        """Ctrl-N / Ctrl-P: the next or previous window, wrapping around."""
        self.windows.cycle(step)

    def close(self, window: Window) -> None:
        """Close ``window`` (never the status window)."""
        self.windows.close(window)

    def activity(self) -> Iterable[tuple[int, Window]]:
        """Other windows with unread lines, as (1-based number, window)."""
        return self.windows.activity()

    def info(self, text: str, window: Window | None = None, style: str = "class:system") -> None:
        (window or self.window).add(system_line(text, style=style, now=self.now))

    def error(self, text: str, window: Window | None = None) -> None:
        self.info(text, window, style="class:error")

    def _notice(self, window: Window, line: Line, *, from_me: bool) -> None:
        """Count unread lines and ring the bell for a new message in ``window``."""
        if not from_me:
            self.windows.count_unseen(window, mention=line.mention)
        if from_me or self.bell == "off":
            return
        if self.bell == "on" or line.mention:
            self.ring()

    # --- the connection ----------------------------------------------------

    def handle(self, event: Event) -> None:
        """Apply one event from :class:`chat_client.reconnect.Connection`."""
        if isinstance(event, Incoming):
            self.apply(event.message)
        elif isinstance(event, Connected):
            self.welcomed(event.welcome, again=event.again)
        elif isinstance(event, Disconnected):
            self.connection = "disconnected"
            for window in self.windows:
                self.error(f"disconnected: {event.reason}", window)
                window.joined = False
                window.catchup = None
                if window.older == "loading":
                    window.older = "idle"
        elif isinstance(event, Retrying):
            self.connection = f"reconnecting in {event.delay:.0f}s (try {event.attempt})"
            if event.error:
                self.info(f"reconnect failed: {event.error}", self.status)
        elif isinstance(event, GaveUp):
            self.connection = "offline"
            for window in self.windows:
                self.error(f"{event.reason}; not reconnecting (/quit)", window)

    def welcomed(self, welcome: Welcome, *, again: bool) -> None:
        """Note the welcome; after a reconnect, re-join every room."""
        self.connection = "connected"
        self.server_name = welcome.server
        self.max_text = welcome.max_text or DEFAULT_MAX_TEXT
        if self.nick != welcome.nick:
            self.info(f"you are now {welcome.nick}", self.status)
        self.nick = welcome.nick
        for room in welcome.rooms:
            self.rooms[fold(room)] = room
        if self.epoch is not None and welcome.epoch != self.epoch:
            for window in self.windows:
                window.first_seq = window.last_seq = None
                window.older = "idle"
                if window.kind == "room":
                    self.info("the server's history was reset", window)
        self.epoch = welcome.epoch
        if not again:
            self.info(f"connected to {self.server} ({sanitize(welcome.server)})", self.status)
            if welcome.motd:
                for text in welcome.motd.splitlines():
                    self.info(text, self.status, style="class:motd")
            if welcome.rooms:
                rooms = " ".join(welcome.rooms) + (" ..." if welcome.truncated else "")
                self.info(f"rooms here: {rooms} (/join ROOM)", self.status)
            else:
                self.info("no rooms yet: /join ROOM creates one", self.status)
            return
        for window in self.windows:
            self.info("reconnected", window)
        for room in self.wanted.values():
            self.send(Join(room=room))

    def join(self, room: str, *, switch: bool = True) -> bool:
        """Ask to join ``room``; its window opens when the server says ``joined``."""
        if switch:
            self._switch_on_join.add(fold(room))
        return self.send(Join(room=room))

    def apply(self, message: ServerMessage) -> None:
        """Apply one server message to the windows."""
        if isinstance(message, Message):
            self._message(message)
        elif isinstance(message, Joined):
            self._joined(message)
        elif isinstance(message, WhisperMessage):
            self._whisper(message)
        elif isinstance(message, Presence):
            self._presence(message)
        elif isinstance(message, History):
            self._history(message)
        elif isinstance(message, Left):
            window = self.find(message.room, "room")
            self.wanted.pop(fold(message.room), None)
            if window is not None:
                self.close(window)
            self.info(f"you left {message.room}", self.status)
        elif isinstance(message, NickChanged):
            self._nick_changed(message)
        elif isinstance(message, Topic):
            self._topic(message)
        elif isinstance(message, RoomList):
            self._room_list(message)
        elif isinstance(message, Members):
            self._members(message)
        elif isinstance(message, Error):
            self._error(message)
        elif isinstance(message, Bye):
            self.error(f"the server said bye: {message.reason}", self.status)

    def _message(self, message: Message) -> None:
        window = self.find(message.room, "room")
        if window is None:
            return
        if window.catchup is not None:
            window.catchup.append(message)
            return
        self._show(window, message, live=True)

    def _show(self, window: Window, message: Message, *, live: bool) -> None:
        if message.id is not None and fold(message.from_) == fold(self.nick):
            self._typed_in.pop(message.id, None)
        if window.last_seq is not None and message.seq <= window.last_seq:
            return
        line = message_line(message, self.nick)
        window.add_message(line)
        window.spoke(message.from_)
        if live:
            self._notice(window, line, from_me=fold(message.from_) == fold(self.nick))

    def _joined(self, joined: Joined) -> None:
        key = fold(joined.room)
        window = self.open_window("room", joined.room)
        window.name = joined.room
        window.joined = True
        window.members = {fold(nick): nick for nick in joined.members}
        window.topic = joined.topic
        self.wanted[key] = joined.room
        self.rooms[key] = joined.room
        if key in self._switch_on_join:
            self._switch_on_join.discard(key)
            self.switch_to(window)
        history = sorted(joined.history, key=lambda m: m.seq)
        if window.last_seq is None:
            self.info(f"you joined {joined.room}", window)
            if joined.topic:
                self.info(f"topic: {joined.topic}", window)
            for message in history:
                self._show(window, message, live=False)
            self.info(f"members: {' '.join(sanitize(n) for n in joined.members)}", window)
            return
        last = window.last_seq
        missed = [m for m in history if m.seq > last]
        if missed and missed[0].seq > last + 1:
            window.catchup = missed
            self._ask_gap(window, before=missed[0].seq)
            return
        for message in missed:
            self._show(window, message, live=True)

    def _ask_gap(self, window: Window, before: int) -> None:
        assert window.last_seq is not None
        limit = max(1, min(100, before - window.last_seq - 1))
        self.send(HistoryRequest(room=window.name, before=before, limit=limit))

    def _history(self, history: History) -> None:
        window = self.find(history.room, "room")
        if window is None:
            return
        messages = sorted(history.messages, key=lambda m: m.seq)
        if window.catchup is not None and window.last_seq is not None:
            last = window.last_seq
            window.catchup = [m for m in messages if m.seq > last] + window.catchup
            oldest = window.catchup[0].seq if window.catchup else last + 1
            if messages and messages[0].seq > last + 1 and oldest > last + 1:
                self._ask_gap(window, before=oldest)
                return
            held, window.catchup = window.catchup, None
            if held and held[0].seq > last + 1:
                self.info("some missed messages are no longer kept by the server", window)
            for message in sorted(held, key=lambda m: m.seq):
                self._show(window, message, live=True)
            return
        if window.older != "loading":
            return
        first = window.first_seq
        older = [m for m in messages if first is None or m.seq < first]
        window.older = "idle" if older else "done"
        if not older:
            self.info("(start of the history kept by the server)", window)
            return
        window.prepend([message_line(m, self.nick) for m in older])

    def load_older(self) -> None:
        """PageUp at the top of a room's scrollback: fetch the page before it."""
        window = self.window
        if window.kind != "room" or window.older != "idle" or not window.joined:
            return
        if len(window.lines) >= window.cap:
            return
        window.older = "loading"
        if not self.send(
            HistoryRequest(room=window.name, before=window.first_seq, limit=HISTORY_PAGE)
        ):
            window.older = "idle"

    def _whisper(self, message: WhisperMessage) -> None:
        mine = fold(message.from_) == fold(self.nick)
        if mine and message.id is not None:
            self._typed_in.pop(message.id, None)
        other = message.to if mine else message.from_
        window = self.open_window("query", other)
        line = whisper_line(message, self.nick)
        window.add(line)
        self._notice(window, line, from_me=mine)

    def _presence(self, presence: Presence) -> None:
        window = self.find(presence.room, "room")
        if window is None:
            return
        key = fold(presence.nick)
        if presence.event == "join":
            window.members[key] = presence.nick
            self.info(f"{presence.nick} has joined {presence.room}", window, "class:join")
            return
        window.members.pop(key, None)
        why = f" ({presence.reason})" if presence.reason else ""
        verb = "left" if presence.event == "leave" else "quit"
        self.info(f"{presence.nick} has {verb}{why}", window, "class:part")

    def _nick_changed(self, change: NickChanged) -> None:
        old, new = fold(change.old), fold(change.new)
        if old == fold(self.nick):
            self.nick = change.new
            self.nick_changed(change.new)
            self.info(f"you are now known as {change.new}", self.status)
        for window in self.windows:
            if window.kind == "room" and old in window.members:
                del window.members[old]
                window.members[new] = change.new
                window.speakers = [new if key == old else key for key in window.speakers]
                self.info(f"{change.old} is now known as {change.new}", window)
            elif window.kind == "query" and window.key == old:
                window.name = change.new
                self.info(f"{change.old} is now known as {change.new}", window)

    def _topic(self, topic: Topic) -> None:
        window = self.find(topic.room, "room")
        if window is None:
            return
        window.topic = topic.topic
        if topic.topic:
            self.info(f"{topic.by} changed the topic to: {topic.topic}", window)
        else:
            self.info(f"{topic.by} cleared the topic", window)

    def _room_list(self, listing: RoomList) -> None:
        self.info(f"{len(listing.rooms)} room(s) on the server:")
        for room in listing.rooms:
            self.rooms[fold(room.name)] = room.name
            topic = f"  {room.topic}" if room.topic else ""
            self.info(f"  {room.name} ({room.members}){topic}")
        if listing.truncated:
            self.info("  (list cut short by the server)")

    def _members(self, members: Members) -> None:
        window = self.find(members.room, "room")
        if window is not None and window.joined:
            window.members = {fold(nick): nick for nick in members.members}
        more = " ..." if members.truncated else ""
        names = " ".join(members.members)
        self.info(f"{members.room} ({len(members.members)}): {names}{more}")

    def _error(self, error: Error) -> None:
        if error.ref == "history":
            for window in self.windows:
                if window.older == "loading":
                    window.older = "idle"
        typed_in = self._typed_in.pop(error.id, None) if error.id else None
        if typed_in is not None and typed_in not in self.windows:
            typed_in = None
        self.error(f"{error.message} ({error.code})", typed_in)

    # --- typed lines -------------------------------------------------------

    def context(self) -> Context:
        window = self.window
        if window.kind == "room":
            return Context(room=window.name, max_text=self.max_text)
        if window.kind == "query":
            return Context(query=window.name, max_text=self.max_text)
        return Context(max_text=self.max_text)

    def next_id(self) -> str:
        return f"c{next(self._ids)}"

    def submit(self, line: str) -> str | None:
        """Carry out one typed line; returns the reason when the user quits."""
        result = commands.parse(line, self.context())
        if result is None:
            return None
        if isinstance(result, Problem):
            self.error(result.text)
            return None
        if isinstance(result, Local):
            return self._local(result)
        message = result.message
        if isinstance(message, Say | Whisper):
            message = message.model_copy(update={"id": self.next_id()})
        if isinstance(message, Whisper):
            self.switch_to(self.open_window("query", message.to))
        if isinstance(message, Say | Whisper) and message.id is not None:
            self._typed_in[message.id] = self.window
            while len(self._typed_in) > 1000:
                del self._typed_in[next(iter(self._typed_in))]
        if isinstance(message, Join):
            self._switch_on_join.add(fold(message.room))
            joined = self.find(message.room, "room")
            if joined is not None and joined.joined:
                self.switch_to(joined)
        if not self.send(message):
            self.error("not connected: nothing was sent")
        return None

    def _local(self, result: Local) -> str | None:
        action, arg = result.action, result.arg
        if action == "quit":
            return arg
        if action == "reconnect":
            self.info("reconnecting", self.status)
            self.reconnect()
        if action == "switch":
            self._switch_command(arg)
        elif action == "query":
            self.switch_to(self.open_window("query", arg))
        elif action == "close":
            if self.window.kind == "query":
                self.close(self.window)
            else:
                self.error("/close closes private windows; /leave leaves a room")
        elif action == "bell":
            if arg:
                self.bell = next(mode for mode in BELL_MODES if mode == arg)
            self.info(f"bell: {self.bell} (on, off or mentions)")
        elif action == "clear":
            self.window.lines.clear()
            self.window.scroll = 0
        elif action == "show_topic":
            topic = self.window.topic
            self.info(f"topic: {topic}" if topic else "no topic is set")
        elif action == "help":
            self._help(arg)
        return None

    def _switch_command(self, target: str) -> None:
        if target.isdigit():
            if not self.switch(int(target) - 1):
                self.error(f"no window {target}")
            return
        window = self.find(target)
        if window is None:
            self.error(f"no window for {target}")
        else:
            self.switch_to(window)

    def _help(self, name: str) -> None:
        for text in help_lines(name):
            self.info(text)
