"""Everything the client knows, and how typed lines change it.

:class:`ChatState` holds the windows (:mod:`chat_client.windows`), the
connection state shown in the status bar, the bell setting and what the
server told us.  What the server says changes it through
:mod:`chat_client.reducer`.  It knows nothing about prompt_toolkit's layout:
the UI reads it and repaints.  It sends through the ``send`` callback it is
given and rings through ``ring``.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable

from pydantic import BaseModel

from protocol import (
    DEFAULT_MAX_TEXT,
    HistoryRequest,
    Join,
    Say,
    ServerMessage,
    Welcome,
    Whisper,
    fold,
)

from . import commands, reducer
from .commands import BELL_MODES, BellMode, Context, Local, Problem
from .events import Event
from .help import help_lines
from .view import system_line
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
        #: Rooms whose window becomes current when the server says ``joined``.
        self.switch_on_join: set[str] = set()
        self._ids = itertools.count(1)
        #: Where each unanswered say/whisper was typed, so an error lands there.
        self.typed_in: dict[str, Window] = {}
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

    # --- what the server says (chat_client.reducer) -------------------------

    def handle(self, event: Event) -> None:
        """Apply one event from :class:`chat_client.reconnect.Connection`."""
        reducer.handle(self, event)

    def apply(self, message: ServerMessage) -> None:
        """Apply one server message to the windows."""
        reducer.apply(self, message)

    def welcomed(self, welcome: Welcome, *, again: bool) -> None:
        """Note the welcome; after a reconnect (``again``), re-join every room."""
        reducer.welcomed(self, welcome, again=again)

    def join(self, room: str, *, switch: bool = True) -> bool:
        """Ask to join ``room``; its window opens when the server says ``joined``."""
        if switch:
            self.switch_on_join.add(fold(room))
        return self.send(Join(room=room))

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
            self.typed_in[message.id] = self.window
            while len(self.typed_in) > 1000:
                del self.typed_in[next(iter(self.typed_in))]
        if isinstance(message, Join):
            self.switch_on_join.add(fold(message.room))
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
