"""Load that a crash interrupts: clients that keep talking, and what they were told.

:func:`talk` starts clients that send bursts of ``say`` to every room and keep
every ``message`` they receive; :func:`full_history` pages back through a
room's history afterwards; :func:`check_nothing_seen_was_lost` compares them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

from protocol import History, HistoryRequest, Message, Say, Welcome, encode
from tests.wire import WireClient

#: Says in one write of a talking client, at most.
BURST = 8


@dataclass
class Talk:
    """Clients talking in ``rooms``: the messages each received, by room and seq."""

    rooms: tuple[str, ...]
    clients: list[WireClient] = field(default_factory=list)
    epochs: set[str] = field(default_factory=set)
    received: dict[str, dict[int, Message]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def stop(self) -> None:
        """Stop sending, give the survivors a moment to hear the rest, and hang up."""
        self.stopped.set()
        await asyncio.sleep(0.5)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for client in self.clients:
            await client.close()


async def talk(ports: list[int], rooms: tuple[str, ...], per_port: int, seed: int) -> Talk:
    """``per_port`` clients on each of ``ports``, all in ``rooms``, sending until stopped."""
    state = Talk(rooms=rooms, received={room: {} for room in rooms})
    rng = random.Random(seed)
    for index in range(per_port * len(ports)):
        client = await WireClient.connect(ports[index % len(ports)])
        welcome: Welcome = await client.hello(f"talker{index}")
        state.epochs.add(welcome.epoch)
        for room in rooms:
            await client.join(room)
        state.clients.append(client)
    for index, client in enumerate(state.clients):
        state.tasks.append(asyncio.create_task(_listen(state, client)))
        state.tasks.append(asyncio.create_task(_send(state, client, index, rng.random())))
    return state


async def _send(state: Talk, client: WireClient, index: int, seed: float) -> None:
    rng = random.Random(seed)
    count = 0
    with contextlib.suppress(ConnectionError, OSError):
        while not state.stopped.is_set():
            burst = []
            for _ in range(rng.randint(1, BURST)):
                room = rng.choice(state.rooms)
                burst.append(encode(Say(room=room, text=f"{index}:{count}", id=f"{index}-{count}")))
                count += 1
            await client.send_raw(b"".join(burst))
            await asyncio.sleep(rng.uniform(0, 0.01))


async def _listen(state: Talk, client: WireClient) -> None:
    with contextlib.suppress(ConnectionError, OSError, TimeoutError):
        while True:
            message = await client.recv(30.0)
            if isinstance(message, Message):
                seen = state.received[message.room].setdefault(message.seq, message)
                assert seen == message, f"two messages with seq {message.seq}: {seen}, {message}"


async def full_history(client: WireClient, room: str) -> list[Message]:
    """Every kept message of ``room``, oldest first, paging back 100 at a time."""
    found: list[Message] = []
    before: int | None = None
    while True:
        await client.send(HistoryRequest(room=room, before=before, limit=100))
        page = await client.recv_until(History, timeout=15.0)
        if not page.messages:
            return found
        found[:0] = page.messages
        before = page.messages[0].seq
        if before == 1:
            return found


def check_nothing_seen_was_lost(state: Talk, histories: dict[str, list[Message]]) -> None:
    """Each room's history counts 1, 2, 3... and holds every message anyone received."""
    for room in state.rooms:
        history = histories[room]
        assert [m.seq for m in history] == list(range(1, len(history) + 1)), room
        kept = {m.seq: m for m in history}
        received = state.received[room]
        assert received, f"nobody received anything in {room}: the load never started"
        missing = [seq for seq in received if kept.get(seq) != received[seq]]
        assert not missing, f"{room}: received but not kept as received: {missing[:10]}"
