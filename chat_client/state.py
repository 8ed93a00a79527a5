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

The connection state is :attr:`ChatState.link`; :attr:`ChatState.connection`
is what the status bar says about it, counting down to the next attempt.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from protocol import DEFAULT_MAX_TEXT, ServerMessage, Welcome, fold

from . import actions, reducer
from .commands import BellMode
from .events import Event
from .outbox import Outbox
from .pacing import Later, Pacer
from .urls import RecentUrls
from .view import Line, system_line
from .windows import DEFAULT_SCROLLBACK, Window, WindowKind, Windows

__all__ = ["ChatState", "LinkState"]

#: ``waiting``: for the next reconnect attempt; ``offline``: given up for good.
LinkState = Literal["connecting", "connected", "disconnected", "waiting", "offline"]


class ChatState:
    """The client's model.  Feed it with :meth:`handle` and :meth:`submit`.

    ``send`` sends one protocol message and returns whether it went out;
    ``ring`` rings the terminal bell; ``now`` is the clock for system lines
    (unix seconds) and ``clock`` the one for countdowns (monotonic).  After
    :meth:`submit` returns a quit reason the caller must quit.
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
        clock: Callable[[], float] = time.monotonic,
        ignored: Iterable[str] = (),
        ignore_file: Path | None = None,
        later: Later | None = None,
    ) -> None:
        self.nick = nick
        #: The nick the user chose: taken back when the server gave us another.
        self.wanted_nick = nick
        self.server = server
        self.send = send
        self.ring = ring
        self.bell: BellMode = bell
        self.now = now
        self.clock = clock
        self.windows = Windows(scrollback)
        self.link: LinkState = "connecting"
        #: When (``clock``) the next reconnect attempt starts, and its number.
        self.retry_at = 0.0
        self.attempt = 0
        #: Our away message, when the server says we are away.
        self.away: str | None = None
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
        #: Folded nicks whose messages, whispers and files are hidden (``/ignore``),
        #: kept in ``ignore_file`` (none: not kept).
        self.ignored: set[str] = {fold(nick) for nick in ignored}
        self.ignore_file = ignore_file
        #: Joins and leaves go through it, at the server's rate (see chat_client.pacing).
        self.pacer = (
            Pacer(self._send_now, clock) if later is None else Pacer(self._send_now, clock, later)
        )
        #: Private windows opened by a whisper not yet echoed, and where it was typed:
        #: closed again if the whisper is refused.
        self.tentative: dict[str, tuple[Window, Window]] = {}
        #: Ids of the ``nick`` requests that try to take :attr:`wanted_nick` back.
        self.reclaiming: set[str] = set()
        #: Lines typed while offline.
        self.outbox = Outbox()
        #: Addresses seen in messages, for ``/url``.
        self.urls = RecentUrls()
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

    def welcomed(self, welcome: Welcome, *, again: bool, joining: tuple[str, ...] = ()) -> None:
        """Note the welcome; after a reconnect (``again``), re-join every room.

        ``joining`` names the rooms about to be joined, for the status window.
        """
        reducer.welcomed(self, welcome, again=again, joining=joining)

    @property
    def connection(self) -> str:
        """What the status bar says: ``connected``, ``reconnecting in 4s (try 3)``..."""
        if self.link == "waiting":
            left = max(0, math.ceil(self.retry_at - self.clock()))
            return f"reconnecting in {left}s (try {self.attempt})"
        return self.link

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

    def reclaim_nick(self) -> None:
        """Ask for :attr:`wanted_nick` again if the server gave us another one."""
        actions.reclaim_nick(self)

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

    def note(self, text: str, window: Window | None = None) -> None:
        """Add a line of a local command's output (``/help``, ``/lastlog``...): never logged."""
        (window or self.window).add(system_line(text, now=self.now, log=False))

    def noticed(self, window: Window, line: Line, *, from_me: bool) -> None:
        """Count a new message in ``window`` as unread and ring the bell, as the user wants."""
        if from_me:
            return
        self.windows.count_unseen(window, mention=line.mention)
        if self.bell == "on" or (self.bell == "mentions" and line.mention):
            self.ring()

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
