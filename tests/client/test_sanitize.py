from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chat_client.batch import format_message, format_whisper
from chat_client.events import Connected, Disconnected, GaveUp, Incoming, Retrying
from chat_client.sanitize import sanitize
from chat_client.state import ChatState
from chat_client.view import Line, message_line, system_line, whisper_line
from protocol import Message, ServerMessage, Welcome, parse_server

from .helpers import message, whisper

#: Anything a terminal would obey: C0 but newline, DEL, C1, bidi overrides.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

HOSTILE = [
    pytest.param("\x1b[2J", id="clear-screen"),
    pytest.param("\x1b]52;c;aGVsbG8=\x07", id="osc52-clipboard"),
    pytest.param("\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\", id="osc8-link"),
    pytest.param("ding\x07", id="bel"),
    pytest.param("\x9b2J", id="c1-csi"),
    pytest.param("over\rwrite", id="carriage-return"),
    pytest.param("back\b\b\bspace", id="backspace"),
    pytest.param("abc\u202edcba", id="rtl-override"),
    pytest.param("x\u2066y\u2069", id="isolate"),
    pytest.param("\x1b]0;title\x07", id="osc0-title"),
    pytest.param("del\x7f", id="del"),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_sanitize_leaves_no_control_character(text: str) -> None:
    assert RAW_CONTROL.search(sanitize(text)) is None
    assert RAW_CONTROL.search(sanitize(text, multiline=True)) is None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "^[[2J"),
        ("a\x07", "a^G"),
        ("\r", "^M"),
        ("\b", "^H"),
        ("\t", "^I"),
        ("\x7f", "^?"),
        ("\x9b", "<U+009B>"),
        ("\u202e", "<U+202E>"),
        ("\u2069", "<U+2069>"),
        ("caf\u00e9 \u4f60\u597d \U0001f600", "caf\u00e9 \u4f60\u597d \U0001f600"),
    ],
)
def test_sanitize_makes_controls_visible(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown


def test_sanitize_keeps_newline_only_in_multiline_text() -> None:
    assert sanitize("a\nb", multiline=True) == "a\nb"
    assert sanitize("a\nb") == "a^Jb"


def test_sanitize_is_idempotent() -> None:
    for param in HOSTILE:
        once = sanitize(str(param.values[0]))
        assert sanitize(once) == once


def _message(text: str, nick: str = "eve", room: str = "general") -> Message:
    return message(text, nick=nick, room=room)


@pytest.mark.parametrize("text", HOSTILE)
def test_screen_lines_carry_no_control_character(text: str) -> None:
    lines: list[Line] = [
        message_line(_message(text, nick=f"e{text}ve", room=f"r{text}"), "alice"),
        whisper_line(whisper(text, nick=text), "alice"),
        system_line(f"{text} has joined"),
    ]
    for line in lines:
        for row in line.rows(20):
            for _, fragment in row:
                assert RAW_CONTROL.search(fragment) is None
                assert "\n" not in fragment


@pytest.mark.parametrize("text", HOSTILE)
def test_batch_output_carries_no_control_character(text: str) -> None:
    printed = format_message(_message(text, nick=text, room=text))
    printed += format_whisper(whisper(text, nick=text, to="bot"))
    for line in printed:
        assert RAW_CONTROL.search(line) is None


def _inert(line: Line) -> None:
    """No fragment of ``line`` as made (before any wrapping) holds a control."""
    for _, fragment in line.fragments:
        assert RAW_CONTROL.search(fragment) is None, fragment


@pytest.mark.parametrize("text", HOSTILE)
def test_the_line_builders_are_the_gate(text: str) -> None:
    """The functions that make lines sanitise every piece of network text they use."""
    made = message_line(_message(f"{text}\nsecond", nick=f"e{text}\nve"), "alice")
    _inert(made)
    assert "^Jve> " in made.text, "a newline in a nick must not start a row"
    assert made.text.endswith("\nsecond"), "a newline in a message starts a row"
    for line in (
        whisper_line(whisper(f"{text}\nb", nick=f"{text}\n", to="alice"), "alice"),
        whisper_line(whisper(f"{text}\nb", nick="alice", to=f"{text}\n"), "alice"),
    ):
        _inert(line)
        assert "^J*" in line.text
    shown = system_line(f"{text} has\njoined")
    _inert(shown)
    assert shown.text.endswith(" has^Jjoined")


def _hostile_server(text: str) -> list[ServerMessage]:
    """One of each server message, every string in it holding ``text``."""
    past = {"room": "general", "from": f"e{text}", "text": text, "ts": 0.0, "seq": 1}
    objects: list[dict[str, Any]] = [
        {"type": "joined", "room": "general", "members": ["alice", f"b{text}"],
         "topic": text, "history": [{"type": "message", **past}]},
        {"type": "message", **past, "seq": 2, "action": True},
        {"type": "presence", "room": "general", "nick": f"c{text}", "event": "join"},
        {"type": "presence", "room": "general", "nick": f"c{text}", "event": "quit",
         "reason": text},
        {"type": "topic", "room": "general", "topic": text, "by": f"d{text}"},
        {"type": "nick_changed", "old": f"c{text}", "new": f"f{text}"},
        {"type": "whisper", "from": f"g{text}", "to": "alice", "text": text, "ts": 0.0},
        {"type": "room_list", "rooms": [{"name": f"r{text}", "members": 1, "topic": text}]},
        {"type": "members", "room": f"r{text}", "members": [f"h{text}"]},
        {"type": "error", "code": f"x{text}", "message": text},
        {"type": "bye", "reason": text},
    ]  # fmt: skip
    return [parse_server(json.dumps(obj).encode()) for obj in objects]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_line_made_from_a_hostile_server_is_inert(text: str) -> None:
    """Whatever the server says, each line the client adds is made through a builder."""
    state = ChatState(nick="alice", server="test:1", send=lambda message: True)
    welcome = Welcome(
        nick="alice", epoch="e", server=text, rooms=[f"r{text}"], motd=f"{text}\n{text}"
    )
    state.handle(Connected(welcome, again=False))
    state.join("general")
    for said in _hostile_server(text):
        state.handle(Incoming(said))
    state.handle(Disconnected(text))
    state.handle(Retrying(1.0, 1, text))
    state.handle(GaveUp(text))
    lines = [line for window in state.windows for line in window.lines]
    assert len(lines) > 20
    for line in lines:
        _inert(line)
