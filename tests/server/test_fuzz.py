"""Random frames from many clients at once: the server stays up and loses nothing.

Seeded, so a failure replays.  Each client sends a few hundred frames drawn
from every client type, with fields valid, out of range, missing or of the
wrong type, some raw garbage and some bodies that are not JSON objects, all
cut into chunks at random byte offsets; a few clients never read.  Observers
in every room check that all the server sends is valid protocol and that each
room's ``seq`` has no gap, until a newcomer's mark arrives in every room; on
two nodes sharing Redis both observers must have seen the same messages.
Nothing may be logged as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from typing import Any

import pytest

from protocol import Message, Say, fold, frame
from tests.server.helpers import serving, welcomed
from tests.storage.redis_process import RedisProcess
from tests.wire import WireClient

SEEDS = (1, 2, 3, 4, 5)
CLIENTS = 8
FRAMES = 300
MAX_TEXT = 200
ROOMS = ("lobby", "dev", "r" * 64)
#: What the newcomer says in every room once the storm is over.
MARK = "the storm is over"
#: Client types, "say" and "join" the likeliest so that messages flow; "quit" is rare.
TYPES = (
    *("say",) * 12, *("join",) * 3, "hello", "leave", "whisper", "nick", "topic", "list",
    "who", "history", "ping", "pong", "dance",
)  # fmt: skip
FIELDS = (
    "nick", "protocol", "password", "room", "text", "id", "action", "to", "topic",
    "before", "limit", "token", "reason",
)  # fmt: skip
STRINGS = (
    "lobby", "LOBBY", "dev", "r" * 64, "r" * 65, "bad room", "", "alice", "-dash",
    "hi", "a\nb", "\x00", "\x00x", "\ud800", "\u202e\x1b[2J", "x" * (MAX_TEXT + 1),
    "i" * 65,
)  # fmt: skip
OTHERS: tuple[Any, ...] = (None, True, 0, 1, -1, 50, 101, 2**63, 1.5, [], {}, ["lobby"])


def random_value(rng: random.Random) -> Any:
    return rng.choice(STRINGS) if rng.random() < 0.7 else rng.choice(OTHERS)


def random_frame(rng: random.Random) -> bytes:
    """One frame: mostly a JSON object of a client type, sometimes worse."""
    roll = rng.random()
    if roll < 0.002:  # a length prefix of anything: may be fatal, which is fine
        return rng.randbytes(rng.randint(1, 8))
    if roll < 0.004:
        return frame(b'{"type": "quit", "reason": "done"}')
    if roll < 0.05:
        body = rng.choice([b"\xff\xfe", b"[1, 2]", b'"say"', b"{", b'{"type": 7}', b"null"])
        return frame(body)
    obj: dict[str, Any] = {"type": rng.choice(TYPES)}
    for name in FIELDS:
        if rng.random() < 0.3:
            obj[name] = random_value(rng)
    if obj["type"] == "say" and rng.random() < 0.6:  # enough real messages to count
        obj.update(room=rng.choice(ROOMS), text=f"t{rng.random()}")
    if obj["type"] == "join" and rng.random() < 0.5:
        obj["room"] = rng.choice(ROOMS)
    return frame(json.dumps(obj).encode())


async def fuzz_client(port: int, rng: random.Random, nick: str, reads: bool) -> None:
    """Connect, usually say hello, send the frames in random chunks, then leave."""
    client = await WireClient.connect(port)
    data = b"".join(random_frame(rng) for _ in range(FRAMES))
    if rng.random() < 0.8:
        hello = {"type": "hello", "nick": nick, "protocol": 1}
        data = frame(json.dumps(hello).encode()) + data
    reader = asyncio.create_task(client.closed(timeout=30)) if reads else None
    try:
        offset = 0
        while offset < len(data):
            size = rng.choice([1, 3, 50, 700, 5000])
            await client.send_raw(data[offset : offset + size])
            offset += size
            if rng.random() < 0.1:
                await asyncio.sleep(0)
    except (ConnectionError, OSError):
        pass  # the server hung up on it: a fatal frame, a quit, a full send queue
    finally:
        await client.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await reader


class Observer:
    """A member of every room: checks that each room's ``seq`` grows by exactly 1
    and keeps what it saw, until :data:`MARK` has arrived in every room."""

    def __init__(self, client: WireClient) -> None:
        self.client = client
        self.last: dict[str, int] = {}
        self.seen: dict[str, list[tuple[int, str, str]]] = {fold(room): [] for room in ROOMS}

    @classmethod
    async def joined(cls, port: int, nick: str) -> Observer:
        (client,) = await welcomed(port, nick)
        observer = cls(client)
        for room in ROOMS:
            joined = await client.join(room)
            observer.last[fold(room)] = joined.history[-1].seq if joined.history else 0
        return observer

    @property
    def messages(self) -> int:
        return sum(len(seen) for seen in self.seen.values())

    async def watch(self) -> None:
        marked: set[str] = set()
        while len(marked) < len(ROOMS):
            message = await self.client.recv(timeout=30)
            if not isinstance(message, Message):
                continue
            room = fold(message.room)
            assert message.seq == self.last[room] + 1, (room, self.last[room], message.seq)
            self.last[room] = message.seq
            self.seen[room].append((message.seq, message.from_, message.text))
            if message.text == MARK:
                marked.add(room)


async def mark_every_room(port: int) -> None:
    """A newcomer after the storm: welcomed, joins every room, says MARK in each."""
    (newcomer,) = await welcomed(port, "newcomer")
    for room in ROOMS:
        await newcomer.join(room)
        await newcomer.send(Say(room=room, text=MARK))
        while (await newcomer.recv_until(Message)).text != MARK:
            pass  # on a cluster, the storm's last messages may still be on their way
    await newcomer.close()


async def storm(ports: list[int], observers: list[Observer], seed: int) -> None:
    """Fuzz clients spread over ``ports``, then the marks; every observer sees them."""
    rng = random.Random(seed)
    watching = [asyncio.create_task(observer.watch()) for observer in observers]
    clients = [
        fuzz_client(ports[i % len(ports)], random.Random(rng.random()), f"f{i}", i % 4 != 0)
        for i in range(CLIENTS)
    ]
    await asyncio.wait_for(asyncio.gather(*clients), 60)
    await mark_every_room(ports[0])
    await asyncio.wait_for(asyncio.gather(*watching), 30)
    for observer in observers:
        assert observer.messages > 20, "too few messages got through to test anything"
        await observer.client.close()


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_frames_from_many_clients(seed: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    async with serving(rate=0, max_text=MAX_TEXT, max_frame=4096, sendq=32768) as server:
        observer = await Observer.joined(server.port, "observer")
        await storm([server.port], [observer], seed)
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("seed", SEEDS[:2])
async def test_random_frames_on_two_nodes_give_both_the_same_rooms(
    seed: int, redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    redis_server.command("FLUSHALL")
    settings = {"rate": 0, "max_text": MAX_TEXT, "max_frame": 4096, "sendq": 32768}
    async with (
        serving(redis=redis_server.url, **settings) as one,
        serving(redis=redis_server.url, **settings) as two,
    ):
        observers = [
            await Observer.joined(one.port, "observer1"),
            await Observer.joined(two.port, "observer2"),
        ]
        await storm([one.port, two.port], observers, seed)
    first, second = observers
    assert first.seen == second.seen
    assert errors_logged(caplog) == []
