"""Side connections: the bytes of one shared file, sent or fetched with a ticket.

A ticket comes from the chat connection (``upload_ticket`` or
``download_ticket``); :func:`push` and :func:`pull` open a second connection
to the same server (TLS if the chat connection is), send ``transfer`` and
move the raw bytes, reporting progress as they go.  File work runs in
threads, so the chat stays live while a file moves.

Every failure is a :class:`TransferError` whose ``str()`` is one line for
people (a server's words in it are not sanitised yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from protocol import (
    Bye,
    Decoder,
    Error,
    FileInfo,
    MessageError,
    Ping,
    Pong,
    ServerMessage,
    Transfer,
    TransferDone,
    TransferReady,
    encode,
    parse_server,
)

from .link import Endpoint

__all__ = ["CHUNK", "TransferError", "hash_file", "pull", "push"]

#: Bytes moved between two progress reports (and read from the disk at once).
CHUNK = 1024 * 1024
#: Seconds to wait for the server on a side connection before giving up.
PATIENCE = 60.0

Progress = Callable[[int], None]


class TransferError(Exception):
    """A transfer failed; ``str()`` is one line for people."""

    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.code = code


def hash_file(file: BinaryIO, end: int, progress: Progress | None = None) -> hashlib._Hash:
    """The sha256 of ``file``'s first ``end`` bytes (blocking: run it in a thread)."""
    digest = hashlib.sha256()
    file.seek(0)
    done = 0
    while done < end:
        chunk = file.read(min(CHUNK, end - done))
        if not chunk:
            raise OSError(f"{file.name} ended after {done} bytes")
        digest.update(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done)
    return digest


class _Side:
    """One side connection: frames until ``transfer_ready``, then raw bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder(max_frame=1 << 20)

    @classmethod
    async def open(cls, endpoint: Endpoint, token: str, offset: int | None) -> _Side:
        try:
            async with asyncio.timeout(PATIENCE):
                reader, writer = await asyncio.open_connection(
                    endpoint.host,
                    endpoint.port,
                    ssl=endpoint.tls,
                    server_hostname=endpoint.host if endpoint.tls else None,
                    limit=CHUNK,
                )
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            raise TransferError(f"cannot open a transfer connection to {endpoint}: {exc}") from None
        side = cls(reader, writer)
        writer.write(encode(Transfer(token=token, offset=offset)))
        return side

    async def frame(self) -> ServerMessage:
        """The next frame the server sends (answering its pings); raises on anything odd."""
        while True:
            try:
                body = self.decoder.next_frame()
            except MessageError as exc:
                raise TransferError(f"a broken frame from the server: {exc}") from None
            if body is None:
                data = await self.read()
                if not data:
                    raise TransferError("the server closed the transfer connection")
                self.decoder.feed(data)
                continue
            try:
                message = parse_server(body)
            except MessageError:
                continue
            if isinstance(message, Ping):
                self.writer.write(encode(Pong(token=message.token)))
                continue
            if isinstance(message, Error):
                raise TransferError(f"{message.message} ({message.code})", message.code)
            if isinstance(message, Bye):
                raise TransferError(f"the server said bye: {message.reason}", message.reason)
            return message

    async def ready(self) -> TransferReady:
        message = await self.frame()
        if not isinstance(message, TransferReady):
            raise TransferError(f"expected transfer_ready, the server sent {message.type}")
        return message

    async def read(self) -> bytes:
        try:
            async with asyncio.timeout(PATIENCE):
                return await self.reader.read(CHUNK)
        except TimeoutError:
            raise TransferError(f"the server sent nothing for {PATIENCE:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            raise TransferError(f"the transfer connection broke: {exc}") from None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self.writer.wait_closed()


async def push(
    endpoint: Endpoint, token: str, path: Path, size: int, progress: Progress
) -> FileInfo:
    """Upload ``path`` (``size`` bytes) with an upload ticket; returns the shared file.

    Sends from the offset the server names in ``transfer_ready`` (what it kept of
    an interrupted upload).  Raises :class:`TransferError`.
    """
    side = await _Side.open(endpoint, token, None)
    try:
        ready = await side.ready()
        if ready.size != size or not 0 <= ready.offset <= size:
            raise TransferError(f"the server expects {ready.size} bytes from {ready.offset}")
        progress(ready.offset)
        loop = asyncio.get_running_loop()
        with await asyncio.to_thread(path.open, "rb") as file:
            offset = ready.offset
            while offset < size:
                count = min(4 * CHUNK, size - offset)
                try:
                    await loop.sendfile(side.writer.transport, file, offset, count)
                    await side.writer.drain()
                except (OSError, ssl.SSLError, RuntimeError) as exc:
                    raise TransferError(f"the transfer connection broke: {exc}") from None
                offset += count
                progress(offset)
        done = await side.frame()
        if not isinstance(done, TransferDone):
            raise TransferError(f"expected transfer_done, the server sent {done.type}")
        return done.file
    finally:
        await side.close()


async def pull(
    endpoint: Endpoint,
    token: str,
    part: Path,
    info: FileInfo,
    progress: Progress,
    started: Progress,
) -> None:
    """Download ``info``'s file into ``part``, resuming from the bytes it holds, and check
    the whole file's sha256.  ``started(n)`` says how many bytes ``part`` held.

    Raises :class:`TransferError` (``file_corrupt`` if the hash is wrong: ``part``
    is then deleted).
    """
    file, kept = await asyncio.to_thread(_open_part, part, info.size)
    started(kept)
    try:
        digest = await asyncio.to_thread(hash_file, file, kept)
        file.seek(kept)
        side = await _Side.open(endpoint, token, kept or None)
        try:
            ready = await side.ready()
            if (ready.offset, ready.size) != (kept, info.size):
                raise TransferError(f"the server sends {ready.size} bytes from {ready.offset}")
            done = kept
            progress(done)
            data = side.decoder.drain()
            while True:
                if data:
                    data = data[: info.size - done]
                    await asyncio.to_thread(_append, file, digest, data)
                    done += len(data)
                    progress(done)
                if done >= info.size:
                    break
                data = await side.read()
                if not data:
                    raise TransferError(f"the server stopped after {done} of {info.size} bytes")
        finally:
            await side.close()
    finally:
        await asyncio.to_thread(file.close)
    if digest.hexdigest() != info.sha256:
        await asyncio.to_thread(part.unlink, missing_ok=True)
        raise TransferError("the file arrived corrupt (wrong sha256): deleted", "file_corrupt")


def _open_part(part: Path, size: int) -> tuple[BinaryIO, int]:
    """``part`` opened for writing, and the bytes it keeps (none if more than ``size``)."""
    fd = os.open(part, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    file = os.fdopen(fd, "r+b")
    kept = os.fstat(fd).st_size
    if kept > size:
        file.truncate(0)
        kept = 0
    return file, kept


def _append(file: BinaryIO, digest: hashlib._Hash, data: bytes) -> None:
    file.write(data)
    digest.update(data)
