"""What every stream door shares: write rounds, ``--sendq``, liveness, closing.

A :class:`Door` owns the connections of one listener.  Each
:class:`Connection` is an ``asyncio.Protocol`` that never awaits: the hub
hands it frames (:meth:`~chat_server.hub.Member.send`, in the subclass), which
wait in a list until the door's :class:`Outbox` writes every connection's
list in one ``transport.write`` per round.  A round runs at the end of the
loop turn that queued the first frame, or ``--flush-interval`` after the
previous round under load.

``--sendq`` is counted after the bytes were offered to the kernel: at the
start of a round, a connection whose transport still holds more than
``--sendq`` bytes from before the previous round (the kernel has had at
least a loop turn to take them) is dropped.  The bytes of the latest round,
a burst however many messages it holds, are never held against it.  A connection
whose own replies pile up past ``--sendq`` within one read has them offered
at once, and the door stops reading its requests until its transport drains
(:meth:`Connection.resume_writing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections.abc import Callable
from typing import ClassVar, cast

from protocol import Error

from ..config import Config
from ..hub import Hub, Out, Refusal, Seat

log = logging.getLogger(__name__)


class Outbox:
    """Writes the queued output of a door's connections, one write each per round."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = 0.0) -> None:
        self._loop = loop
        self.interval = interval
        self._last = -interval
        self._pending: list[Connection] = []

    def schedule(self, connection: Connection) -> None:
        """Write ``connection``'s queue in the next round (call once per round)."""
        if not self._pending:
            wait = self._last + self.interval - self._loop.time() if self.interval else 0.0
            if wait > 0:
                self._loop.call_later(wait, self._flush)
            else:
                self._loop.call_soon(self._flush)
        self._pending.append(connection)

    def _flush(self) -> None:
        if self.interval:
            self._last = self._loop.time()
        pending, self._pending = self._pending, []
        for connection in pending:
            try:
                connection.flush()
            except Exception:  # a bug must cost one connection, never the others' output
                log.exception("writing to %s failed", connection.peer)
                connection.transport.abort()


class Door:
    """One way in: the connections of one listener, their write rounds and liveness.

    ``config`` is read on every use; the server replaces it on a reload.
    """

    #: How ``whois`` and the admin's ``stats`` name connections of this door.
    via: ClassVar[str]

    def __init__(
        self, hub: Hub, config: Config, outbox: Outbox, *, clock: Callable[[], float]
    ) -> None:
        self.hub = hub
        self.config = config
        self.outbox = outbox
        self.clock = clock
        self.connections: set[Connection] = set()

    def sweep(self, now: float) -> None:
        """Ping silent connections, drop dead ones and those never welcomed."""
        for connection in list(self.connections):
            connection.check_liveness(now)

    def abort_all(self) -> None:
        """Close every connection at once, discarding what was not written."""
        for connection in list(self.connections):
            connection.transport.abort()


class Connection(asyncio.Protocol):
    """One connection of a :class:`Door`; a subclass speaks the door's wire.

    The subclass implements ``data_received`` (handing the hub its requests),
    ``send`` (queuing bytes with :meth:`queue`), :meth:`goodbye` and
    :meth:`keepalive`.
    """

    # Slots keep an idle connection small; a subclass without its own slots gets a dict.
    __slots__ = (
        "_blocked",
        "_chunks",
        "_counted",
        "_last_round",
        "_linger",
        "_lost",
        "_queued",
        "closing",
        "connected_at",
        "door",
        "hub",
        "last_received",
        "peer",
        "pinged",
        "seat",
        "transport",
    )

    transport: asyncio.Transport

    def __init__(self, door: Door) -> None:
        self.door = door
        self.hub = door.hub
        self.peer = "unknown"
        self.seat: Seat | None = None
        self.closing = False
        now = door.clock()
        self.connected_at = now
        self.last_received = now
        self.pinged = False
        #: Bytes of the next round of writes; ``None`` once closing or dropped.
        self._chunks: list[bytes] | None = []
        #: Bytes in the first ``_counted`` chunks (counted when asked: :meth:`backed_up`).
        self._queued = 0
        self._counted = 0
        #: Bytes written by the last round.
        self._last_round = 0
        #: Reading stopped until the transport drains (replies past --sendq).
        self._blocked = False
        self._linger: asyncio.TimerHandle | None = None
        #: The transport is gone (``connection_lost``).
        self._lost = False

    # --- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.peer = str(peer[0])
        config = self.door.config
        sock = transport.get_extra_info("socket")
        if config.sndbuf and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, config.sndbuf)
        self.transport.set_write_buffer_limits(high=config.sendq)
        admitted = self.hub.admit(self, address=self.peer, via=self.door.via)
        if isinstance(admitted, Refusal):
            if admitted.code == "server_shutdown":  # bye is the first frame
                self.close("server_shutdown")
            else:
                self.close(admitted.code, error=Error(code=admitted.code, message=admitted.text))
            return
        self.seat = admitted
        self.door.connections.add(self)

    def eof_received(self) -> bool | None:
        """The peer is done sending: the transport closes once our output is out."""
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._chunks = None  # nothing more to write
        self.closing = True
        self._lost = True
        if self._linger is not None:
            self._linger.cancel()
        self.door.connections.discard(self)
        if self.seat is not None:
            self.hub.release(self.seat)
        log.debug("%s disconnected: %s", self.peer, exc or "closed")

    def resume_writing(self) -> None:
        """The transport drained below its low-water mark: read the held requests."""
        if self._blocked and not self.closing:
            self._blocked = False
            self.transport.resume_reading()
            self.proceed()

    # --- output ------------------------------------------------------------------

    def queue(self, data: bytes) -> None:
        """Queue bytes for the next round; the door's ``send`` calls this (or inlines it)."""
        chunks = self._chunks
        if chunks is None:
            return
        if not chunks:
            self.door.outbox.schedule(self)
        chunks.append(data)

    def flush(self) -> None:
        """Write what was queued; called by the :class:`Outbox` (see the module docstring)."""
        chunks = self._chunks
        if not chunks:
            return
        # Bytes of rounds before the last one that the kernel has still not taken:
        if self.transport.get_write_buffer_size() - self._last_round > self.door.config.sendq:
            self._chunks = None  # dropped: what was queued is discarded
            self.close("sendq_exceeded")
            return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.transport.write(data)
        chunks.clear()
        self._queued = self._counted = 0
        self._last_round = len(data)

    def backed_up(self) -> bool:
        """Whether to stop taking requests: its own output passed ``--sendq`` this read.

        Offers what is queued to the kernel first; if the transport still holds
        more than ``--sendq``, reading stops until :meth:`resume_writing`.
        """
        chunks = self._chunks
        if not chunks:
            return False
        counted = self._counted
        if len(chunks) > counted:  # count each chunk once, not on the fan-out's hot path
            self._queued += sum(map(len, itertools.islice(chunks, counted, None)))
            self._counted = len(chunks)
        sendq = self.door.config.sendq
        if self._queued <= sendq:
            return False
        self.flush()
        if self.closing or self.transport.get_write_buffer_size() <= sendq:
            return False
        self._blocked = True
        self.transport.pause_reading()
        return True

    # --- liveness and closing ----------------------------------------------------

    def check_liveness(self, now: float) -> None:
        """Ping a silent peer, drop a dead one or one never welcomed in time."""
        if self.closing:
            return
        config = self.door.config
        seat = self.seat
        if (seat is None or not seat.welcomed) and now - self.connected_at >= config.hello_timeout:
            self.close("hello_timeout")
            return
        silent = now - self.last_received
        if silent >= config.ping_timeout:
            self.close("ping_timeout")
        elif silent >= config.ping_interval and not self.pinged:
            self.pinged = True
            self.queue(self.keepalive())

    def close(
        self, reason: str, *, error: Error | None = None, announce: str | None = None
    ) -> None:
        """Send ``error`` (if any) and ``bye``, tell the rooms, and close.

        Nothing more is read at once; ``bye`` follows every frame the hub
        handed out for this connection before (some may wait for the store's
        write: :meth:`Hub.after_output`).  The connection is then half-closed
        so the last bytes arrive, lingers for ``--close-linger`` seconds
        reading and discarding, and is aborted.
        """
        if self.closing:
            return
        self.closing = True
        self.hub.stats.dropped(reason)
        if self.seat is not None:
            self.hub.disconnect(self.seat, announce or reason)
        if self._chunks is None:  # dropped: nothing more is sent
            self._say_goodbye(reason, error)
        else:
            self.hub.after_output(lambda: self._say_goodbye(reason, error))

    def _say_goodbye(self, reason: str, error: Error | None) -> None:
        if self._lost:
            return
        last = self._chunks or []  # what was queued goes first, unless it was dropped
        self._chunks = None
        last.append(self.goodbye(reason, error))
        transport = self.transport
        try:
            transport.write(b"".join(last))
            if transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()
        except (OSError, RuntimeError):  # the peer is already gone
            transport.abort()
        self._linger = asyncio.get_running_loop().call_later(
            self.door.config.close_linger, transport.abort
        )
        log.debug("closing %s: %s", self.peer, reason)

    def resume(self) -> None:
        """The hub takes requests again (its store decided our nick): read on."""
        if self.closing:
            return
        self.transport.resume_reading()
        self.proceed()

    # --- what the door's wire says ------------------------------------------------

    def send(self, out: Out) -> None:
        """Queue the hub's ``out`` in this door's wire (with :meth:`queue`)."""
        raise NotImplementedError

    def proceed(self) -> None:
        """Hand the hub the requests held back (after a wait or a full transport)."""
        raise NotImplementedError

    def goodbye(self, reason: str, error: Error | None) -> bytes:
        """The last bytes: ``error`` if given, then the door's ``bye``."""
        raise NotImplementedError

    def keepalive(self) -> bytes:
        """The door's ping, sent after ``--ping-interval`` seconds of silence."""
        raise NotImplementedError
