from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from chat_client.state import ChatState
from chat_client.ui import ChatCompleter
from protocol import Joined, Presence, Welcome

from .helpers import message


@pytest.fixture
def state() -> ChatState:
    state = ChatState(nick="alice", server="test:1")
    state.welcomed(
        Welcome(nick="alice", epoch="e", server="s", rooms=["general", "gaming", "dev"]),
        again=False,
    )
    state.join("general")
    state.apply(Joined(room="general", members=["alice", "bob", "bea"], topic=None, history=[]))
    state.apply(Presence(room="general", nick="Bart", event="join"))
    state.apply(message("hi", nick="bea", seq=1))
    return state


def complete(state: ChatState, text: str) -> list[str]:
    completer = ChatCompleter(state)
    document = Document(text, len(text))
    return [c.text for c in completer.get_completions(document, CompleteEvent(True, False))]


def test_commands_complete_at_the_start_of_the_line(state: ChatState) -> None:
    assert complete(state, "/jo") == ["/join "]
    assert complete(state, "/n") == ["/nick ", "/names "]


def test_a_command_completes_before_its_alias(state: ChatState) -> None:
    assert complete(state, "/j")[0] == "/join "
    assert complete(state, "/w")[:2] == ["/wc ", "/who "]


def test_nicks_complete_recent_speakers_first_with_a_colon_at_line_start(
    state: ChatState,
) -> None:
    assert complete(state, "b") == ["bea: ", "Bart: ", "bob: "]
    assert complete(state, "thanks B") == ["bea ", "Bart ", "bob "]


def test_rooms_complete_after_join(state: ChatState) -> None:
    assert complete(state, "/join ga") == ["gaming"]
    assert complete(state, "/join #d") == ["dev"]
    assert complete(state, "/join g") == ["general", "gaming"]


def test_nicks_complete_after_msg(state: ChatState) -> None:
    assert complete(state, "/msg ba") == ["Bart "]


def test_your_own_nick_is_not_offered(state: ChatState) -> None:
    assert complete(state, "al") == []
