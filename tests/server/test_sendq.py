"""--sendq is counted after the bytes were offered to the kernel (docs/protocol.md).

A member whose socket takes a burst is never dropped for the burst's size,
however many messages arrived in one read; a member that stops reading is.
This needs a real server process: in the test's own event loop the server
and the readers take turns, and the kernel always has time to take a burst.
The readers run in threads and only tell frames apart, as prompt as readers
can be.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import threading
from collections.abc import Callable

from protocol import Bye, Decoder, frame
from tests.client.processes import ChatServer
from tests.wire import WireClient, connect_welcomed

TEXT = "x" * 50_000
#: Messages each round, and how many the sender keeps ahead of its slower reader.
TOTAL, AHEAD = 200, 8


def count_messages(sock: socket.socket, count: int, each: Callable[[], None] | None = None) -> str:
    """Read ``sock`` until ``count`` messages arrived: ``ok``, or why not.

    Runs in a thread of its own, reading as soon as bytes arrive and only
    telling frames apart, so that it is as prompt as a reader can be.
    """
    decoder = Decoder(max_frame=2**20)
    got = 0
    sock.settimeout(10)
    while got < count:
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            return f"nothing for 10 s after {got} messages"
        if not data:
            return f"closed after {got} messages"
        decoder.feed(data)
        for body in decoder:
            if body.startswith(b'{"type":"message"'):
                got += 1
                if each is not None:
                    each()
            elif body.startswith(b'{"type":"bye"'):
                return f"bye {json.loads(body)['reason']} after {got} messages"
    return "ok"


async def reading(client: WireClient, count: int, each: Callable[[], None] | None = None) -> str:
    """:func:`count_messages` on ``client``'s socket, in a thread."""
    transport = client.writer.transport
    transport.pause_reading()  # type: ignore[attr-defined]
    sock = transport.get_extra_info("socket")
    raw = socket.socket(fileno=os.dup(sock.fileno()))
    try:
        return await asyncio.to_thread(count_messages, raw, count, each)
    finally:
        raw.close()


async def one_round(port: int, number: int) -> tuple[str, str, list[str]]:
    sender, reader = [await connect_welcomed(port, f"{n}{number}") for n in ("sender", "reader")]
    stalled = await connect_welcomed(port, f"stalled{number}")
    room = f"burst{number}"
    for client in (stalled, sender, reader):
        await client.join(room)
    stalled.writer.transport.pause_reading()  # type: ignore[attr-defined]
    say = frame(json.dumps({"type": "say", "room": room, "text": TEXT}).encode())
    loop = asyncio.get_running_loop()
    # The sender stays AHEAD messages ahead of the slower of its two readers:
    # a reader that cannot keep up with the room is slow, not prompt.
    in_flight = asyncio.Semaphore(AHEAD)
    counts = {"sender": 0, "reader": 0}
    lock = threading.Lock()

    def received(who: str) -> None:
        with lock:
            before = min(counts.values())
            counts[who] += 1
            if min(counts.values()) > before:
                loop.call_soon_threadsafe(in_flight.release)

    readers = [
        asyncio.create_task(reading(client, TOTAL, functools.partial(received, who)))
        for who, client in (("sender", sender), ("reader", reader))
    ]
    for _ in range(TOTAL):
        permit = asyncio.ensure_future(in_flight.acquire())
        await asyncio.wait([permit, *readers], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if not permit.done():  # a reader gave up: no more echoes will come
            permit.cancel()
            break
        sender.writer.write(say)
        await sender.writer.drain()
    sender_result, reader_result = [await asyncio.wait_for(task, 30) for task in readers]
    stalled.writer.transport.resume_reading()  # type: ignore[attr-defined]
    stalled_byes = [m.reason for m in await stalled.closed(10) if isinstance(m, Bye)]
    for client in (sender, reader, stalled):
        await client.close()
    return sender_result, reader_result, stalled_byes


async def test_prompt_readers_take_every_burst_and_a_stalled_member_is_dropped() -> None:
    server = ChatServer("--sendq", "65536", "--max-text", "50000", "--rate", "0").start()
    try:
        for number in range(4):
            sender, reader, stalled = await one_round(server.port, number)
            assert (sender, reader) == ("ok", "ok"), f"round {number}"
            assert stalled == ["sendq_exceeded"], f"round {number}"
    finally:
        server.stop()
