"""Random frames from many clients at once: the server stays up and loses nothing.

Seeded, so a failure replays.  Each client sends a few hundred frames drawn
from every client type, with fields valid, out of range, missing or of the
wrong type, some raw garbage and some bodies that are not JSON objects, all
cut into chunks at random byte offsets; a few clients never read.  Meanwhile
an observer in every room checks that all the server sends is valid protocol
and that each room's ``seq`` has no gap; at the end a newcomer is still
served and nothing was logged as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from typing import Any

import pytest

from chat_server.server import Server
from protocol import Joined, Message, Ping, Pong, Say, fold, frame
from tests.server.helpers import serving, sync, welcomed
from tests.wire import WireClient

SEEDS = (1, 2, 3, 4, 5)
CLIENTS = 8
FRAMES = 300
MAX_TEXT = 200
ROOMS = ("lobby", "dev", "r" * 64)
STOP = "stop-watching"
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
    """A member of every room that checks each room's ``seq`` grows by exactly 1."""

    def __init__(self, client: WireClient) -> None:
        self.client = client
        self.last: dict[str, int] = {}
        self.messages = 0

    async def join_all(self) -> None:
        for room in ROOMS:
            joined = await self.client.join(room)
            assert isinstance(joined, Joined)
            self.last[fold(room)] = joined.history[-1].seq if joined.history else 0

    def see(self, message: object) -> None:
        if isinstance(message, Message):
            room = fold(message.room)
            assert message.seq == self.last[room] + 1, (room, self.last[room], message.seq)
            self.last[room] = message.seq
            self.messages += 1

    async def watch(self) -> None:
        """Check every message until the ``pong`` to :meth:`stop`'s ``ping``."""
        while True:
            message = await self.client.recv(timeout=30)
            if isinstance(message, Pong) and message.token == STOP:
                return
            self.see(message)

    async def stop(self) -> None:
        await self.client.send(Ping(token=STOP))


async def still_serves(server: Server, observer: Observer) -> None:
    (newcomer,) = await welcomed(server.port, "newcomer")
    await newcomer.join("lobby")
    await newcomer.send(Say(room="lobby", text="still here"))
    echo = await newcomer.recv_until(Message)
    assert echo.text == "still here"
    for message in await sync(observer.client):
        observer.see(message)
    assert observer.last[fold("lobby")] == echo.seq
    await newcomer.close()


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_frames_from_many_clients(seed: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    rng = random.Random(seed)
    async with serving(rate=0, max_text=MAX_TEXT, max_frame=4096, sendq=32768) as server:
        (client,) = await welcomed(server.port, "observer")
        observer = Observer(client)
        await observer.join_all()
        watching = asyncio.create_task(observer.watch())
        clients = [
            fuzz_client(server.port, random.Random(rng.random()), f"f{i}", reads=i % 4 != 0)
            for i in range(CLIENTS)
        ]
        await asyncio.wait_for(asyncio.gather(*clients), 60)
        await observer.stop()
        await asyncio.wait_for(watching, 30)
        await still_serves(server, observer)
        assert observer.messages > 50, "too few messages got through to test anything"
        await client.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
