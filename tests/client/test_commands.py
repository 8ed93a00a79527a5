from __future__ import annotations

import pytest

from chat_client.commands import Context, Local, Problem, Result, Send, command_names, parse
from protocol import Join, Leave, ListRooms, Say, SetNick, SetTopic, Whisper, Who

ROOM = Context(room="general")
QUERY = Context(query="bob")
STATUS = Context()

CASES: list[tuple[str, Context, Result | None]] = [
    ("hello", ROOM, Send(Say(room="general", text="hello"))),
    ("two\nlines", ROOM, Send(Say(room="general", text="two\nlines"))),
    ("//not a command", ROOM, Send(Say(room="general", text="/not a command"))),
    ("/say /literally", ROOM, Send(Say(room="general", text="/literally"))),
    ("hi bob", QUERY, Send(Whisper(to="bob", text="hi bob"))),
    ("hello", STATUS, Problem("you are not in a room: /join ROOM first")),
    ("   ", ROOM, None),
    ("/join lobby", ROOM, Send(Join(room="lobby"))),
    ("/JOIN #lobby", STATUS, Send(Join(room="lobby"))),
    ("/j lobby", STATUS, Send(Join(room="lobby"))),
    ("/leave", ROOM, Send(Leave(room="general"))),
    ("/part other", ROOM, Send(Leave(room="other"))),
    ("/leave", QUERY, Local("close")),
    ("/switch 2", ROOM, Local("switch", "2")),
    ("/switch #random", ROOM, Local("switch", "random")),
    ("/msg bob hi there", ROOM, Send(Whisper(to="bob", text="hi there"))),
    ("/msg bob", ROOM, Local("query", "bob")),
    ("/query bob", ROOM, Local("query", "bob")),
    ("/me waves", ROOM, Send(Say(room="general", text="waves", action=True))),
    ("/nick alice2", ROOM, Send(SetNick(nick="alice2"))),
    ("/topic cats only", ROOM, Send(SetTopic(room="general", topic="cats only"))),
    ("/topic -delete", ROOM, Send(SetTopic(room="general", topic=""))),
    ("/topic", ROOM, Local("show_topic")),
    ("/list", STATUS, Send(ListRooms())),
    ("/who", ROOM, Send(Who(room="general"))),
    ("/names other", STATUS, Send(Who(room="other"))),
    ("/bell off", ROOM, Local("bell", "off")),
    ("/bell", ROOM, Local("bell", "")),
    ("/quit", ROOM, Local("quit", "")),
    ("/quit gone fishing", ROOM, Local("quit", "gone fishing")),
    ("/help", ROOM, Local("help", "")),
    ("/help join", ROOM, Local("help", "join")),
    ("/close", QUERY, Local("close")),
]


@pytest.mark.parametrize(("line", "ctx", "expected"), CASES)
def test_parse(line: str, ctx: Context, expected: Result | None) -> None:
    assert parse(line, ctx) == expected


PROBLEMS: list[tuple[str, Context, str]] = [
    ("/frobnicate now", ROOM, "unknown command: /frobnicate"),
    ("/", ROOM, "unknown command"),
    ("/join", ROOM, "usage: /join"),
    ("/join bad/room", ROOM, "not a room name"),
    ("/msg", ROOM, "usage: /msg"),
    ("/msg -bad hi", ROOM, "not a nick"),
    ("/me", ROOM, "usage: /me"),
    ("/me waves", QUERY, "rooms only"),
    ("/nick", ROOM, "usage: /nick"),
    ("/nick has space", ROOM, "not a nick"),
    ("/topic x", STATUS, "room window"),
    ("/leave", STATUS, "usage: /leave"),
    ("/who", STATUS, "usage: /who"),
    ("/bell loud", ROOM, "usage: /bell"),
    ("/help nosuch", ROOM, "no such command"),
    ("x" * 4001, ROOM, "limit is 4000"),
]


@pytest.mark.parametrize(("line", "ctx", "fragment"), PROBLEMS)
def test_parse_problems_send_nothing(line: str, ctx: Context, fragment: str) -> None:
    result = parse(line, ctx)
    assert isinstance(result, Problem)
    assert fragment in result.text


def test_command_names_include_aliases() -> None:
    names = command_names()
    assert {"join", "part", "leave", "names", "who", "msg", "me", "quit", "help"} <= set(names)
    assert names == sorted(names)


def test_text_is_checked_against_the_servers_max_text() -> None:
    roomy = Context(room="general", max_text=10_000)
    long_text = "x" * 5000
    sent = parse(long_text, roomy)
    assert isinstance(sent, Send)
    assert isinstance(sent.message, Say)
    assert sent.message.text == long_text
    tight = Context(room="general", max_text=10)
    problem = parse("x" * 11, tight)
    assert isinstance(problem, Problem)
    assert "10" in problem.text
    assert isinstance(parse("/msg bob " + "y" * 11, tight), Problem)
    assert parse("/msg bob " + "y" * 10, tight) == Send(Whisper(to="bob", text="y" * 10))
