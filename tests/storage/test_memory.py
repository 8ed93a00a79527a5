"""The memory store: the default, which keeps nothing beyond the process."""

from __future__ import annotations

from chat_server.config import Config
from chat_server.hub import Hub
from chat_server.server import SERVER_NAME, run_server
from chat_server.storage import MemoryStore, make_store
from protocol import Message, Say
from tests.wire import connect_welcomed


def test_the_default_store_is_memory() -> None:
    assert isinstance(make_store(Config()), MemoryStore)


async def test_a_restarted_memory_server_forgets_its_rooms_and_takes_a_new_epoch() -> None:
    config = Config(host="127.0.0.1", port=0)
    async with run_server(config) as server:
        assert isinstance(server.hub.store, MemoryStore)
        alice = await connect_welcomed(server.port, "alice")
        await alice.join("lobby")
        await alice.send(Say(room="lobby", text="hello"))
        await alice.recv_until(Message)
        epoch = server.hub.epoch
        await alice.close()
    async with run_server(config) as again:
        bob = await connect_welcomed(again.port, "bob")
        assert again.hub.rooms == {}
        assert again.hub.epoch != epoch
        await bob.close()


async def test_an_explicit_epoch_wins_over_the_store() -> None:
    hub = Hub(Config(), MemoryStore(), server_name=SERVER_NAME, epoch="fixed")
    await hub.open()
    assert hub.epoch == "fixed"
    await hub.close()
