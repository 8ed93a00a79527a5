"""Many messages, slow readers and garbage: the server keeps serving everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import time

from protocol import (
    Hello,
    Message,
    Ping,
    Pong,
    Presence,
    Say,
    encode,
    frame,
)
from tests.server.helpers import close_all, hung_up, serving, still_open, sync, welcomed
from tests.wire import WireClient, connect_welcomed


async def test_five_senders_into_ten_members_all_see_one_seq_order() -> None:
    senders, per_sender = 5, 200
    total = senders * per_sender
    async with serving(rate=0) as server:
        members = await welcomed(server.port, *(f"m{i}" for i in range(10)))
        for member in members:
            await member.join("lobby")
        for member in members:
            await sync(member)

        async def send(index: int) -> None:
            client = members[index]
            for n in range(per_sender):
                await client.send(Say(room="lobby", text=f"{index}:{n}", id=f"{index}-{n}"))

        async def read(client: WireClient) -> list[Message]:
            got: list[Message] = []
            while len(got) < total:
                message = await client.recv(timeout=10)
                assert isinstance(message, Message), message
                got.append(message)
            return got

        readers = [asyncio.create_task(read(member)) for member in members]
        await asyncio.gather(*(send(i) for i in range(senders)))
        seen = await asyncio.wait_for(asyncio.gather(*readers), 30)

        reference = seen[0]
        assert [m.seq for m in reference] == list(range(1, total + 1)), "gap or duplicate"
        for other in seen[1:]:
            assert other == reference, "members disagree on the order"
        for index in range(senders):
            mine = [m.id for m in reference if m.from_ == f"m{index}"]
            assert mine == [f"{index}-{n}" for n in range(per_sender)]
        for member in members:
            assert await sync(member) == []
        await close_all(members)


async def connect_unread(port: int, nick: str) -> WireClient:
    """A welcomed client whose socket has a tiny receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=2**16)
    client = WireClient(reader, writer)
    await client.hello(nick)
    return client


async def test_member_that_never_reads_is_dropped_and_others_keep_receiving() -> None:
    count, text = 1300, "x" * 4000  # a little over 5 MB through the room
    window = 16  # the sender keeps at most this many of its messages unechoed
    async with serving(rate=0, sendq=262144) as server:
        sender, watcher = await welcomed(server.port, "sender", "watcher")
        await sender.join("lobby")
        await watcher.join("lobby")
        sleeper = await connect_unread(server.port, "sleeper")
        await sleeper.join("lobby")
        await sync(sender)
        await sync(watcher)
        sleeper.writer.transport.pause_reading()  # type: ignore[attr-defined]
        presences: list[Presence] = []

        async def next_seq(client: WireClient) -> int:
            while True:
                message = await client.recv(timeout=10)
                if isinstance(message, Message):
                    return message.seq
                if isinstance(message, Presence):
                    presences.append(message)

        async def read_all(client: WireClient) -> list[int]:
            return [await next_seq(client) for _ in range(count)]

        watching = asyncio.create_task(read_all(watcher))
        echoed: list[int] = []
        started = time.monotonic()
        for i in range(count):
            await sender.send(Say(room="lobby", text=text, id=str(i)))
            if i >= window:  # keep the sender itself a healthy reader
                echoed.append(await next_seq(sender))
        while len(echoed) < count:
            echoed.append(await next_seq(sender))
        watched = await asyncio.wait_for(watching, 30)
        elapsed = time.monotonic() - started
        assert echoed == list(range(1, count + 1))
        assert watched == list(range(1, count + 1))
        for client in (sender, watcher):
            presences.extend(m for m in await sync(client) if isinstance(m, Presence))
        # One copy each for sender and watcher.
        assert [(p.nick, p.event) for p in presences] == [("sleeper", "quit")] * 2
        assert elapsed < 30, f"the room slowed to {elapsed:.1f} s for {count} messages"

        # The sleeper's connection was closed by the server: reading it now ends in EOF.
        sleeper.writer.transport.resume_reading()  # type: ignore[attr-defined]
        leftovers = await hung_up(sleeper, timeout=10)
        received = [m for m in leftovers if isinstance(m, Message)]
        assert len(received) < count, "the sleeper was never dropped"
        await still_open(watcher)
        await close_all([sender, watcher])


def random_garbage(rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    size = rng.randrange(1, 600)
    if kind == 0:
        return rng.randbytes(size)
    if kind == 1:  # a plausible header, then random body bytes
        return frame(rng.randbytes(size))
    if kind == 2:  # a valid JSON object of random fields
        obj = {
            rng.choice(["type", "room", "text", "nick", "id", "to", "limit"]): rng.choice(
                ["say", "join", "hello", "", 5, None, [1], {"a": "b"}, "x" * 70, -1]
            )
            for _ in range(rng.randrange(1, 6))
        }
        return frame(json.dumps(obj).encode())
    if kind == 3:  # a good hello followed by garbage
        return encode(Hello(nick=f"g{rng.randrange(10**6)}", protocol=1)) + rng.randbytes(size)
    return rng.randbytes(4) + rng.randbytes(size)


async def test_random_bytes_on_one_connection_never_stop_the_server_serving_another() -> None:
    rng = random.Random(20240605)
    async with serving(rate=0) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await bob.join("lobby")
        await sync(alice)
        for round_ in range(40):
            noise = await WireClient.connect(server.port)
            data = random_garbage(rng)
            for start in range(0, len(data), rng.randrange(1, 200)):
                await noise.send_raw(data[start : start + 200])
            if rng.random() < 0.5:
                await noise.close()
            else:
                await noise.send(Ping(token="n"))
                # Still open after a recoverable error: we hang up ourselves.
                with contextlib.suppress(TimeoutError):
                    await hung_up(noise, timeout=0.2)
                await noise.close()
            await alice.send(Say(room="lobby", text=f"round {round_}"))
            message = await bob.recv_until(Message)
            assert message.text == f"round {round_}"
            await alice.recv_until(Message)
        fresh = await connect_welcomed(server.port, "fresh")
        await fresh.send(Ping(token="ok"))
        assert await fresh.expect(Pong) == Pong(token="ok")
        await close_all([alice, bob, fresh])
