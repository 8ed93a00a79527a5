"""Drawing the scrollback must not depend on how long the scrollback is."""

from __future__ import annotations

import time

from chat_client.state import ChatState
from chat_client.ui import ScrollbackControl

from .helpers import message


def _busy_state(lines: int) -> ChatState:
    state = ChatState(nick="alice", server="test:1", scrollback=10_000)
    window = state.open_window("room", "general")
    window.joined = True
    state.switch_to(window)
    for n in range(1, lines + 1):
        state.apply(message(f"message number {n} " + "words " * (n % 30), nick=f"u{n % 40}", seq=n))
    return state


def test_scrollback_is_capped_at_ten_thousand_by_default() -> None:
    state = _busy_state(12_000)
    assert len(state.window.lines) == 10_000
    assert state.window.lines[-1].seq == 12_000


def test_a_frame_of_a_full_window_draws_in_milliseconds() -> None:
    state = _busy_state(10_000)
    control = ScrollbackControl(state)
    frames = 100
    start = time.perf_counter()
    for n in range(10_001, 10_001 + frames):
        state.apply(message(f"flood {n}", seq=n))
        content = control.create_content(120, 50)
    per_frame = (time.perf_counter() - start) / frames
    assert per_frame < 0.02, f"{per_frame * 1000:.1f} ms per frame"
    last = "".join(fragment[1] for fragment in content.get_line(content.line_count - 1))
    assert last.endswith(f"flood {10_000 + frames}")
    assert content.line_count == 50


def test_scrolled_up_view_stays_put_while_messages_arrive() -> None:
    state = _busy_state(200)
    control = ScrollbackControl(state)
    state.window.scroll = 100
    before = [control.create_content(80, 20).get_line(i) for i in range(20)]
    for n in range(201, 211):
        state.apply(message(f"new {n}", seq=n))
    after = [control.create_content(80, 20).get_line(i) for i in range(20)]
    assert before == after
