"""Ctrl-R: searching back through the current window, as WeeChat does.

Ctrl-R starts a :class:`Search` (the input line becomes the search text and
its own text is put aside); each change of the text shows the newest line
that holds it (any case), and Ctrl-R again the one before.  The view scrolls
so the match is at the bottom, drawn highlighted.  Enter stops there; Escape
or Ctrl-C goes back to where the window was.  Either gives the input line its
text back.  ``/lastlog TEXT`` lists the same matches at once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .scrollback import scroll_to
from .windows import Window

__all__ = ["Search", "find_back"]


def find_back(window: Window, query: str, before: int | None = None) -> int | None:
    """The number of the newest line of ``window`` before line ``before`` (before the
    end if ``None``) whose text holds ``query`` in any case; ``None`` if there is none."""
    if not query:
        return None
    needle = query.casefold()
    first = window.first_number
    count = len(window.lines)
    end = count if before is None else max(0, min(count, before - first))
    newest_first = itertools.islice(reversed(window.lines), count - end, None)
    for offset, line in enumerate(newest_first):
        if needle in line.text.casefold():
            return first + end - 1 - offset
    return None


@dataclass
class Search:
    """One Ctrl-R search in ``window``; ``match`` is the line shown, if any."""

    window: Window
    #: The input line's text before the search, given back when it ends.
    saved_text: str
    #: Where the window was scrolled, for Escape.
    saved_scroll: int
    query: str = ""
    match: int | None = None

    def update(self, query: str) -> None:
        """The search text changed: show the newest match."""
        self.query = query
        self._show(find_back(self.window, query))

    def older(self) -> None:
        """Ctrl-R again: show the match before the one shown (it stays if there is none)."""
        found = find_back(self.window, self.query, self.match)
        if found is not None:
            self._show(found)

    def cancel(self) -> None:
        """Escape: the window goes back to where it was."""
        self.window.scroll = min(self.saved_scroll, max(0, len(self.window.lines) - 1))
        self.match = None

    def _show(self, match: int | None) -> None:
        self.match = match
        if match is None:
            self.window.scroll = self.saved_scroll
        else:
            scroll_to(self.window, match)
