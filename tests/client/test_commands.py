from __future__ import annotations

import pytest

from chat_client.commands import Context, Local, Problem, Result, Send, command_names, parse
from protocol import Join, Leave, ListRooms, Say, SetNick, SetTopic, Whisper, Who

ROOM = Context(room="general", joined=frozenset({"general", "other"}))
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
    ("/part #elsewhere bye all", ROOM, Send(Leave(room="elsewhere"))),
    ("/leave other see you", ROOM, Send(Leave(room="other"))),
    ("/leave see you tomorrow", ROOM, Send(Leave(room="general"))),
    ("/leave lobby", STATUS, Send(Leave(room="lobby"))),
    ("/window 3", ROOM, Local("switch", "3")),
    ("/win list", ROOM, Local("window_list")),
    ("/window close", ROOM, Send(Leave(room="general"))),
    ("/wc", ROOM, Send(Leave(room="general"))),
    ("/wc", QUERY, Local("close")),
    ("/lastlog needle", ROOM, Local("lastlog", "needle")),
    ("/search two words", ROOM, Local("lastlog", "two words")),
    ("/url", ROOM, Local("url", "10")),
    ("/url 3", ROOM, Local("url", "3")),
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
    ("/wc", STATUS, "status window stays open"),
    ("/window", ROOM, "usage: /window"),
    ("/lastlog", ROOM, "usage: /lastlog"),
    ("/url none", ROOM, "usage: /url"),
]


@pytest.mark.parametrize(("line", "ctx", "fragment"), PROBLEMS)
def test_parse_problems_send_nothing(line: str, ctx: Context, fragment: str) -> None:
    result = parse(line, ctx)
    assert isinstance(result, Problem)
    assert fragment in result.text


def test_command_names_list_commands_before_aliases() -> None:
    names = command_names()
    assert {"join", "part", "leave", "names", "who", "msg", "me", "quit", "help"} <= set(names)
    canonical = names[: names.index("exit")]
    assert canonical == sorted(canonical)
    assert names.index("join") < names.index("j")


def test_text_longer_than_the_servers_max_text_is_split_at_word_boundaries() -> None:
    roomy = Context(room="general", max_text=10_000)
    long_text = "x" * 5000
    roomy_send = parse(long_text, roomy)
    assert isinstance(roomy_send, Send)
    assert isinstance(roomy_send.message, Say)
    assert (roomy_send.message.text, roomy_send.rest) == (long_text, ())
    tight = Context(room="general", max_text=12)
    sent = parse("the quick brown fox jumps", tight)
    assert isinstance(sent, Send)
    assert [m.text for m in sent.messages if isinstance(m, Say)] == [
        "the quick",
        "brown fox",
        "jumps",
    ]
    whispered = parse("/msg bob " + "y" * 30, tight)
    assert isinstance(whispered, Send)
    assert [m.text for m in whispered.messages if isinstance(m, Whisper)] == [
        "y" * 12,
        "y" * 12,
        "y" * 6,
    ]
    assert parse("/msg bob " + "y" * 12, tight) == Send(Whisper(to="bob", text="y" * 12))
