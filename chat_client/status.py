"""The status bar, fitted to the width of the terminal.

:func:`status_bar` lays out, in this order::

    [2:general] connected  -- more (12) --  [alice] (away)  act: 3:dev(2) 4:bob(1,!1)  host:7878

When the terminal is too narrow for all of it, parts are left out from the
least needed up -- the server, then the nick and away mark, then the activity
list, then the ``-- more --`` count -- so the window number and the
connection state stay in view, first; the window's name is cut short last.
Every piece of network text is sanitised here.
"""

from __future__ import annotations

from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.utils import get_cwidth

from .sanitize import sanitize
from .state import ChatState

__all__ = ["status_bar"]

Part = tuple[int, StyleAndTextTuples]  # (priority: lower stays longer, fragments)


def _width(fragments: StyleAndTextTuples) -> int:
    return sum(get_cwidth(fragment[1]) for fragment in fragments)


def _parts(state: ChatState) -> list[Part]:
    window = state.window
    online = state.link == "connected"
    parts: list[Part] = [
        (0, [("class:status.window", f" [{state.current + 1}:{sanitize(window.name)}]")]),
        (1, [("class:status.state" if online else "class:status.offline", f" {state.connection}")]),
    ]
    if window.scroll:
        parts.append((2, [("class:status.act", f"  -- more ({window.scroll}) --")]))
    me: StyleAndTextTuples = [("class:status.nick", f"  [{sanitize(state.nick)}]")]
    if state.away is not None:
        me.append(("class:status.away", " (away)"))
    parts.append((4, me))
    activity = list(state.activity())
    if activity:
        act: StyleAndTextTuples = [("", "  act:")]
        for number, other in activity:
            style = "class:status.mention" if other.mentions else "class:status.act"
            label = f" {number}:{sanitize(other.name)}({other.unread}"
            label += f",!{other.mentions})" if other.mentions else ")"
            act.append((style, label))
        parts.append((3, act))
    parts.append((5, [("", f"  {sanitize(state.server)}")]))
    return parts


def status_bar(state: ChatState, width: int) -> StyleAndTextTuples:
    """The status bar's fragments, at most ``width`` cells wide."""
    parts = _parts(state)
    while len(parts) > 2 and sum(_width(f) for _, f in parts) > width:
        parts.remove(max(parts, key=lambda part: part[0]))
    fragments = [fragment for _, part in parts for fragment in part]
    excess = _width(fragments) - width
    if excess > 0:  # only the window and the state are left: shorten the window's name
        style, text = fragments[0][0], fragments[0][1]
        keep = max(len(" [1:"), len(text) - excess - 2)
        if keep + 2 < len(text):
            fragments[0] = (style, text[:keep] + "~]")
    return fragments
