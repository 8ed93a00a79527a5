"""Drawing and scrolling a window's scrollback.

A window's :attr:`~chat_client.windows.Window.scroll` counts the lines hidden
below the view.  :func:`view_rows` draws the rows of the view: the line at the
bottom and as many lines above it as fit; once the oldest line is in view the
rows start at the top of the screen instead, so scrolling past the top never
empties the screen.  :func:`page_up` and :func:`page_down` move by a screen
less two rows, and never further up than the view that starts with the oldest
line.  Only the lines in view are wrapped, so a 10,000-line window costs no
more to draw than a short one.

The unread marker, a rule above the first line added since the user last
left the window, is drawn here too; it is no line of the window, so it is
never logged.
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.layout.controls import UIContent, UIControl

from .state import ChatState
from .windows import Window
from .wrap import Fragments

__all__ = ["ScrollbackControl", "at_top", "page_down", "page_up", "scroll_to", "view_rows"]

MARKER_TEXT = "-- new since you were here "


def _marker_row(width: int) -> Fragments:
    return [("class:marker", (MARKER_TEXT + "-" * width)[: max(width, 1)])]


def _line_rows(
    window: Window, width: int, highlight: int | None
) -> Callable[[int], list[Fragments]]:
    """The rows of line ``index``, with the unread marker above it when it is the first unread."""
    first = window.first_number
    marker = window.marker
    show_marker = marker is not None and first < marker < window.total

    def rows(index: int) -> list[Fragments]:
        line = window.lines[index]
        drawn = line.rows(width)
        if highlight is not None and first + index == highlight:
            match = "class:search.match"
            drawn = [[(f"{style} {match}", text) for style, text in row] for row in drawn]
        if show_marker and first + index == marker:
            return [_marker_row(width), *drawn]
        return drawn

    return rows


def view_rows(
    window: Window, width: int, height: int, *, highlight: int | None = None
) -> list[Fragments]:
    """The ``height`` rows that show ``window`` at its scroll position.

    ``highlight`` is the number of a line to draw as a search match.
    """
    if height <= 0:
        return []
    lines = window.lines
    count = len(lines)
    rows_of = _line_rows(window, width, highlight)
    bottom = max(0, count - 1 - window.scroll)
    rows: list[Fragments] = []
    index = bottom
    while index >= 0 and len(rows) < height and count:
        rows[:0] = rows_of(index)
        index -= 1
    if len(rows) < height:  # the oldest line is in view: fill the screen from the top down
        below = bottom + 1
        while below < count and len(rows) < height:
            rows.extend(rows_of(below))
            below += 1
        rows = rows[:height]
    else:
        rows = rows[-height:]
    return [[] for _ in range(height - len(rows))] + rows


def _rows_from_top(window: Window, width: int, height: int) -> int:
    """The scroll of the view that starts with the oldest line (0 if everything fits)."""
    rows_of = _line_rows(window, width, None)
    rows = bottom = 0
    for index in range(len(window.lines)):
        rows += len(rows_of(index))
        if rows > height:
            return len(window.lines) - 1 - bottom
        bottom = index
    return 0


def at_top(window: Window, width: int, height: int) -> bool:
    """Whether the view already starts with the oldest line of ``window``."""
    return window.scroll >= _rows_from_top(window, width, height)


def page_up(window: Window, width: int, height: int) -> bool:
    """Scroll up a screen less two rows; returns whether the view now starts at the oldest line."""
    rows_of = _line_rows(window, width, None)
    step = max(1, height - 2)
    index = len(window.lines) - 1 - window.scroll
    moved = rows = 0
    while index > 0 and rows < step:
        rows += len(rows_of(index))
        index -= 1
        moved += 1
    limit = _rows_from_top(window, width, height)
    window.scroll = max(0, min(window.scroll + moved, limit))
    return window.scroll >= limit


def page_down(window: Window, width: int, height: int) -> None:
    """Scroll down a screen less two rows; at the bottom the window counts as read."""
    rows_of = _line_rows(window, width, None)
    step = max(1, height - 2)
    index = len(window.lines) - window.scroll
    moved = rows = 0
    while index < len(window.lines) and rows < step and moved < window.scroll:
        rows += len(rows_of(index))
        index += 1
        moved += 1
    window.scroll = max(0, window.scroll - moved)
    if window.scroll == 0:
        window.unread = window.mentions = 0


def scroll_to(window: Window, number: int) -> None:
    """Scroll so that line ``number`` (as :class:`~chat_client.windows.Window` numbers
    them) is at the bottom."""
    index = number - window.first_number
    if 0 <= index < len(window.lines):
        window.scroll = len(window.lines) - 1 - index


class ScrollbackControl(UIControl):
    """Draws the current window of ``state`` at its scroll position.

    Remembers the size it was last drawn at, for the paging keys.
    """

    def __init__(
        self, state: ChatState, highlight: Callable[[], int | None] = lambda: None
    ) -> None:
        self.state = state
        self.highlight = highlight
        self.width = 80
        self.height = 24

    def is_focusable(self) -> bool:
        return False

    def create_content(self, width: int, height: int) -> UIContent:
        self.width, self.height = width, height
        rows = view_rows(self.state.window, width, height, highlight=self.highlight())

        def get_line(number: int) -> StyleAndTextTuples:
            return list(rows[number])

        return UIContent(get_line=get_line, line_count=len(rows), show_cursor=False)
