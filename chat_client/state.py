"""Everything the client knows, in one object that the other parts share.

:class:`ChatState` holds the windows (:mod:`chat_client.windows`), the
connection state shown in the status bar, what the server told us (nick,
epoch, rooms, limits), the bell setting, and the callbacks out: ``send`` one
protocol message, ``ring`` the bell, and -- set by whoever owns the
connection -- ``nick_changed`` and ``reconnect``.  It knows nothing about
prompt_toolkit's layout: the UI reads it and repaints.

It changes in two ways only, each in its own module:

* what the server says: :meth:`ChatState.handle` and :meth:`ChatState.apply`
  (:mod:`chat_client.reducer`);
* what the user types: :meth:`ChatState.submit`, :meth:`ChatState.join` and
  :meth:`ChatState.load_older` (:mod:`chat_client.actions`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel

from protocol import DEFAULT_MAX_TEXT, ServerMessage, Welcome, fold

from . import actions, reducer
from .commands import BellMode
from .events import Event
from .pacing import Later, Pacer
from .view import system_line
from .windows import DEFAULT_SCROLLBACK, Window, WindowKind, Windows

__all__ = ["ChatState"]


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
        ignored: Iterable[str] = (),
        ignore_file: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        later: Later | None = None,
    ) -> None:
        self.nick = nick
        self.server = server
        self.send = send
        self.ring = ring
        self.bell: BellMode = bell
        self.now = now
        self.windows = Windows(scrollback)
        #: What the status bar says: ``connected``, ``reconnecting in 4s (try 3)``...
        self.connection = "connecting"
        self.epoch: str | None = None
        self.server_name = ""
        self.max_text = DEFAULT_MAX_TEXT
        #: Every room the server has named, by folded name (for completion).
        self.rooms: dict[str, str] = {}
        #: The rooms joined, by folded name: re-joined after a reconnect.
        self.wanted: dict[str, str] = {}
        #: Rooms whose window becomes current when the server says ``joined``.
        self.switch_on_join: set[str] = set()
        #: Where each unanswered say/whisper was typed, so an error lands there.
        self.typed_in: dict[str, Window] = {}
        #: Our away text, shown in the status bar.
        self.away: str | None = None
        #: Folded nicks whose messages, whispers and files are hidden (``/ignore``),
        #: kept in ``ignore_file`` (none: not kept).
        self.ignored: set[str] = {fold(nick) for nick in ignored}
        self.ignore_file = ignore_file
        #: Joins and leaves go through it, at the server's rate (see chat_client.pacing).
        self.pacer = (
            Pacer(self._send_now, clock) if later is None else Pacer(self._send_now, clock, later)
        )
        self._ids = itertools.count(1)
        #: Set by whoever owns the connection: the nick changed; drop and reconnect.
        self.nick_changed: Callable[[str], None] = lambda nick: None
        self.reconnect: Callable[[], None] = lambda: None

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

    # --- what the user does (chat_client.actions) ---------------------------

    def submit(self, line: str) -> str | None:
        """Carry out one typed line; returns the reason when the user quits."""
        return actions.submit(self, line)

    def join(self, room: str, *, switch: bool = True) -> bool:
        """Ask to join ``room``; returns whether the request went out."""
        return actions.join(self, room, switch=switch)

    def load_older(self) -> None:
        """PageUp at the top of a room's scrollback: fetch the page before it."""
        actions.load_older(self)

    def _send_now(self, message: BaseModel) -> bool:
        return self.send(message)

    def next_id(self) -> str:
        """A fresh ``id`` for a message this client sends."""
        return f"c{next(self._ids)}"

    # --- showing ------------------------------------------------------------

    def info(self, text: str, window: Window | None = None, style: str = "class:system") -> None:
        """Add a system line to ``window`` (the current one by default); ``text`` may
        hold network text."""
        (window or self.window).add(system_line(text, style=style, now=self.now))

    def error(self, text: str, window: Window | None = None) -> None:
        """Add an error line to ``window`` (the current one by default)."""
        self.info(text, window, style="class:error")

    # --- windows (chat_client.windows) --------------------------------------

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
