"""The SQLite store through the Store protocol: what it keeps and what it gives back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chat_server.storage import Forgotten, Posted, Snapshot, StoreError, TopicSet
from chat_server.storage.sqlite import SqliteStore
from protocol import Message
from tests.storage.feeds import Recorder


def message(room: str, seq: int, text: str = "hi") -> Message:
    return Message(room=room, from_="alice", text=text, ts=1000.0 + seq, seq=seq, id=f"m{seq}")


async def reopen(path: Path, retain: int = 200) -> Snapshot:
    store = SqliteStore(str(path), retain=retain)
    snapshot = await store.open(Recorder())
    await store.close()
    return snapshot


async def test_messages_and_topic_come_back_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    store = SqliteStore(str(path), retain=200)
    first = await store.open(Recorder())
    assert first.rooms == []
    assert first.epoch
    for seq in range(1, 4):
        assert store.record(Posted(message("Lobby", seq)))
    assert store.record(TopicSet(room="Lobby", topic="welcome", by="alice"))
    await store.close()

    again = await reopen(path)
    assert again.epoch == first.epoch
    (room,) = again.rooms
    assert (room.name, room.seq, room.topic) == ("Lobby", 3, "welcome")
    assert room.history == [message("Lobby", seq) for seq in range(1, 4)]


async def test_only_the_newest_retain_messages_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    store = SqliteStore(str(path), retain=5)
    await store.open(Recorder())
    for seq in range(1, 13):
        store.record(Posted(message("r", seq)))
    await store.close()
    (room,) = (await reopen(path, retain=5)).rooms
    assert room.seq == 12
    assert [m.seq for m in room.history] == [8, 9, 10, 11, 12]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (5,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_forgotten_room_is_gone_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    store = SqliteStore(str(path), retain=10)
    await store.open(Recorder())
    store.record(Posted(message("old", 1)))
    store.record(Posted(message("kept", 1)))
    store.record(Forgotten(room="OLD"))
    await store.close()
    assert [room.name for room in (await reopen(path)).rooms] == ["kept"]


async def test_a_full_backlog_refuses_instead_of_dropping(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "hub.db"), retain=10, backlog=0)
    await store.open(Recorder())
    assert not store.record(Posted(message("r", 1)))
    await store.close()


async def test_an_unusable_path_is_a_store_error_naming_the_option(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "missing" / "hub.db"), retain=10)
    with pytest.raises(StoreError, match="--db"):
        await store.open(Recorder())
