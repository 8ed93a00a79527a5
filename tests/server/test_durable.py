"""SQLite (``--db``): history, topics, ``seq`` and ``epoch`` survive a restart."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from protocol import (
    Bye,
    Error,
    History,
    HistoryRequest,
    Join,
    Joined,
    Message,
    Ping,
    Pong,
    Say,
    SetTopic,
    Topic,
    encode,
)
from protocol import Quit as QuitRequest
from tests.server.helpers import close_all, serving, sync, welcomed
from tests.server.test_cli import BASE_ARGS, chat_server
from tests.wire import WireClient, connect_welcomed


async def say_many(port: int, room: str, texts: list[str]) -> list[Message]:
    (alice,) = await welcomed(port, "alice")
    await alice.send(Join(room=room))
    await alice.expect(Joined)
    echoes = []
    for index, text in enumerate(texts):
        await alice.send(Say(room=room, text=text, id=f"m{index}"))
        echoes.append(await alice.expect(Message))
    await close_all([alice])
    return echoes


async def test_history_and_seq_continue_after_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.db")
    async with serving(db=db) as server:
        before = await say_many(server.port, "Lobby", ["one", "two", "three"])
    assert [m.seq for m in before] == [1, 2, 3]

    async with serving(db=db) as server:
        bob = await connect_welcomed(server.port, "bob")
        await bob.send(Join(room="lobby"))
        joined = await bob.expect(Joined)
        assert joined.room == "Lobby"
        assert joined.history == before
        await bob.send(HistoryRequest(room="lobby", before=3, limit=10))
        assert (await bob.expect(History)).messages == before[:2]
        await bob.send(Say(room="lobby", text="four"))
        assert (await bob.expect(Message)).seq == 4
        await close_all([bob])


async def test_the_epoch_stays_the_same_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.db")
    epochs = []
    for _ in range(2):
        async with serving(db=db) as server:
            client = await WireClient.connect(server.port)
            epochs.append((await client.hello("alice")).epoch)
            await close_all([client])
    assert epochs[0] == epochs[1]
    async with serving() as server:  # memory: a new history, a new epoch
        client = await WireClient.connect(server.port)
        assert (await client.hello("alice")).epoch != epochs[0]
        await close_all([client])


async def test_a_killed_server_and_a_clean_stop_both_keep_the_epoch(tmp_path: Path) -> None:
    """Nothing is sent before it is written, so a killed process loses nothing anyone saw."""
    args = (*BASE_ARGS, "--db", str(tmp_path / "hub.db"))
    epochs = []
    for stop in (signal.SIGKILL, signal.SIGTERM, signal.SIGTERM):
        async with chat_server(args=args) as server:
            client = await WireClient.connect(server.port)
            epochs.append((await client.hello("alice")).epoch)
            await close_all([client])
            server.process.send_signal(stop)
            await server.wait(10)
    assert len(set(epochs)) == 1


async def test_a_topic_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.db")
    async with serving(db=db) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.send(Join(room="r"))
        await alice.expect(Joined)
        await alice.send(Say(room="r", text="hello"))
        await alice.expect(Message)
        await alice.send(SetTopic(room="r", topic="durable things"))
        await alice.expect(Topic)
        await close_all([alice])
    async with serving(db=db) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.send(Join(room="r"))
        assert (await bob.expect(Joined)).topic == "durable things"
        await close_all([bob])


async def test_retention_follows_history(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.db")
    async with serving(db=db, history=5, rate=0) as server:
        await say_many(server.port, "r", [f"t{n}" for n in range(1, 13)])
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (5,)
    async with serving(db=db, history=5) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.send(Join(room="r"))
        assert [m.seq for m in (await bob.expect(Joined)).history] == [8, 9, 10, 11, 12]
        await close_all([bob])


async def test_a_full_write_backlog_is_an_error_not_a_silent_drop(tmp_path: Path) -> None:
    async with serving(db=str(tmp_path / "hub.db")) as server:
        store = server.hub.store
        store.backlog = 0  # type: ignore[attr-defined]
        (alice,) = await welcomed(server.port, "alice")
        await alice.send(Join(room="r"))
        await alice.expect(Joined)
        await alice.send(Say(room="r", text="lost?", id="x"))
        error = await alice.expect(Error)
        assert (error.code, error.ref, error.id) == ("unavailable", "say", "x")
        assert await sync(alice) == []
        store.backlog = 100  # type: ignore[attr-defined]
        await alice.send(Say(room="r", text="stored"))
        assert (await alice.expect(Message)).seq == 1  # the refused one took no seq
        await close_all([alice])


def test_an_unusable_db_exits_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chat_server", "--port", "0", "--host", "127.0.0.1",
         "--db", str(tmp_path / "no" / "such" / "dir.db")],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert lines
    assert "--db" in lines[-1]


async def test_nothing_is_sent_until_the_write_it_follows_is_done(tmp_path: Path) -> None:
    """A locked file holds the message back, and the pong asked for after it too."""
    db = tmp_path / "hub.db"
    async with serving(db=str(db)) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.send(Join(room="r"))
        await alice.expect(Joined)
        with sqlite3.connect(db, isolation_level=None) as other:
            other.execute("BEGIN IMMEDIATE")  # the server's writer waits for this lock
            await alice.send_raw(
                encode(Say(room="r", text="held", id="s")) + encode(Ping(token="p"))
            )
            with pytest.raises(TimeoutError):
                await alice.recv(timeout=0.5)
            other.execute("COMMIT")
        message = await alice.expect(Message, timeout=10)
        assert (message.text, message.seq) == ("held", 1)
        assert await alice.expect(Pong) == Pong(token="p")
        await close_all([alice])
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM messages").fetchone() == (1,)


async def test_bye_comes_after_the_echo_that_waited_for_the_write(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    async with serving(db=str(db)) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.send(Join(room="r"))
        await alice.expect(Joined)
        with sqlite3.connect(db, isolation_level=None) as other:
            other.execute("BEGIN IMMEDIATE")
            await alice.send_raw(encode(Say(room="r", text="last words")) + encode(QuitRequest()))
            await asyncio.sleep(0.3)
            other.execute("COMMIT")
        rest = await alice.closed(timeout=10)
        assert [type(m) for m in rest] == [Message, Bye]


async def test_a_client_is_not_read_while_too_much_waits_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output held behind a slow write is bounded: the hub stops reading, then goes on."""
    monkeypatch.setattr("chat_server.hub.post.HELD_MAX", 5)
    db = tmp_path / "hub.db"
    async with serving(db=str(db)) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.send(Join(room="r"))
        await alice.expect(Joined)
        with sqlite3.connect(db, isolation_level=None) as other:
            other.execute("BEGIN IMMEDIATE")
            pings = [encode(Ping(token=str(n))) for n in range(20)]
            await alice.send_raw(encode(Say(room="r", text="first")) + b"".join(pings))
            await asyncio.sleep(0.5)
            assert server.hub.ctx.stalled  # it stopped taking alice's requests
            other.execute("COMMIT")
        assert (await alice.expect(Message, timeout=10)).text == "first"
        for n in range(20):
            assert await alice.expect(Pong) == Pong(token=str(n))
        assert not server.hub.ctx.stalled
        await close_all([alice])
