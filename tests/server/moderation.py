"""Helpers for the moderation tests: a room of welcomed members, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chat_server.server import Server
from chat_server.storage import make_store
from tests.conftest import loopback_config
from tests.server.helpers import sync, welcomed
from tests.wire import WireClient

#: A wall clock far from the real one, so nothing passes by accident.
START = 1_900_000_000.0


class FakeClock:
    """Wall-clock seconds that move only when the test says."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@asynccontextmanager
async def serving_at(clock: FakeClock, **changes: object) -> AsyncIterator[Server]:
    """A server whose wall clock (message times, ban and mute expiry) is ``clock``."""
    config = loopback_config(**changes)
    server = Server(config, make_store(config), wall_clock=clock)
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown()


async def room_of(port: int, room: str, *nicks: str) -> list[WireClient]:
    """``nicks`` welcomed and joined to ``room`` in order (the first is its op), then synced."""
    clients = await welcomed(port, *nicks)
    for client in clients:
        await client.join(room)
    for client in clients:
        await sync(client)
    return clients
