"""Sending stored bytes down a connection: zero-copy where the kernel can, in chunks under TLS.

:func:`send_file` uses ``os.sendfile`` (the kernel copies from the page
cache to the socket; Python never sees the bytes) on a plain TCP transport,
and reads and writes chunks where TLS must encrypt them in user space.

It drives ``os.sendfile`` itself instead of calling ``loop.sendfile``: uvloop,
which the server runs on, does not implement ``loop.sendfile`` at all, and
asyncio's gives no sign of progress until the whole count is sent, while a
stalled reader must be noticed (``--ping-timeout``).  The transport stays
the socket's owner: its output is drained and its reading paused first, and
the kernel is driven through a duplicate descriptor, which the event loop
watches for room to write.  Each ``os.sendfile`` call runs in the files
executor, because a file not in the page cache is read from the disk inside
that call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

#: Bytes read at once when TLS rules out zero-copy.
CHUNK = 256 * 1024
#: Most bytes one ``os.sendfile`` call is asked for.
SENDFILE_MAX = 64 * 1024 * 1024

Runner = Callable[[Callable[[], Any]], Awaitable[Any]]


def zero_copy_possible(transport: asyncio.BaseTransport) -> bool:
    """Whether ``transport`` is a plain socket the kernel can send a file into."""
    if transport.get_extra_info("sslcontext") is not None:
        return False
    if transport.get_extra_info("ssl_object") is not None:
        return False
    return hasattr(os, "sendfile") and transport.get_extra_info("socket") is not None


async def send_file(
    transport: asyncio.Transport,
    writable: asyncio.Event,
    file: BinaryIO,
    offset: int,
    count: int,
    *,
    run: Runner,
    progress: Callable[[int], None],
) -> None:
    """Send ``count`` bytes of ``file`` from ``offset`` down ``transport``.

    ``writable`` is set while the transport's buffer is below its high-water
    mark (the protocol's ``pause_writing``/``resume_writing``); ``run`` runs
    blocking work in the files executor; ``progress(n)`` is called as ``n``
    more bytes leave.  Raises ``OSError`` if the peer goes away or the file
    ends early.
    """
    if zero_copy_possible(transport):
        await _zero_copy(transport, writable, file, offset, count, run, progress)
    else:
        await _chunked(transport, writable, file, offset, count, run, progress)


async def _zero_copy(
    transport: asyncio.Transport,
    writable: asyncio.Event,
    file: BinaryIO,
    offset: int,
    count: int,
    run: Runner,
    progress: Callable[[int], None],
) -> None:
    loop = asyncio.get_running_loop()
    while transport.get_write_buffer_size():  # what was written first must go first
        writable.clear()
        await writable.wait()
    transport.pause_reading()
    socket = transport.get_extra_info("socket")
    fd = os.dup(socket.fileno())
    try:
        source = file.fileno()
        end = offset + count
        while offset < end:
            call = functools.partial(
                os.sendfile, fd, source, offset, min(end - offset, SENDFILE_MAX)
            )
            try:
                sent: int = await run(call)
            except BlockingIOError:
                await _room_to_write(loop, fd)
                continue
            if sent == 0:
                raise OSError(f"the file ended {end - offset} bytes early")
            offset += sent
            progress(sent)
    finally:
        os.close(fd)


async def _room_to_write(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    ready = loop.create_future()
    loop.add_writer(fd, ready.set_result, None)
    try:
        await ready
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_writer(fd)


async def _chunked(
    transport: asyncio.Transport,
    writable: asyncio.Event,
    file: BinaryIO,
    offset: int,
    count: int,
    run: Runner,
    progress: Callable[[int], None],
) -> None:
    source = file.fileno()
    end = offset + count
    while offset < end:
        chunk: bytes = await run(
            functools.partial(os.pread, source, min(CHUNK, end - offset), offset)
        )
        if not chunk:
            raise OSError(f"the file ended {end - offset} bytes early")
        if transport.is_closing():
            raise ConnectionResetError("the connection closed")
        transport.write(chunk)
        offset += len(chunk)
        progress(len(chunk))
        if not writable.is_set():
            await writable.wait()
