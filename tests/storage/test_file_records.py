"""Shared files' records in the stores: written, removed, and loaded again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chat_server.changes import FileRecord, FileShared, FilesRemoved
from chat_server.storage.filerecords import decode_record, encode_record
from chat_server.storage.redis import RedisStore
from chat_server.storage.sqlite import SqliteStore
from protocol import FileInfo
from tests.storage.feeds import Recorder
from tests.storage.redis_process import RedisProcess


def record(file_id: str, *, room: str | None = "Lobby", to: str | None = None) -> FileRecord:
    info = FileInfo(id=file_id, name=f"{file_id}.txt", size=3, sha256="ab" * 32, mime="text/plain")
    return FileRecord(info, "alice", 1000.5, room=room, to=to, seq=7 if room else 0)


async def arrived(feed: Recorder, count: int) -> None:
    async with asyncio.timeout(5):
        while len(feed.changes) < count:
            feed.arrived.clear()
            await feed.arrived.wait()


def test_a_record_survives_its_json_form() -> None:
    for original in (record("a"), record("b", room=None, to="bob")):
        assert decode_record(encode_record(original)) == original


async def test_sqlite_keeps_file_records_until_they_are_removed(tmp_path: Path) -> None:
    path = str(tmp_path / "hub.db")
    store = SqliteStore(path, retain=10)
    await store.open(Recorder())
    for file_id in ("a", "b", "c"):
        assert store.record(FileShared(record(file_id)))
    assert store.record(FilesRemoved(("b",)))
    await store.close()
    again = SqliteStore(path, retain=10)
    snapshot = await again.open(Recorder())
    await again.close()
    assert sorted(r.file.id for r in snapshot.files) == ["a", "c"]
    assert record("a") in snapshot.files


async def test_redis_shares_file_records_with_every_node(redis_server: RedisProcess) -> None:
    redis_server.command("FLUSHALL")
    feeds = [Recorder(), Recorder()]
    stores = [RedisStore(redis_server.url, retain=10) for _ in feeds]
    for store, feed in zip(stores, feeds, strict=True):
        await store.open(feed)
    try:
        assert stores[0].record(FileShared(record("a", room=None, to="bob")))
        assert stores[0].record(FileShared(record("b")))
        await arrived(feeds[1], 2)
        assert stores[1].record(FilesRemoved(("a",)))
        await arrived(feeds[1], 3)
        assert [change for change, _ in feeds[1].changes] == [
            FileShared(record("a", room=None, to="bob")),
            FileShared(record("b")),
            FilesRemoved(("a",)),
        ]
        late = RedisStore(redis_server.url, retain=10)
        snapshot = await late.open(Recorder())
        await late.close()
        assert snapshot.files == [record("b")]
    finally:
        for store in stores:
            await store.close()
