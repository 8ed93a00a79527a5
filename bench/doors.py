"""The two doors' own CPU per delivery, in one process, without sockets.

    python bench/doors.py                      # 50 members, 20,000 messages
    python bench/doors.py --members 25 --batch 4

One hub, one native door and one IRC door; ``--members`` connections of one
door join a room and the first of them says ``--messages`` messages of 100
characters, ``--batch`` per read.  Transports are stand-ins that count the
bytes written, so what is measured is the door's parsing and rendering and
the hub's fan-out, not the kernel: the figures isolate what a door costs, and
``bench/compare.py --servers hubbub,hubbub-irc`` measures the same over real
sockets.  A native message reaches every member (its sender gets the echo),
an IRC one every member but its sender (no ``echo-message``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from chat_server.config import Config
from chat_server.doors.base import Connection, Door, Outbox
from chat_server.doors.irc.door import IrcDoor
from chat_server.doors.native import NativeDoor
from chat_server.hub import Hub
from chat_server.storage import make_store
from protocol import frame


class CountingTransport:
    """Just enough of ``asyncio.Transport`` for a door: it counts what is written."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.written = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", self.number) if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def register(kind: str, connection: Connection, number: int) -> None:
    if kind == "native":
        for body in (
            {"type": "hello", "nick": f"b{number}", "protocol": 1},
            {"type": "join", "room": "bench"},
        ):
            connection.data_received(frame(json.dumps(body).encode()))
    else:
        connection.data_received(f"NICK b{number}\r\nUSER b 0 * :b\r\nJOIN #bench\r\n".encode())


async def measure(kind: str, members: int, messages: int, batch: int) -> float:
    """Server CPU seconds per delivery of ``messages`` through door ``kind``."""
    config = Config(host="127.0.0.1", port=0, rate=0, max_per_address=0, no_advertise=True)
    hub = Hub(config, make_store(config), server_name="bench")
    await hub.open()
    outbox = Outbox(asyncio.get_running_loop(), 0.0)
    door: Door = (NativeDoor if kind == "native" else IrcDoor)(
        hub, config, outbox, clock=time.monotonic
    )
    connections = []
    for number in range(members):
        connection = door.connection()  # type: ignore[attr-defined]
        connection.connection_made(CountingTransport(number))
        register(kind, connection, number)
        connections.append(connection)
    await asyncio.sleep(0.01)
    text = "x" * 100
    if kind == "native":
        one = frame(json.dumps({"type": "say", "room": "bench", "text": text}).encode())
    else:
        one = f"PRIVMSG #bench :{text}\r\n".encode()
    sender, chunk = connections[0], one * batch
    started = time.process_time()
    for _ in range(messages // batch):
        sender.data_received(chunk)
        await asyncio.sleep(0)  # the write round
    await asyncio.sleep(0)
    cpu = time.process_time() - started
    deliveries = messages // batch * batch * (members if kind == "native" else members - 1)
    return cpu / deliveries


async def run(args: argparse.Namespace) -> None:
    results: dict[str, list[float]] = {"native": [], "irc": []}
    for _ in range(args.rounds):
        for kind in results:
            results[kind].append(await measure(kind, args.members, args.messages, args.batch))
    for kind, figures in results.items():
        best = min(figures) * 1e6
        print(f"{kind:6}: {best:.3f} µs per delivery (best of {args.rounds})")
    ratio = min(results["irc"]) / min(results["native"])
    print(f"IRC / native: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=1, help="messages per read")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
