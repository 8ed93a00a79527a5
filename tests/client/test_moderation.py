"""The client's side of moderation: commands, what it shows, ignore, and paced re-joins."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from pydantic import BaseModel

from chat_client.commands import Context, Local, Problem, Result, Send, parse
from chat_client.events import Connected, Disconnected, Incoming
from chat_client.ignore import read_ignored, write_ignored
from chat_client.link import Endpoint
from chat_client.op_commands import parse_duration, parse_modes
from chat_client.reconnect import Backoff, Connection
from chat_client.state import ChatState
from chat_client.ui import ChatCompleter
from chat_server.server import run_server
from protocol import (
    Away,
    AwayChanged,
    Ban,
    BanChanged,
    BanEntry,
    Bans,
    Error,
    Invite,
    Join,
    Joined,
    Kick,
    Kicked,
    Members,
    Mute,
    MuteChanged,
    Op,
    OpChanged,
    Oper,
    SetMode,
    Unban,
    Welcome,
    Whois,
)
from tests.conftest import loopback_config

from .helpers import message, whisper

ROOM = Context(room="general")
STATUS = Context()

CASES: list[tuple[str, Context, Result]] = [
    ("/op bob", ROOM, Send(Op(room="general", nick="bob"))),
    ("/op bob", STATUS, Problem("/op NICK works in a room window")),
    ("/op", ROOM, Problem("usage: /op NICK")),
    ("/kick bob stop that", ROOM, Send(Kick(room="general", nick="bob", reason="stop that"))),
    ("/ban bob 10m spam", ROOM, Send(Ban(room="general", nick="bob", duration=600, reason="spam"))),
    ("/ban 10.0.0.0/8", ROOM, Send(Ban(room="general", address="10.0.0.0/8"))),
    ("/ban ::1 2h", ROOM, Send(Ban(room="general", address="::1", duration=7200))),
    ("/unban bob", ROOM, Send(Unban(room="general", nick="bob"))),
    ("/bans", ROOM, Send(Bans(room="general"))),
    ("/bans #other", STATUS, Send(Bans(room="other"))),
    ("/mute bob 30", ROOM, Send(Mute(room="general", nick="bob", duration=30))),
    ("/mute bob soon", ROOM, Problem("not a duration: 'soon' (90, 90s, 10m, 2h, 1d)")),
    ("/mode", ROOM, Send(SetMode(room="general"))),
    (
        "/mode +im +k s3cret",
        ROOM,
        Send(SetMode(room="general", invite_only=True, moderated=True, key="s3cret")),
    ),
    ("/mode -k -l", ROOM, Send(SetMode(room="general", key=None, limit=None))),
    ("/mode +x", ROOM, Problem("unknown mode 'x' (i, m, t, k, l)")),
    ("/invite carol", ROOM, Send(Invite(room="general", nick="carol"))),
    ("/invite carol dev", STATUS, Send(Invite(room="dev", nick="carol"))),
    ("/oper hunter2", STATUS, Send(Oper(password="hunter2"))),
    ("/away lunch", STATUS, Send(Away(text="lunch"))),
    ("/away", STATUS, Send(Away())),
    ("/whois bob", STATUS, Send(Whois(nick="bob"))),
    ("/ignore troll", STATUS, Local("ignore", "troll")),
    ("/ignore", STATUS, Local("ignore", "")),
    ("/unignore troll", STATUS, Local("unignore", "troll")),
]


@pytest.mark.parametrize(("line", "ctx", "expected"), CASES)
def test_moderation_commands_parse(line: str, ctx: Context, expected: Result) -> None:
    assert parse(line, ctx) == expected


def test_a_mode_command_sends_only_the_modes_it_names() -> None:
    result = parse("/mode +t", ROOM)
    assert isinstance(result, Send)
    assert result.message.model_dump(by_alias=True, exclude_none=False) == {
        "type": "mode",
        "room": "general",
        "topic_ops": True,
    }
    assert parse_modes(["+l"]) == "+l needs a number"
    assert parse_duration("1d") == 86400
    assert parse_duration("0") is None


# --- what the client shows ------------------------------------------------------------


class _Timer:
    def cancel(self) -> None:
        pass


class Harness:
    def __init__(self, tmp: Path | None = None) -> None:
        self.sent: list[BaseModel] = []
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.state = ChatState(
            nick="alice",
            server="test:1",
            send=self._send,
            ignore_file=None if tmp is None else tmp / "client.toml",
            later=self._later,
        )

    def _later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        self.timers.append((delay, callback))
        return _Timer()

    def _send(self, message: BaseModel) -> bool:
        self.sent.append(message)
        return True

    def welcome(
        self, *, again: bool = False, rate: float | None = None, burst: int | None = None
    ) -> None:
        welcome = Welcome(nick="alice", epoch="e", server="s", rooms=[], rate=rate, burst=burst)
        self.state.handle(Connected(welcome, again=again))

    def joined(self, room: str = "general", ops: tuple[str, ...] = ("bob",)) -> None:
        members = ["alice", "bob", "carol"]
        self.state.apply(Joined(room=room, members=members, topic=None, history=[], ops=list(ops)))

    def texts(self, room: str = "general") -> list[str]:
        window = self.state.find(room)
        assert window is not None
        return [line.text for line in window.lines]


def test_ops_are_shown_with_an_at_in_who_and_in_completion() -> None:
    harness = Harness()
    harness.welcome()
    harness.state.join("general")
    harness.joined()
    assert harness.texts()[-1].endswith("members: alice @bob carol")
    harness.state.apply(
        Members(room="general", members=["alice", "bob"], ops=["bob"], away=["bob"])
    )
    assert harness.texts()[-1].endswith("general (2): alice @bob (away)")
    completer = ChatCompleter(harness.state)
    found = list(completer.get_completions(Document("b"), CompleteEvent()))
    assert [(c.text, c.display_text) for c in found] == [("bob: ", "@bob")]
    harness.state.apply(OpChanged(room="general", nick="bob", op=False, by="carol"))
    assert harness.texts()[-1].endswith("carol takes op from bob")


def test_a_kick_of_you_is_said_plainly_and_the_room_is_not_rejoined() -> None:
    harness = Harness()
    harness.welcome()
    harness.state.join("general")
    harness.joined()
    harness.state.apply(Kicked(room="general", by="bob", reason="spam"))
    last = harness.state.find("general").lines[-1]  # type: ignore[union-attr]
    assert "you were kicked from general by bob: spam" in last.text
    assert "class:error" in [style for style, _ in last.fragments]
    harness.sent.clear()
    harness.state.handle(Disconnected("gone"))
    harness.welcome(again=True)
    assert harness.sent == [], "a kicked room is not re-joined"


def test_a_ban_and_a_mute_of_you_are_said_plainly() -> None:
    harness = Harness()
    harness.welcome()
    harness.state.join("general")
    harness.joined()
    ban = BanEntry(nick="Alice", by="bob", reason="rude")
    harness.state.apply(BanChanged(room="general", ban=ban, by="bob"))
    assert harness.texts()[-1].endswith("you are banned from general by bob: rude")
    harness.state.apply(MuteChanged(room="general", nick="alice", muted=True, by="bob"))
    assert harness.texts()[-1].endswith("you were muted in general by bob")
    harness.state.apply(MuteChanged(room="general", nick="carol", muted=True, by="bob"))
    assert harness.texts()[-1].endswith("bob muted carol")


def test_away_is_kept_for_the_status_bar() -> None:
    harness = Harness()
    harness.welcome()
    harness.state.apply(AwayChanged(nick="alice", text="lunch"))
    assert harness.state.away == "lunch"
    harness.state.apply(AwayChanged(nick="alice", text=None))
    assert harness.state.away is None


def test_ignore_hides_messages_and_whispers_and_is_kept_in_the_settings_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "client.toml").write_text('nick = "alice"\n\n[colours]\nme = "red"\n')
    harness = Harness(tmp_path)
    harness.welcome()
    harness.state.join("general")
    harness.joined()
    harness.state.submit("/ignore Troll")
    harness.state.apply(message("buy now", nick="troll", seq=1))
    harness.state.apply(message("hello", nick="bob", seq=2))
    harness.state.apply(whisper("psst", nick="TROLL"))
    assert not any("buy now" in text for text in harness.texts())
    assert harness.texts()[-1].endswith("hello")
    assert harness.state.find("troll", "query") is None
    assert harness.state.find("general").last_seq == 2  # type: ignore[union-attr]
    assert read_ignored(tmp_path / "client.toml") == {"troll"}
    text = (tmp_path / "client.toml").read_text()
    assert text.startswith('nick = "alice"\n')
    assert '[colours]\nme = "red"\n' in text
    harness.state.submit("/unignore troll")
    assert read_ignored(tmp_path / "client.toml") == set()


def test_write_ignored_replaces_a_list_written_over_several_lines(tmp_path: Path) -> None:
    path = tmp_path / "client.toml"
    path.write_text('ignore = [\n  "a",\n  "b",\n]\nbell = "off"\n')
    write_ignored({"c"}, path)
    assert path.read_text() == 'bell = "off"\nignore = ["c"]\n'


# --- pacing -------------------------------------------------------------------------------


def test_rejoins_after_a_reconnect_are_paced_to_the_servers_burst() -> None:
    harness = Harness()
    harness.welcome(rate=2, burst=3)
    for index in range(5):
        harness.state.apply(Joined(room=f"r{index}", members=["alice"], topic=None, history=[]))
    harness.sent.clear()
    harness.state.handle(Disconnected("gone"))
    harness.welcome(again=True, rate=2, burst=3)
    assert [m.room for m in harness.sent if isinstance(m, Join)] == ["r0", "r1", "r2"]
    ((delay, _),) = harness.timers
    assert delay > 0
    harness.timers.clear()
    refused = harness.sent[-1]
    assert isinstance(refused, Join)
    harness.state.apply(Error(code="rate_limited", message="slow", ref="join", id=refused.id))
    assert not any("slow" in line.text for line in harness.state.window.lines), "not shown"
    assert refused.id is not None


async def test_a_user_in_more_rooms_than_burst_gets_every_room_back_after_a_reconnect() -> None:
    config = loopback_config(rate=10, burst=3)
    async with run_server(config) as server:
        state = ChatState(nick="alice", server="test")
        connection = Connection(
            Endpoint("127.0.0.1", server.port), "alice", backoff=Backoff(initial=0.05)
        )
        errors: list[Error] = []
        changed = asyncio.Event()

        def on_event(event: object) -> None:
            if isinstance(event, Incoming) and isinstance(event.message, Error):
                errors.append(event.message)
            state.handle(event)  # type: ignore[arg-type]
            changed.set()

        async def until(condition: Callable[[], bool]) -> None:
            while not condition():
                changed.clear()
                await changed.wait()

        connection.on_event = on_event
        state.send = connection.send
        welcome = await connection.connect()
        state.welcomed(welcome, again=False)
        reader = asyncio.create_task(connection.run())
        rooms = [f"room{index}" for index in range(8)]
        for room in rooms:
            state.join(room, switch=False)

        def all_joined() -> bool:
            windows = [w for w in state.windows if w.kind == "room"]
            return sorted(state.wanted) == rooms and all(w.joined for w in windows)

        await asyncio.wait_for(until(all_joined), 10)
        connection.drop()
        await asyncio.wait_for(until(lambda: state.connection != "connected"), 10)
        await asyncio.wait_for(until(all_joined), 10)
        assert len([w for w in state.windows if w.kind == "room"]) == 8
        await connection.quit()
        reader.cancel()
        assert [e for e in errors if e.ref == "join"] == [], "paced: none refused"
