"""The transfer door: side connections that carry a shared file's bytes (docs/protocol.md, "Files").

A side connection arrives on the chat port like any other; the native door
sees that its first frame (after any ``ping``/``pong``) is ``transfer`` and
hands the transport over with :meth:`TransferDoor.adopt`, together with the
bytes it had already read past that frame, which are the start of an upload.

The ticket decides the direction:

- an upload answers ``transfer_ready``, reads exactly ``size - offset`` raw
  bytes into an :class:`~chat_server.files.UploadSink` (on plain TCP the files
  threads take them from the socket themselves, :meth:`UploadSink.pull`; under
  TLS the transport decrypts and feeds them, one read per turn of the loop),
  checks the ``sha256``, stores the content, shares the file
  (:meth:`Hub.publish`) and answers ``transfer_done``; an upload cut short
  keeps its bytes to resume;
- a download answers ``transfer_ready`` and sends the stored bytes from the
  asked ``offset`` (:func:`~chat_server.doors.sendfile.send_file`), then closes.

Refusals are ``error`` then ``bye`` with the same code, then the close.  A
side connection that moves no byte either way for ``--ping-timeout`` seconds
is closed; a download, being inside its byte stream, gets no frame first.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from collections.abc import Callable
from typing import Literal

from protocol import Bye, Error, ErrorCode, FileInfo, Transfer, TransferDone, TransferReady, encode

from ..config import Config
from ..files import Files, PartialKey, UploadSink
from ..hub import Hub, Out, Seat, Ticket
from .base import Connection, Door, Outbox
from .sendfile import CHUNK, send_file, zero_copy_possible

log = logging.getLogger(__name__)

#: The kernel send buffer asked for a download (the chat port asks for a small one).
DOWNLOAD_SNDBUF = 4 * 1024 * 1024

Mode = Literal["opening", "upload", "finishing", "stopping", "download", "done"]


class TransferDoor(Door):
    """The side connections of one listener; the native door hands them over."""

    via = "transfer"

    def __init__(
        self,
        hub: Hub,
        config: Config,
        outbox: Outbox,
        files: Files,
        *,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(hub, config, outbox, clock=clock)
        self.files = files

    def adopt(
        self, transport: asyncio.Transport, seat: Seat, request: Transfer, rest: bytes, peer: str
    ) -> None:
        """Take over ``transport`` (its first frame was ``request``; ``rest`` came after it)."""
        connection = TransferConnection(self, transport, seat, peer)
        self.connections.add(connection)
        self.hub.hand_over(seat, connection)
        transport.set_protocol(connection)
        connection.begin(request, rest)


class TransferConnection(Connection):
    """One side connection; see the module docstring."""

    door: TransferDoor

    def __init__(self, door: TransferDoor, transport: asyncio.Transport, seat: Seat, peer: str):
        super().__init__(door)
        self.transport = transport
        self.seat = seat
        self.peer = peer
        self.mode: Mode = "opening"
        self.ticket: Ticket | None = None
        self.sink: UploadSink | None = None
        self.remaining = 0
        self._task: asyncio.Task[None] | None = None
        #: Set while the transport takes more output (``pause_writing``/``resume_writing``).
        self._writable = asyncio.Event()
        self._writable.set()
        #: The last frame before a close that needs no ``bye`` (``transfer_done``).
        self._last: bytes | None = None
        #: Reading waits for the next turn of the loop, or for the disk.
        self._turn_taken = False
        self._disk_busy = False
        #: The duplicate socket descriptor a pulling upload reads (-1: none).
        self._direct = -1

    # --- starting --------------------------------------------------------------------

    def begin(self, request: Transfer, rest: bytes) -> None:
        """Redeem the ticket of ``request`` and start; ``rest`` is the upload's first bytes.

        An upload resumed right after its last transfer ended (a dropped link, a
        full disk) first waits for that transfer's last writes, so that it is not
        refused ``rate_limited`` and starts from every byte that reached the disk.
        """
        key = self.hub.upload_key(request.token)
        if key is not None and self.door.files.busy(key):
            self.transport.pause_reading()
            self._task = asyncio.get_running_loop().create_task(
                self._begin_settled(key, request, rest)
            )
            return
        self._begin(request, rest)

    async def _begin_settled(self, key: PartialKey, request: Transfer, rest: bytes) -> None:
        with contextlib.suppress(TimeoutError):  # then refused rate_limited, the ticket good
            async with asyncio.timeout(self.door.config.ping_timeout):
                await self.door.files.settle(key)
        self.transport.resume_reading()
        self._begin(request, rest)

    def _begin(self, request: Transfer, rest: bytes) -> None:
        answer = self.hub.redeem(request.token)
        if isinstance(answer, str):
            self._refuse(answer, _REFUSALS[answer], request)
            return
        self.ticket = answer
        if answer.offer is not None:
            self._upload(answer, rest)
        else:
            self._download(answer, request)

    def _refuse(self, code: ErrorCode, text: str, request: Transfer | None = None) -> None:
        ref = "transfer" if request is not None else None
        msg_id = request.id if request is not None else None
        self.close(code, error=Error(code=code, message=text, ref=ref, id=msg_id))

    # --- uploads ---------------------------------------------------------------------

    def _upload(self, ticket: Ticket, rest: bytes) -> None:
        offer, key = ticket.offer, ticket.key
        assert offer is not None
        assert key is not None
        sink = self.door.files.begin_upload(key)
        if sink is None:  # Tickets.redeem checked: nothing else writes it
            self._refuse("rate_limited", "this file is being uploaded on another connection")
            return
        self.sink = sink
        self.remaining = offer.size - sink.offset
        sink.on_resume = self._resume_reading
        sink.on_error = self._disk_failed
        sink.on_progress = self._alive
        sink.start()
        self.mode = "upload"
        self.transport.write(encode(TransferReady(offset=sink.offset, size=offer.size)))
        self._take(rest)
        if self.mode == "upload" and zero_copy_possible(self.transport):
            # The files threads take the rest from the socket themselves (see UploadSink.pull).
            self.transport.pause_reading()
            self._direct = os.dup(self.transport.get_extra_info("socket").fileno())
            pulled = sink.pull(self._direct, self.remaining)
            self._task = asyncio.get_running_loop().create_task(self._pulling(sink, pulled))

    async def _pulling(self, sink: UploadSink, pulled: asyncio.Future[bool]) -> None:
        if not await pulled:
            if sink.error is None:  # the peer stopped: what arrived is kept
                self.transport.abort()
            return
        self.remaining = 0
        self.mode = "finishing"
        await self._complete(sink)

    def data_received(self, data: bytes) -> None:
        if self.mode == "upload" and not self.closing:
            self._take(data)
            if self.mode == "upload" and not self._turn_taken:
                # One read per turn of the loop, so the chat's frames go in between
                # (uvloop would otherwise read up to 32 chunks in a row).
                self._turn_taken = True
                self.transport.pause_reading()
                asyncio.get_running_loop().call_soon(self._next_turn)

    def _take(self, data: bytes) -> None:
        sink = self.sink
        assert sink is not None
        if data:
            self._alive()
            if len(data) > self.remaining:
                data = data[: self.remaining]  # the server reads exactly size - offset bytes
            self.remaining -= len(data)
            if sink.feed(data):
                self._disk_busy = True
                self.transport.pause_reading()
        if not self.remaining:
            self.mode = "finishing"
            self.transport.pause_reading()
            self._task = asyncio.get_running_loop().create_task(self._complete(sink))

    def _next_turn(self) -> None:
        self._turn_taken = False
        self._read_on()

    def _resume_reading(self) -> None:
        """The disk caught up with what was received."""
        self._disk_busy = False
        self._read_on()

    def _read_on(self) -> None:
        waiting = self._turn_taken or self._disk_busy or self._direct >= 0
        if self.mode == "upload" and not self.closing and not waiting:
            self.transport.resume_reading()

    def _disk_failed(self, exc: OSError) -> None:
        log.warning("an upload from %s failed on the disk: %s", self.peer, exc)
        ticket, sink = self.ticket, self.sink
        if ticket is not None and ticket.key is not None and sink is not None:
            self.door.files.stopping(ticket.key, sink.written)  # what reached the disk is kept
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            self.close("quota_exceeded", error=Error(code="quota_exceeded", message=_FULL))
        else:
            self.close("unavailable", error=Error(code="unavailable", message=_DISK))

    async def _complete(self, sink: UploadSink) -> None:
        ticket = self.ticket
        assert ticket is not None
        offer, key = ticket.offer, ticket.key
        assert offer is not None
        assert key is not None
        files = self.door.files
        try:
            digest = await sink.finish()
        except OSError:  # _disk_failed answered; what was written is kept
            files.stopped(key, sink.written)
            return
        finally:
            self._close_direct()
        if digest != offer.sha256:
            await files.discard(key)
            text = f"the bytes received hash to {digest}, not {offer.sha256}: discarded"
            self.close("file_corrupt", error=Error(code="file_corrupt", message=text))
            return
        try:
            await files.commit(key)
        except OSError as exc:
            files.stopped(key, sink.written)
            self._disk_failed(exc)
            return
        self._end_ticket()  # its reservation is real content now
        shared = self.hub.publish(ticket)
        if isinstance(shared, FileInfo):
            log.info("%s shared %s (%d bytes)", ticket.nick, shared.id, shared.size)
            self._last = encode(TransferDone(file=shared))
            self.close("transfer_done")
            return
        if not files.catalog.uses(offer.sha256):
            await files.disk.delete_content([offer.sha256])
        self.close(shared[0], error=Error(code=shared[0], message=shared[1]))

    # --- downloads -------------------------------------------------------------------

    def _download(self, ticket: Ticket, request: Transfer) -> None:
        record = ticket.record
        assert record is not None
        offset = request.offset or 0
        if offset > record.file.size:
            text = f"offset {offset} is past the end of the file ({record.file.size} bytes)"
            self._refuse("bad_message", text, request)
            return
        self._task = asyncio.get_running_loop().create_task(self._send(record.file, offset))

    async def _send(self, info: FileInfo, offset: int) -> None:
        files = self.door.files
        file = None
        if files.find(info.id, self.door.config.file_ttl) is not None:
            file = await files.disk.open_content(info.sha256)
        if file is None:
            self._refuse("no_such_file", f"the file {info.id} is gone")
            return
        transport = self.transport
        try:
            if zero_copy_possible(transport):
                self._set_sndbuf(DOWNLOAD_SNDBUF)
                transport.set_write_buffer_limits(high=0)
            else:
                transport.set_write_buffer_limits(high=4 * CHUNK)
            self.mode = "download"
            self._alive()
            transport.write(encode(TransferReady(offset=offset, size=info.size)))
            await send_file(
                transport,
                self._writable,
                file,
                offset,
                info.size - offset,
                run=files.disk.run,
                progress=lambda sent: self._alive(),
            )
        except OSError as exc:
            log.info("a download to %s ended: %s", self.peer, exc)
            transport.abort()
            return
        finally:
            file.close()
        self.mode = "done"
        self.closing = True
        transport.close()

    def _set_sndbuf(self, size: int) -> None:
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    # --- flow, liveness and the end --------------------------------------------------

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def eof_received(self) -> bool | None:
        """The peer is done sending: fine once an upload is whole, or for a download."""
        if self.closing or self.mode == "upload":
            return None  # done, or cut short: the transport closes (the bytes are kept)
        return True

    def _alive(self) -> None:
        self.last_received = self.door.clock()

    def check_liveness(self, now: float) -> None:
        if self.closing or self.mode in ("opening", "finishing", "stopping"):
            return
        if now - self.last_received >= self.door.config.ping_timeout:
            self.close("ping_timeout")

    def close(
        self, reason: str, *, error: Error | None = None, announce: str | None = None
    ) -> None:
        if self.closing:
            return
        self._stop_upload()
        if self.mode == "download":  # inside a byte stream: no frame can follow
            self.closing = True
            if self.seat is not None:
                self.hub.disconnect(self.seat, reason)
            self.transport.abort()
            log.debug("closing the download to %s: %s", self.peer, reason)
            return
        super().close(reason, error=error, announce=announce)
        self.transport.resume_reading()  # linger reading, to see the peer's end at once

    def connection_lost(self, exc: Exception | None) -> None:
        self._writable.set()
        if self._task is not None and self.mode in ("opening", "download"):
            self._task.cancel()
        self._stop_upload()
        if self.mode != "stopping":
            self._end_ticket()
        super().connection_lost(exc)

    def _stop_upload(self) -> None:
        """An upload that ends before its last byte keeps what reached the disk."""
        if self.mode == "upload" and self.sink is not None:
            self.mode = "stopping"
            assert self.ticket is not None
            assert self.ticket.key is not None
            sink = self.sink
            self.door.files.stopping(self.ticket.key, sink.written if sink.error else sink.received)
            self.transport.pause_reading()
            self._task = asyncio.get_running_loop().create_task(self._keep(self.sink))

    async def _keep(self, sink: UploadSink) -> None:
        """An upload cut short: keep what reached the disk, for a resumed upload."""
        ticket = self.ticket
        assert ticket is not None
        assert ticket.key is not None
        kept = await sink.stop()
        self._close_direct()
        self.door.files.stopped(ticket.key, kept)
        self._end_ticket()
        log.info("an upload from %s stopped at %d bytes; kept to resume", self.peer, kept)

    def _close_direct(self) -> None:
        """The sink is done with the socket's duplicate descriptor."""
        if self._direct >= 0:
            fd, self._direct = self._direct, -1
            os.close(fd)

    def _end_ticket(self) -> None:
        ticket, self.ticket = self.ticket, None
        if ticket is not None:
            self.hub.transfer_ended(ticket)

    # --- what the base class asks of a door ------------------------------------------

    def send(self, out: Out) -> None:
        """The hub sends nothing to a side connection; its frames are its own."""

    def proceed(self) -> None:
        pass

    def goodbye(self, reason: str, error: Error | None) -> bytes:
        if self._last is not None:
            return self._last
        bye = encode(Bye(reason=reason))
        return bye if error is None else encode(error) + bye

    def keepalive(self) -> bytes:
        return b""


_FULL = "the server's disk is full: what was received is kept; resume later"
_DISK = "the server could not write the file; what was received is kept; resume later"
_REFUSALS: dict[str, str] = {
    "bad_token": "this ticket is unknown, used, expired, or its chat connection closed",
    "rate_limited": (
        "2 transfers per nick at once, and one per upload: try again later; this ticket stays good"
    ),
}
