"""Output rounds: --flush-interval batches writes under load, never after a quiet spell."""

from __future__ import annotations

import asyncio
import time

from protocol import Message, Ping, Pong
from tests.server.helpers import close_all, serving, welcomed
from tests.wire import WireClient

INTERVAL = 0.4


async def round_trip(client: WireClient, token: str) -> float:
    """Seconds from sending a ping to its pong."""
    started = time.monotonic()
    await client.send(Ping(token=token))
    pong = await client.expect(Pong)
    assert pong.token == token
    return time.monotonic() - started


async def test_output_queued_soon_after_a_round_waits_for_the_interval() -> None:
    async with serving(flush_interval=INTERVAL) as server:
        (alice,) = await welcomed(server.port, "alice")
        await asyncio.sleep(INTERVAL * 1.5)  # the welcome's round is long past
        await round_trip(alice, "first")  # a round runs as this pong goes out
        assert await round_trip(alice, "second") >= INTERVAL / 2
        await alice.close()


async def test_output_after_a_quiet_spell_leaves_at_once() -> None:
    async with serving(flush_interval=INTERVAL) as server:
        (alice,) = await welcomed(server.port, "alice")
        await asyncio.sleep(INTERVAL * 1.5)
        assert await round_trip(alice, "quiet") < INTERVAL / 2
        await alice.close()


async def test_messages_queued_within_one_interval_reach_everyone_in_order() -> None:
    async with serving(flush_interval=0.05, rate=0) as server:
        clients = await welcomed(server.port, "alice", "bob", "carol")
        for client in clients:
            await client.join("lobby")
        for n in range(30):
            await clients[n % 3].send({"type": "say", "room": "lobby", "text": f"m{n}"})
        for client in clients:
            seen: list[int] = []
            while len(seen) < 30:
                message = await client.recv()
                if isinstance(message, Message):
                    seen.append(message.seq)
            assert seen == sorted(seen)
            assert len(set(seen)) == 30
        await close_all(clients)
