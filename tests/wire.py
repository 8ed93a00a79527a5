"""A minimal raw-socket client for tests: real loopback TCP, our own codec."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any, TypeVar

from pydantic import BaseModel

from protocol import (
    PROTOCOL_VERSION,
    Decoder,
    Hello,
    Join,
    Joined,
    ServerMessage,
    Welcome,
    encode,
    frame,
    parse_server,
)

T = TypeVar("T")
DEFAULT_TIMEOUT = 5.0


class WireClient:
    """One connection to a server under test.

    ``recv()`` returns the next validated server message; ``expect(Type)``
    returns the next one and asserts its class.  ``closed()`` reads until EOF.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder(max_frame=2**31)
        self.nick: str | None = None

    @classmethod
    async def connect(
        cls, port: int, host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None
    ) -> WireClient:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=tls, limit=2**20), DEFAULT_TIMEOUT
        )
        return cls(reader, writer)

    async def send(self, message: BaseModel | dict[str, Any]) -> None:
        if isinstance(message, BaseModel):
            data = encode(message)
        else:
            import json

            data = frame(json.dumps(message).encode())
        await self.send_raw(data)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, timeout: float = DEFAULT_TIMEOUT) -> ServerMessage:
        async def read() -> ServerMessage:
            while True:
                body = self.decoder.next_frame()
                if body is not None:
                    return parse_server(body)
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("connection closed by the server")
                self.decoder.feed(data)

        return await asyncio.wait_for(read(), timeout)

    async def expect(self, kind: type[T], timeout: float = DEFAULT_TIMEOUT) -> T:
        message = await self.recv(timeout)
        assert isinstance(message, kind), f"expected {kind.__name__}, got {message!r}"
        return message

    async def recv_until(self, kind: type[T], timeout: float = DEFAULT_TIMEOUT) -> T:
        """Skip messages until one of class ``kind`` arrives."""

        async def wait() -> T:
            while True:
                message = await self.recv(timeout)
                if isinstance(message, kind):
                    return message

        return await asyncio.wait_for(wait(), timeout)

    async def closed(self, timeout: float = DEFAULT_TIMEOUT) -> list[ServerMessage]:
        """Read until EOF and return every message received on the way."""
        received: list[ServerMessage] = []

        async def drain() -> None:
            while True:
                try:
                    received.append(await self.recv(timeout))
                except (ConnectionError, OSError):
                    return

        await asyncio.wait_for(drain(), timeout)
        return received

    async def hello(self, nick: str, password: str | None = None) -> Welcome:
        await self.send(Hello(nick=nick, protocol=PROTOCOL_VERSION, password=password))
        welcome = await self.expect(Welcome)
        self.nick = welcome.nick
        return welcome

    async def join(self, room: str) -> Joined:
        await self.send(Join(room=room))
        return await self.recv_until(Joined)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


async def connect_welcomed(
    port: int, nick: str, *, host: str = "127.0.0.1", password: str | None = None
) -> WireClient:
    client = await WireClient.connect(port, host)
    await client.hello(nick, password)
    return client
