"""What the scrollback draws, however long the scrollback is.

How long a frame takes is measured by ``bench/client_render.py``, not here.
"""

from __future__ import annotations

from chat_client.state import ChatState
from chat_client.ui import ScrollbackControl

from .helpers import message


def _busy_state(lines: int, scrollback: int | None = None) -> ChatState:
    """A client whose current window got ``lines`` messages; the default scrollback if None."""
    if scrollback is None:
        state = ChatState(nick="alice", server="test:1")
    else:
        state = ChatState(nick="alice", server="test:1", scrollback=scrollback)
    window = state.open_window("room", "general")
    window.joined = True
    state.switch_to(window)
    for n in range(1, lines + 1):
        state.apply(message(f"message number {n} " + "words " * (n % 30), nick=f"u{n % 40}", seq=n))
    return state


def _texts(control: ScrollbackControl, width: int, height: int) -> list[str]:
    content = control.create_content(width, height)
    return [
        "".join(fragment[1] for fragment in content.get_line(row))
        for row in range(content.line_count)
    ]


def test_scrollback_is_capped_at_ten_thousand_by_default() -> None:
    state = _busy_state(12_000)
    assert len(state.window.lines) == 10_000
    assert state.window.lines[-1].seq == 12_000


def test_a_full_window_shows_its_newest_rows_at_the_bottom() -> None:
    state = _busy_state(10_000, scrollback=10_000)
    control = ScrollbackControl(state)
    for n in range(10_001, 10_101):
        state.apply(message(f"flood {n}", seq=n))
    rows = _texts(control, 120, 50)
    assert len(rows) == 50
    assert [row[row.index("<") :] for row in rows] == [
        f"<bob> flood {n}" for n in range(10_051, 10_101)
    ]


def test_a_short_window_is_drawn_at_the_bottom_under_blank_rows() -> None:
    state = _busy_state(3)
    rows = _texts(ScrollbackControl(state), 200, 10)
    assert rows[:7] == [""] * 7
    assert [row.split("> ")[-1].split()[:3] for row in rows[7:]] == [
        ["message", "number", str(n)] for n in (1, 2, 3)
    ]


def test_scrolled_up_view_stays_put_while_messages_arrive() -> None:
    state = _busy_state(200)
    control = ScrollbackControl(state)
    state.window.scroll = 100
    before = [control.create_content(80, 20).get_line(i) for i in range(20)]
    for n in range(201, 211):
        state.apply(message(f"new {n}", seq=n))
    after = [control.create_content(80, 20).get_line(i) for i in range(20)]
    assert before == after
