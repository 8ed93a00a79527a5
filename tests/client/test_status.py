"""The status bar: what it shows, and what stays when the terminal is narrow."""

from __future__ import annotations

from chat_client.state import ChatState
from chat_client.status import status_bar
from protocol import AwayChanged, Joined, Welcome

from .helpers import message


def _state() -> ChatState:
    state = ChatState(nick="alice", server="chat.example.lan:7878")
    state.welcomed(Welcome(nick="alice", epoch="e", server="s", rooms=[]), again=False)
    for room in ("general", "dev"):
        state.join(room)
        state.apply(Joined(room=room, members=["alice"], topic=None, history=[]))
    state.apply(message("hi", room="general", seq=1))
    return state


def _bar(state: ChatState, width: int) -> str:
    return "".join(fragment[1] for fragment in status_bar(state, width))


def test_a_wide_status_bar_shows_everything() -> None:
    bar = _bar(_state(), 100)
    assert bar == " [3:dev] connected  [alice]  act: 2:general(1)  chat.example.lan:7878"


def test_a_narrow_status_bar_keeps_the_window_and_the_state_first() -> None:
    state = _state()
    assert _bar(state, 60) == " [3:dev] connected  [alice]  act: 2:general(1)"
    assert _bar(state, 40) == " [3:dev] connected  act: 2:general(1)"
    assert _bar(state, 20) == " [3:dev] connected"
    assert _bar(state, 14) == " [3:~] connected"


def test_away_shows_in_the_status_bar() -> None:
    state = _state()
    state.apply(AwayChanged(nick="alice", text="lunch"))
    assert "(away)" in _bar(state, 100)
    state.apply(AwayChanged(nick="alice", text=None))
    assert "(away)" not in _bar(state, 100)
