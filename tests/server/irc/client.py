"""A small IRC client for the gateway's tests: real loopback TCP, one line at a time.

Lines are read with the gateway's own :class:`IrcMessage` parser (tested on
its own in ``test_wire.py``); what a test asserts is mostly the raw line, so
the exact bytes a real client would see are checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from chat_server.doors.irc.wire import IrcMessage
from chat_server.server import Server
from tests.server.helpers import SHARED_SETTLE, serving, shared_store

TIMEOUT = 5.0
_tokens = itertools.count()
#: Every capability the gateway offers.
ALL_CAPS = (
    "away-notify",
    "batch",
    "draft/chathistory",
    "echo-message",
    "message-tags",
    "multi-prefix",
    "server-time",
    "standard-replies",
)


@dataclass(frozen=True)
class Line:
    """One received line: its text (without CRLF) and its parsed message."""

    raw: str
    message: IrcMessage

    @property
    def command(self) -> str:
        return self.message.command

    @property
    def params(self) -> list[str]:
        return self.message.params

    @property
    def tags(self) -> dict[str, str]:
        return self.message.tags

    @property
    def source(self) -> str | None:
        return self.message.source

    def __str__(self) -> str:
        return self.raw


class IrcClient:
    """One IRC connection to a server under test."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.nick = "*"

    @classmethod
    async def connect(cls, port: int, *, rcvbuf: int | None = None) -> IrcClient:
        """Connect to ``127.0.0.1:port``; ``rcvbuf`` shrinks the kernel's receive buffer."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.wait_for(
            asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port)), TIMEOUT
        )
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**20)
        return cls(reader, writer)

    async def send(self, *lines: str) -> None:
        self.writer.write(b"".join(line.encode() + b"\r\n" for line in lines))
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, timeout: float = TIMEOUT) -> Line:
        data = await asyncio.wait_for(self.reader.readline(), timeout)
        if not data:
            raise ConnectionError("connection closed by the server")
        assert data.endswith(b"\r\n"), f"a line without CRLF: {data!r}"
        raw = data[:-2].decode()
        return Line(raw, IrcMessage.parse(raw))

    async def until(self, command: str, *params: str, timeout: float = TIMEOUT) -> list[Line]:
        """Every line up to and including the first ``command`` whose parameters
        after the first (the nick, in a numeric) start with ``params``."""

        async def read() -> list[Line]:
            seen: list[Line] = []
            while True:
                line = await self.recv(timeout)
                seen.append(line)
                if line.command == command and line.params[1 : 1 + len(params)] == list(params):
                    return seen
                if line.command == command and not params:
                    return seen

        return await asyncio.wait_for(read(), timeout)

    async def expect(self, command: str, timeout: float = TIMEOUT) -> Line:
        """The next line, which must be ``command``."""
        line = await self.recv(timeout)
        assert line.command == command, f"expected {command}, got {line}"
        return line

    async def sync(self, timeout: float = TIMEOUT) -> list[Line]:
        """Every line the server queued for us before now (a PING's PONG ends them).

        On a shared store (Redis) what we caused comes back through the store,
        after a PONG sent at once: first give it a moment, as ``helpers.sync`` does.
        """
        if shared_store():
            await asyncio.sleep(SHARED_SETTLE)
        token = f"sync{next(_tokens)}"
        await self.send(f"PING {token}")

        async def read() -> list[Line]:
            seen: list[Line] = []
            while True:
                line = await self.recv(timeout)
                if line.command == "PONG" and line.params[-1] == token:
                    return seen
                seen.append(line)

        return await asyncio.wait_for(read(), timeout)

    async def register(
        self,
        nick: str,
        *,
        caps: Iterable[str] = (),
        password: str | None = None,
        user: str | None = None,
    ) -> list[Line]:
        """Register as ``nick`` (negotiating ``caps``); the burst up to MOTD's end or 422."""
        caps = list(caps)
        lines = []
        if caps:
            lines += ["CAP LS 302", f"CAP REQ :{' '.join(caps)}", "CAP END"]
        if password is not None:
            lines.append(f"PASS {password}")
        lines += [f"NICK {nick}", f"USER {user or nick} 0 * :{nick} the tester"]
        await self.send(*lines)
        burst = []
        while True:
            line = await self.recv()
            burst.append(line)
            if line.command in ("376", "422"):
                break
            assert line.command not in ("433", "432", "464", "ERROR"), f"refused: {line}"
        self.nick = nick
        return burst

    async def join(self, *channels: str) -> list[Line]:
        """Join ``channels`` and return everything up to the last one's 366 (and batch)."""
        await self.send(f"JOIN {','.join(channels)}")
        lines: list[Line] = []
        for channel in channels:
            lines += await self.until("366", channel)
        return lines + await self.sync()

    async def closed(self, timeout: float = TIMEOUT) -> list[Line]:
        """Read until the server closes the connection; every line on the way."""
        lines: list[Line] = []

        async def drain() -> None:
            while True:
                try:
                    lines.append(await self.recv(timeout))
                except (ConnectionError, OSError):
                    return

        await asyncio.wait_for(drain(), timeout)
        return lines

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


async def registered(port: int, nick: str, *, caps: Iterable[str] = ()) -> IrcClient:
    client = await IrcClient.connect(port)
    await client.register(nick, caps=caps)
    return client


@asynccontextmanager
async def gateway(**changes: object) -> AsyncIterator[Server]:
    """A running server with its IRC gateway on a free loopback port."""
    settings: dict[str, object] = {"irc_port": 0, "irc_server_name": "irc.test"}
    settings.update(changes)
    async with serving(**settings) as server:
        yield server


def irc_port(server: Server) -> int:
    port = server.irc_port
    assert port is not None
    return port
