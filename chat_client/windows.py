"""The client's windows and the window manager.

A :class:`Window` is one scrollback: the status window, a room, or a private
conversation ("query"), with what the status bar and completion need to know
about it (members, recent speakers, topic, unread counts) and what the
reducer needs to show each room message once (the ``seq`` range it holds,
messages held back while a gap is fetched).

:class:`Windows` is the ordered list of windows the user numbers from 1, and
which one is current.  The status window is always first and never closes.
Switching to a window marks it read.  Nothing here sends or draws: the reducer
and the typed-line executor change windows, the UI reads them and repaints.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

from protocol import Message, RoomModes, fold

from .view import Line, day_line, local_day

__all__ = ["DEFAULT_SCROLLBACK", "Window", "WindowKind", "Windows"]

DEFAULT_SCROLLBACK = 10_000

WindowKind = Literal["status", "room", "query"]


@dataclass(eq=False)
class Window:
    """One window: the status window, a room, or a private conversation.

    Lines are numbered from 0 in the order they were added (:attr:`total`
    counts them; lines put above the others by :meth:`prepend` take numbers
    below the first), so :attr:`marker` -- the number of the first line added
    after the user last left the window -- stays put while old lines fall
    off the top.
    """

    kind: WindowKind
    name: str
    cap: int = DEFAULT_SCROLLBACK
    lines: deque[Line] = field(init=False)
    members: dict[str, str] = field(default_factory=dict)
    speakers: list[str] = field(default_factory=list)
    topic: str | None = None
    #: Who set the topic and when (unix seconds), when the server said so.
    topic_by: str | None = None
    topic_ts: float | None = None
    joined: bool = False
    unread: int = 0
    mentions: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    #: Lines below the bottom of the view; 0 follows new lines.
    scroll: int = 0
    older: Literal["idle", "loading", "done"] = "idle"
    #: While filling a gap after a reconnect: messages held back, in seq order.
    catchup: list[Message] | None = None
    #: Folded nicks of the room's ops and voiced members; the room's modes.
    ops: set[str] = field(default_factory=set)
    voiced: set[str] = field(default_factory=set)
    modes: RoomModes = field(default_factory=RoomModes)
    #: The server's history was reset (a new epoch): the next ``joined`` replays it as history.
    restarted: bool = False
    #: Lines ever added at the bottom.
    total: int = 0
    #: The number of the first line added since the user last left this window.
    marker: int | None = None
    #: The local day of the last line added, for the day-change line.
    day: tuple[int, int, int] | None = None
    #: Called with each line added that belongs in the chat log.
    on_line: Callable[[Window, Line], None] | None = None

    def __post_init__(self) -> None:
        self.lines = deque(maxlen=self.cap)

    @property
    def key(self) -> str:
        """The name folded for comparison: ``General`` and ``general`` are one window."""
        return fold(self.name)

    @property
    def first_number(self) -> int:
        """The number of ``lines[0]`` (see the class docstring)."""
        return self.total - len(self.lines)

    def add(self, line: Line) -> None:
        """Append a line, after a day-change line if its day is later than the last one's.

        A window scrolled up stays where it is.
        """
        day = local_day(line.ts)
        if day is not None:
            if self.day is not None and day > self.day:
                self._append(day_line(line.ts))
            self.day = day
        self._append(line)

    def _append(self, line: Line) -> None:
        self.lines.append(line)
        self.total += 1
        if self.scroll:
            self.scroll = min(self.scroll + 1, len(self.lines) - 1)
        if line.log and self.on_line is not None:
            self.on_line(self, line)

    def add_message(self, line: Line) -> None:
        """Append a room message's line (it must carry a ``seq``) and note its seq."""
        assert line.seq is not None
        self.add(line)
        if self.first_seq is None:
            self.first_seq = line.seq
        self.last_seq = line.seq

    def skip(self, seq: int) -> None:
        """Note a room message that is not shown (an ignored nick's): its seq was seen."""
        if self.first_seq is None:
            self.first_seq = seq
        self.last_seq = seq

    def marked(self, nick: str) -> str:
        """``nick`` as ``/who`` shows it: ``@`` for an op, ``+`` for a voiced member."""
        key = fold(nick)
        return ("@" if key in self.ops else "+" if key in self.voiced else "") + nick

    def prepend(self, lines: list[Line]) -> None:
        """Put older lines above the others, as many as the cap leaves room for."""
        room = self.cap - len(self.lines)
        for line in reversed(lines[-room:] if room > 0 else []):
            self.lines.appendleft(line)
            if line.seq is not None:
                self.first_seq = line.seq

    def remove(self, line: Line) -> None:
        """Take ``line`` out (a queued line that was sent); the lines after it move up."""
        try:
            index = self.lines.index(line)
        except ValueError:
            return
        number = self.first_number + index
        del self.lines[index]
        self.total -= 1
        if self.marker is not None and self.marker > number:
            self.marker -= 1
        if self.scroll and index >= len(self.lines) - self.scroll + 1:
            self.scroll -= 1

    def clear(self) -> None:
        """Forget every line; PageUp fetches the room's history again."""
        self.lines.clear()
        self.scroll = 0
        self.marker = None
        self.first_seq = None
        self.older = "idle"

    def spoke(self, nick: str) -> None:
        """Note that ``nick`` just said something (for completion, most recent first)."""
        key = fold(nick)
        if key in self.speakers:
            self.speakers.remove(key)
        self.speakers.insert(0, key)
        del self.speakers[50:]

    def completion_nicks(self) -> list[str]:
        """Members, recent speakers first, then the rest alphabetically."""
        recent = [self.members[key] for key in self.speakers if key in self.members]
        rest = sorted(
            (nick for key, nick in self.members.items() if key not in self.speakers),
            key=fold,
        )
        return recent + rest


class Windows(Sequence[Window]):
    """The windows in the order the user numbers them, and the current one.

    Index 0 is the status window.  Every window opened here keeps
    ``scrollback`` lines at most, and hands each line that belongs in the
    chat log to :attr:`on_line` (set it to keep a log).
    """

    def __init__(self, scrollback: int = DEFAULT_SCROLLBACK) -> None:
        self.scrollback = scrollback
        #: Called with each window's lines that belong in the chat log.
        self.on_line: Callable[[Window, Line], None] | None = None
        self._windows: list[Window] = [self._new("status", "status")]
        #: The index of the window on screen.
        self.current = 0

    def _new(self, kind: WindowKind, name: str) -> Window:
        return Window(kind, name, cap=self.scrollback, on_line=self._log)

    def _log(self, window: Window, line: Line) -> None:
        if self.on_line is not None:
            self.on_line(window, line)

    @overload
    def __getitem__(self, index: int) -> Window: ...

    @overload
    def __getitem__(self, index: slice) -> list[Window]: ...

    def __getitem__(self, index: int | slice) -> Window | list[Window]:
        return self._windows[index]

    def __len__(self) -> int:
        return len(self._windows)

    def __iter__(self) -> Iterator[Window]:
        return iter(self._windows)

    @property
    def window(self) -> Window:
        """The window on screen."""
        return self._windows[self.current]

    @property
    def status(self) -> Window:
        """The status window (always the first)."""
        return self._windows[0]

    def find(self, name: str, kind: WindowKind | None = None) -> Window | None:
        """The window called ``name`` (any case), of ``kind`` if given, or ``None``."""
        key = fold(name)
        for window in self._windows:
            if window.key == key and (kind is None or window.kind == kind):
                return window
        return None

    def open(self, kind: WindowKind, name: str) -> Window:
        """The ``kind`` window called ``name``, added at the end if there is none yet."""
        window = self.find(name, kind)
        if window is None:
            window = self._new(kind, name)
            self._windows.append(window)
        return window

    def switch(self, index: int) -> bool:
        """Make window ``index`` (0-based) current; returns whether it exists."""
        if not 0 <= index < len(self._windows):
            return False
        if index != self.current and self.current < len(self._windows):
            left = self._windows[self.current]
            left.marker = left.total  # what comes next is unread when the user is back
        self.current = index
        window = self._windows[index]
        window.unread = window.mentions = 0
        return True

    def switch_to(self, window: Window) -> None:
        """Make ``window`` current; it must be one of these windows (else ValueError)."""
        self.switch(self._windows.index(window))

    def cycle(self, step: int) -> None:
        """Ctrl-N / Ctrl-P: the next or previous window, wrapping around."""
        self.switch((self.current + step) % len(self._windows))

    def close(self, window: Window) -> None:
        """Remove ``window`` (never the status window).

        The window on screen stays on screen; if it was ``window``, the one
        before it takes its place.
        """
        if window.kind == "status":
            return
        index = self._windows.index(window)
        self._windows.remove(window)
        if self.current >= index:
            self.current = max(0, self.current - 1)
        self.switch(self.current)

    def count_unseen(self, window: Window, *, mention: bool) -> None:
        """Count a new line in ``window`` as unread, unless it is on screen right now."""
        if window is self.window and window.scroll == 0:
            return
        window.unread += 1
        if mention:
            window.mentions += 1

    def activity(self) -> Iterable[tuple[int, Window]]:
        """Other windows with unread lines, as (1-based number, window)."""
        for number, window in enumerate(self._windows, 1):
            if window is not self.window and (window.unread or window.mentions):
                yield number, window
