"""The memory store: the default, which keeps nothing and never refuses."""

from __future__ import annotations

from chat_server.config import Config
from chat_server.hub import Hub
from chat_server.storage import MemoryStore, Posted, Store, TopicSet, make_store
from protocol import Message


def test_the_default_store_is_memory() -> None:
    assert isinstance(make_store(Config()), MemoryStore)
    assert isinstance(Hub(Config()).store, MemoryStore)


async def test_memory_store_opens_empty_and_takes_every_change() -> None:
    store: Store = MemoryStore()
    hub = Hub(Config(), store=store)
    await hub.open()
    assert hub.rooms == {}
    message = Message(room="r", from_="a", text="hi", ts=1.0, seq=1)
    assert store.record(Posted(message))
    assert store.record(TopicSet(room="r", topic="t", by="a"))
    assert await store.claim_nick("a")
    await hub.close()


async def test_an_explicit_epoch_wins_over_the_store() -> None:
    hub = Hub(Config(), epoch="fixed")
    await hub.open()
    assert hub.epoch == "fixed"
