"""Scrolling the scrollback: PageUp at the top, End, the unread marker, Ctrl-R, /lastlog.

The real screen on a pipe input and a ``DummyOutput`` (40 x 80: 37 rows of
scrollback), over a state fed with what a server would say.
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from chat_client.replay import START_RULE
from chat_client.scrollback import MARKER_TEXT, view_rows
from chat_client.state import ChatState
from chat_client.status import status_bar
from protocol import History, HistoryRequest, Joined, Welcome

from .helpers import message
from .screen import CTRL_C, CTRL_R, END, PAGE_UP, on_screen


class Room:
    """A client in room ``general`` that has shown ``count`` messages; records what it sends."""

    def __init__(self, count: int, *, first_seq: int = 1) -> None:
        self.sent: list[BaseModel] = []
        self.state = ChatState(nick="alice", server="test:1", send=self._send)
        self.state.welcomed(Welcome(nick="alice", epoch="e", server="s", rooms=[]), again=False)
        history = [
            message(f"m-{n}", seq=n, ts=time.time()) for n in range(first_seq, first_seq + count)
        ]
        self.state.join("general")
        self.state.apply(
            Joined(room="general", members=["alice", "bob"], topic=None, history=history)
        )
        self.sent.clear()

    def _send(self, sent: BaseModel) -> bool:
        self.sent.append(sent)
        return True


async def test_page_up_past_the_top_keeps_the_screen_full() -> None:
    room = Room(50)
    window = room.state.window
    window.older = "done"  # the server has nothing older: only the local lines count
    for n in range(51, 301):
        room.state.apply(message(f"m-{n}", seq=n))
    async with on_screen(room.state) as screen:
        for _ in range(12):
            await screen.keys(PAGE_UP)
            assert "" not in screen.rows(), "a PageUp left blank rows"
        assert screen.rows()[0].endswith("you joined general")
        assert len(screen.rows()) == screen.scrollback.height == 37
        await screen.keys(END, until=lambda: window.scroll == 0)
        assert screen.rows()[-1].endswith("<bob> m-300")


async def test_page_up_in_a_short_room_keeps_every_line() -> None:
    room = Room(1)
    room.state.window.older = "done"
    async with on_screen(room.state) as screen:
        before = screen.rows()
        await screen.keys(PAGE_UP)
        assert screen.rows() == before
        assert before[-3].endswith("you joined general")
        assert before[-1].endswith("members: alice bob")
        assert room.state.window.scroll == 0
        assert "more" not in "".join(fragment[1] for fragment in status_bar(room.state, 80))


async def test_page_up_at_the_top_fetches_the_page_before() -> None:
    room = Room(50, first_seq=51)
    async with on_screen(room.state) as screen:
        await screen.keys(PAGE_UP)
        await screen.keys(PAGE_UP, until=lambda: bool(room.sent))
    assert room.sent == [HistoryRequest(room="general", before=51, limit=50)]


def test_start_of_history_is_marked_at_the_top_where_history_ends() -> None:
    room = Room(3)
    room.state.now = lambda: 9e9  # the PageUp happens long after
    room.state.load_older()
    assert room.sent == [HistoryRequest(room="general", before=1, limit=50)]
    room.state.apply(History(room="general", messages=[]))
    lines = room.state.window.lines
    assert lines[0].text == START_RULE
    assert START_RULE not in lines[-1].text
    room.sent.clear()
    room.state.load_older()
    assert room.sent == []  # nothing older: not asked again


def test_older_history_reaching_the_first_message_is_marked_above_it() -> None:
    room = Room(3, first_seq=4)
    room.state.load_older()
    room.state.apply(
        History(room="general", messages=[message(f"m-{n}", seq=n) for n in (1, 2, 3)])
    )
    lines = room.state.window.lines
    assert lines[0].text == START_RULE
    assert [line.seq for line in lines if line.seq is not None] == [1, 2, 3, 4, 5, 6]


def test_page_up_after_clear_fetches_the_history_again() -> None:
    room = Room(3)
    room.state.submit("/clear")
    assert len(room.state.window.lines) == 0
    room.state.load_older()
    assert room.sent == [HistoryRequest(room="general", before=4, limit=50)]
    room.state.apply(
        History(room="general", messages=[message(f"m-{n}", seq=n) for n in (1, 2, 3)])
    )
    texts = [line.text for line in room.state.window.lines]
    assert texts[0] == START_RULE
    assert [text.split("> ")[-1] for text in texts[1:]] == ["m-1", "m-2", "m-3"]


def test_unread_marker_shows_where_the_user_left_the_window() -> None:
    room = Room(3)
    state = room.state
    state.switch(0)
    state.apply(message("while away 1", seq=4, ts=time.time()))
    state.apply(message("while away 2", seq=5, ts=time.time()))
    state.switch(1)
    rows = ["".join(t for _, t in row) for row in view_rows(state.window, 80, 20)]
    marker = next(i for i, row in enumerate(rows) if row.startswith(MARKER_TEXT))
    assert rows[marker - 1].endswith("members: alice bob")
    assert rows[marker + 1].endswith("while away 1")
    state.switch(0)
    state.switch(1)  # nothing new since: no marker
    rows = ["".join(t for _, t in row) for row in view_rows(state.window, 80, 20)]
    assert not any(row.startswith(MARKER_TEXT) for row in rows)


def test_more_counts_the_lines_below_the_view() -> None:
    room = Room(100)
    room.state.window.scroll = 12
    bar = "".join(fragment[1] for fragment in status_bar(room.state, 100))
    assert "-- more (12) --" in bar


async def test_ctrl_r_searches_back_and_enter_stays_there() -> None:
    room = Room(200)
    window = room.state.window
    async with on_screen(room.state) as screen:
        await screen.keys("half typed")
        await screen.keys(CTRL_R)
        await screen.keys("M-15", until=lambda: window.scroll > 0)
        assert screen.rows()[-1].endswith("<bob> m-159")
        await screen.keys(CTRL_R, until=lambda: screen.rows()[-1].endswith("<bob> m-158"))
        await screen.keys("\r")
        assert screen.app.current_buffer.text == "half typed"
        assert screen.rows()[-1].endswith("<bob> m-158")
        await screen.keys(CTRL_R)
        await screen.keys("m-12", until=lambda: screen.rows()[-1].endswith("m-129"))
        await screen.keys(CTRL_C, until=lambda: screen.rows()[-1].endswith("m-158"))
        assert screen.app.current_buffer.text == "half typed"


def test_lastlog_lists_the_matching_lines_of_the_window() -> None:
    room = Room(30)
    room.state.submit("/lastlog M-2")
    notes = [line.text for line in room.state.window.lines][-12:]
    assert notes[0].endswith("lastlog 'M-2': 11 line(s)")
    assert notes[1].endswith("<bob> m-2")
    assert notes[-1].endswith("<bob> m-29")
    room.state.submit("/lastlog M-2")
    assert room.state.window.lines[-12].text.endswith("11 line(s)")  # not its own output
