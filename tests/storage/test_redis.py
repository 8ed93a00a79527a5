"""The Redis store through the Store protocol, against a real redis-server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chat_server.storage import Posted, StoreUnavailable
from chat_server.storage.redis import RedisStore
from protocol import Message
from tests.storage.feeds import Recorder
from tests.storage.redis_process import RedisProcess, free_port


def draft(text: str) -> Message:
    return Message(room="Lobby", from_="alice", text=text, ts=1.0, seq=0)


async def test_seq_comes_from_redis_and_both_nodes_see_one_order(
    redis_server: RedisProcess,
) -> None:
    redis_server.command("FLUSHALL")
    feeds = [Recorder(), Recorder()]
    stores = [RedisStore(redis_server.url, retain=10) for _ in feeds]
    for store, feed in zip(stores, feeds, strict=True):
        await store.open(feed)
    try:
        for n in range(6):
            assert stores[n % 2].record(Posted(draft(f"m{n}")))
        async with asyncio.timeout(5):
            while min(len(feed.changes) for feed in feeds) < 6:
                for feed in feeds:
                    feed.arrived.clear()
                await asyncio.sleep(0.01)
        orders = [[(c.message.seq, c.message.text) for c, _ in f.changes] for f in feeds]  # type: ignore[union-attr]
        assert orders[0] == orders[1]
        assert [seq for seq, _ in orders[0]] == [1, 2, 3, 4, 5, 6]
        for change, mine in feeds[0].changes:  # node 0 made the even ones
            assert isinstance(change, Posted)
            assert mine == (int(change.message.text[1:]) % 2 == 0)
        late = RedisStore(redis_server.url, retain=4)
        snapshot = await late.open(Recorder())
        (room,) = snapshot.rooms
        assert (room.name, room.seq) == ("Lobby", 6)
        assert [m.seq for m in room.history] == [3, 4, 5, 6]
        await late.close()
    finally:
        for store in stores:
            await store.close()


async def test_a_nick_is_claimed_once_across_nodes(redis_server: RedisProcess) -> None:
    redis_server.command("FLUSHALL")
    one, two = RedisStore(redis_server.url, retain=1), RedisStore(redis_server.url, retain=1)
    await one.open(Recorder())
    await two.open(Recorder())
    try:
        assert await one.claim_nick("Alice")
        assert not await two.claim_nick("alice")
        assert await two.nick_exists("ALICE") == "Alice"
        await two.release_nick("alice")  # not two's to give back
        assert await two.nick_exists("alice") == "Alice"
        await one.release_nick("alice")
        assert await two.claim_nick("alice")
    finally:
        await one.close()
        await two.close()


async def test_unreachable_redis_is_store_unavailable() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", retain=1)
    with pytest.raises(StoreUnavailable, match="--redis"):
        await store.open(Recorder())


@pytest.mark.parametrize("call", ["claim_nick", "release_nick", "nick_exists"])
async def test_a_nick_call_as_redis_dies_is_store_unavailable(tmp_path: Path, call: str) -> None:
    """Before the store has noticed the loss, its nick calls fail with its own error."""
    redis = RedisProcess(tmp_path)
    redis.start()
    store = RedisStore(redis.url, retain=1)
    try:
        await store.open(Recorder())
        redis.kill()  # and the store has had no turn of the event loop to notice
        with pytest.raises(StoreUnavailable):
            await getattr(store, call)("alice")
    finally:
        await store.close()
        redis.stop()
