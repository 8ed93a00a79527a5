"""Side connections for the file-sharing tests: real loopback sockets, raw bytes after a frame."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl

from protocol import (
    Bye,
    Decoder,
    DownloadTicket,
    Error,
    FileGet,
    FileInfo,
    FileOffer,
    ServerMessage,
    Transfer,
    TransferDone,
    TransferReady,
    UploadTicket,
    encode,
    parse_server,
)
from tests.wire import DEFAULT_TIMEOUT, WireClient


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Side:
    """One side connection: ``transfer``, then frames and raw bytes as the server sends them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder(max_frame=1 << 20)

    @classmethod
    async def open(
        cls,
        port: int,
        token: str,
        offset: int | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        first: bytes = b"",
    ) -> Side:
        """Connect and send ``transfer`` (after ``first``, e.g. a ping), nothing else."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=tls, limit=1 << 20), DEFAULT_TIMEOUT
        )
        writer.write(first + encode(Transfer(token=token, offset=offset)))
        await writer.drain()
        return cls(reader, writer)

    async def frame(self, timeout: float = DEFAULT_TIMEOUT) -> ServerMessage:
        """The next frame from the server; raises ``ConnectionError`` at the end."""

        async def read() -> ServerMessage:
            while (body := self.decoder.next_frame()) is None:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("the server closed the side connection")
                self.decoder.feed(data)
            return parse_server(body)

        return await asyncio.wait_for(read(), timeout)

    async def ready(self) -> TransferReady:
        message = await self.frame()
        assert isinstance(message, TransferReady), f"expected transfer_ready, got {message!r}"
        return message

    async def refused(self, code: str) -> Error:
        """Expect ``error`` ``code``, then ``bye`` ``code``, then the end of the connection."""
        error = await self.frame()
        assert isinstance(error, Error), f"expected error {code}, got {error!r}"
        assert error.code == code, f"expected error {code}, got {error!r}"
        bye = await self.frame()
        assert bye == Bye(reason=code)
        assert await self.rest() == b""
        return error

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def rest(self, timeout: float = 20.0) -> bytes:
        """Every byte until the server closes (what the decoder held first); then close."""
        data = bytearray(self.decoder.drain())

        async def read() -> None:
            while chunk := await self.reader.read(1 << 20):
                data.extend(chunk)

        with contextlib.suppress(ConnectionResetError):
            await asyncio.wait_for(read(), timeout)
        await self.close()
        return bytes(data)

    def abort(self) -> None:
        self.writer.transport.abort()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


async def offer(
    client: WireClient,
    data: bytes,
    *,
    room: str | None = None,
    to: str | None = None,
    name: str = "notes.txt",
    id: str | None = None,
) -> UploadTicket:
    await client.send(
        FileOffer(room=room, to=to, name=name, size=len(data), sha256=sha(data), id=id)
    )
    return await client.recv_until(UploadTicket)


async def upload(port: int, client: WireClient, data: bytes, **where: str) -> FileInfo:
    """Offer ``data`` in a room (``room=``) or to a nick (``to=``) and upload it whole."""
    ticket = await offer(client, data, **where)
    side = await Side.open(port, ticket.token)
    ready = await side.ready()
    await side.send(data[ready.offset :])
    done = await side.frame()
    assert isinstance(done, TransferDone), f"expected transfer_done, got {done!r}"
    assert await side.rest() == b""
    await side.close()
    return done.file


async def ticket_for(client: WireClient, file_id: str) -> DownloadTicket:
    await client.send(FileGet(file=file_id))
    while True:
        message = await client.recv()
        if isinstance(message, DownloadTicket):
            return message
        assert not isinstance(message, Error), f"expected download_ticket, got {message!r}"


async def download(port: int, client: WireClient, file_id: str, offset: int | None = None) -> bytes:
    """Fetch a file's bytes from ``offset`` on, as ``client``'s ticket allows."""
    ticket = await ticket_for(client, file_id)
    side = await Side.open(port, ticket.token, offset)
    ready = await side.ready()
    assert (ready.offset, ready.size) == (offset or 0, ticket.file.size)
    data = await side.rest()
    await side.close()
    return data
