"""The SQLite store through the Store protocol: what it keeps and what it gives back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from chat_server.storage import Forgotten, Posted, Snapshot, StoreError, TopicSet
from chat_server.storage.sqlite import SqliteStore, boot_id
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


def leave_mark(path: Path, mark: str) -> None:
    """Make ``path`` look like a server that ran as ``mark`` stopped without closing it."""
    with sqlite3.connect(path) as db:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('running', ?)", (mark,))


@pytest.mark.parametrize(
    ("mark", "new_epoch"),
    [
        ("{boot} normal", False),  # the process died: the system wrote its commits
        ("another-boot normal", True),  # the machine went down before they reached the disk
        ("another-boot full", False),  # --fsync: every commit was on the disk
        (" normal", True),  # a system that does not name its boots
    ],
)
async def test_only_a_mark_that_says_commits_may_be_lost_takes_a_new_epoch(
    tmp_path: Path, mark: str, new_epoch: bool
) -> None:
    path = tmp_path / "hub.db"
    store = SqliteStore(str(path), retain=10)
    first = await store.open(Recorder())
    store.record(Posted(message("r", 1)))
    await store.close()
    leave_mark(path, mark.format(boot=boot_id()))
    again = await reopen(path)
    assert (again.epoch != first.epoch) is new_epoch
    assert again.rooms[0].seq == 1


async def test_a_change_is_reported_written_only_after_its_commit(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    feed = Recorder()
    store = SqliteStore(str(path), retain=10, fsync=True)
    await store.open(feed)
    try:
        for seq in range(1, 4):
            assert store.record(Posted(message("r", seq)))
        assert store.record(TopicSet(room="r", topic="t", by="alice"))
        assert feed.taken == 4
        async with asyncio.timeout(10):
            while feed.written_count < 4:
                feed.wrote.clear()
                await feed.wrote.wait()
        with sqlite3.connect(path) as db:  # a second reader sees every change written
            assert db.execute("SELECT max(seq) FROM messages").fetchone() == (3,)
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        await store.close()
