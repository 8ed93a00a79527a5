"""One connection: bytes in through the codec to the hub, frames out, limits.

A :class:`Session` is the connection's ``asyncio.Protocol`` and never awaits:
the transport hands it each chunk received (:meth:`Session.data_received`);
the hub queues frames on it (:meth:`Session.send`, :meth:`Session.send_shared`),
a read's messages to one room in one piece when the read ends (``Hub.deliver``);
the shared :class:`Outbox` writes every session's queued frames in one
``transport.write`` per round: at the end of the event-loop iteration, or
``--flush-interval`` after the previous round under load.  When the bytes held
for one client pass ``--sendq`` it is dropped, and nobody else ever waits.
While a shared store decides a client's nick (``Hub.waiting``), its frames
stay unread until :meth:`Session.resume`.
There is no task, stream or buffer per connection beyond what the transport
itself holds, so an idle client costs little memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Callable
from typing import Protocol, cast

from protocol import (
    Bye,
    Decoder,
    Error,
    FrameError,
    Hello,
    MessageError,
    Ping,
    Pong,
    Quit,
    Say,
    SetNick,
    SetTopic,
    Whisper,
    encode,
    parse_client,
)

from .config import Config
from .hub import Hub, Room

log = logging.getLogger(__name__)

#: A client with more than 2 x burst frames dropped within this window is cut off.
FLOOD_WINDOW = 10.0
PING = encode(Ping())
#: A quit reason is repeated to every room: keep it short enough for any frame.
QUIT_REASON_MAX = 160


class Outbox:
    """Coalesces the frames of every session into one write each per round.

    A round runs at the end of the loop turn that queued the first frame, or
    ``interval`` seconds after the previous round if that is later: under load,
    what is queued meanwhile goes out in one write per client.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = 0.0) -> None:
        self._loop = loop
        self._interval = interval
        self._last = -interval
        self._pending: list[Session] = []

    def schedule(self, session: Session) -> None:
        if not self._pending:
            wait = self._last + self._interval - self._loop.time() if self._interval else 0.0
            if wait > 0:
                self._loop.call_later(wait, self._flush)
            else:
                self._loop.call_soon(self._flush)
        self._pending.append(session)

    def _flush(self) -> None:
        if self._interval:
            self._last = self._loop.time()
        pending, self._pending = self._pending, []
        for session in pending:
            try:
                session.flush()
            except Exception:  # a bug must cost one connection, never the others' output
                log.exception("writing to %s failed", session.peer)
                session.transport.abort()


class Lobby(Protocol):
    """What a session needs of the server that accepted it."""

    def admit(self, session: Session) -> str | None:
        """Register ``session``, or say why it is refused."""

    def release(self, session: Session) -> None:
        """Forget ``session``; called once when its connection is gone."""


class Session(asyncio.Protocol):
    """The state of one client connection; see the module docstring."""

    __slots__ = (
        "_buffered",
        "_clock",
        "_drops",
        "_linger",
        "_lobby",
        "_out",
        "_out_bytes",
        "_outbox",
        "_overflow",
        "_refilled",
        "_tokens",
        "closing",
        "config",
        "connected_at",
        "decoder",
        "hub",
        "last_received",
        "nick",
        "peer",
        "pinged",
        "rooms",
        "transport",
    )

    transport: asyncio.Transport

    def __init__(
        self, hub: Hub, outbox: Outbox, lobby: Lobby, *, clock: Callable[[], float]
    ) -> None:
        config: Config = hub.config
        self.hub = hub
        self.config = config
        self.peer = "unknown"
        self.nick: str | None = None
        self.rooms: dict[str, Room] = {}
        self.decoder = Decoder(min(config.hello_max_frame, config.max_frame))
        self.closing = False
        now = clock()
        self.connected_at = now
        self.last_received = now
        self.pinged = False
        self._clock = clock
        self._outbox = outbox
        self._lobby = lobby
        #: Frames of the next round of writes; ``None`` once closing or dropped.
        self._out: list[bytes] | None = []
        #: Bytes of :meth:`send` frames in ``_out`` (shared frames are counted at the flush).
        self._out_bytes = 0
        self._buffered = 0
        self._overflow = False
        self._tokens = float(config.burst)
        self._refilled = now
        self._drops: deque[float] | None = None  # made on the first drop
        self._linger: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.peer = str(peer[0])
        sock = transport.get_extra_info("socket")
        if self.config.sndbuf and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.config.sndbuf)
        refusal = self._lobby.admit(self)
        if refusal is None:
            return
        if self.hub.closing:  # accepted as the listener closed: bye is the first frame
            self.close("server_shutdown")
        else:
            self.close("server_full", error=Error(code="server_full", message=refusal))

    def data_received(self, data: bytes) -> None:
        self.receive(data)

    def eof_received(self) -> None:
        """The peer is done sending: the transport closes once our output is out."""

    def connection_lost(self, exc: Exception | None) -> None:
        self._out = None  # nothing more to write
        if not self.closing:
            self.closing = True
            self.hub.disconnect(self, "connection closed")
        if self._linger is not None:
            self._linger.cancel()
        self._lobby.release(self)
        log.debug("%s (%s) disconnected: %s", self.peer, self.nick, exc or "closed")

    # --- input -------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Decode and answer every whole frame in ``data`` and what came before."""
        if self.closing:
            return
        decoder = self.decoder
        decoder.feed(data)
        try:
            body = decoder.next_frame()
            if body is None:
                return
            self.last_received = self._clock()
            self.pinged = False
            while body is not None:
                self._handle(body)
                if self.closing:
                    return
                if self.hub.waiting(self):  # the store decides our nick: see resume()
                    self.transport.pause_reading()
                    return
                body = decoder.next_frame()
        except FrameError as exc:
            self.close(exc.code, error=Error(code=exc.code, message=exc.message))
        finally:
            self.hub.deliver()  # the messages of this read, one piece per room

    def resume(self) -> None:
        """The store has decided our nick: read on, from the frames already buffered.

        Until then the rest of the client's frames wait in the decoder and the
        kernel's buffers, never in a queue of ours.
        """
        if self.closing:
            return
        if self.nick is None:  # refused: back to the limit for frames before welcome
            self.decoder.max_frame = min(self.config.hello_max_frame, self.config.max_frame)
        self.transport.resume_reading()
        self.receive(b"")

    def _handle(self, body: bytes) -> None:
        try:
            message = parse_client(
                body, max_text=self.config.max_text, welcomed=self.nick is not None
            )
        except MessageError as exc:
            self.send(encode(Error(code=exc.code, message=exc.message, ref=exc.ref, id=exc.id)))
            return
        match message:
            case Ping(token=token):
                self.send(encode(Pong(token=token)))
            case Pong():
                pass
            case Hello() if self.nick is None:
                if self.hub.hello(self, message):
                    self.decoder.max_frame = self.config.max_frame
            case Hello(id=msg_id):
                self.send(
                    encode(
                        Error(
                            code="bad_message", message="already welcomed", ref="hello", id=msg_id
                        )
                    )
                )
            case Quit(reason=reason):
                self.close("quit", announce=(reason or "quit")[:QUIT_REASON_MAX])
            case Say() | Whisper() | SetNick() | SetTopic() if not self._take_token(
                message.type, message.id
            ):
                pass
            case _:
                self.hub.handle(self, message)

    def _take_token(self, ref: str, msg_id: str | None) -> bool:
        """Spend one token of the bucket, or answer ``rate_limited`` and say no."""
        rate = self.config.rate
        if rate == 0:
            return True
        now = self._clock()
        burst = self.config.burst
        self._tokens = min(float(burst), self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        error = Error(
            code="rate_limited",
            message=f"slow down: {rate:g} messages a second",
            ref=ref,
            id=msg_id,
        )
        if self._drops is None:
            self._drops = deque()
        drops = self._drops
        drops.append(now)
        while drops[0] <= now - FLOOD_WINDOW:
            drops.popleft()
        if len(drops) > 2 * burst:
            self.close("rate_limited", error=error)
        else:
            self.send(encode(error))
        return False

    def check_liveness(self, now: float) -> None:
        """Ping a silent client, drop a dead one or one that never said hello."""
        if self.closing:
            return
        if self.nick is None and now - self.connected_at >= self.config.hello_timeout:
            self.close("hello_timeout")
            return
        silent = now - self.last_received
        if silent >= self.config.ping_timeout:
            self.close("ping_timeout")
        elif silent >= self.config.ping_interval and not self.pinged:
            self.pinged = True
            self.send(PING)

    # --- output ------------------------------------------------------------

    def send(self, frame: bytes) -> None:
        """Queue a frame for this client alone, for the :class:`Outbox`'s next round.

        Counted against ``--sendq`` at once: a reply (a ``history``, say) can
        be large, and a client could ask for many in one read.
        """
        self.hub.deliver()  # the hub's held-back messages were queued before this
        out = self._out
        if out is None:
            return
        if not self._out_bytes:
            self._buffered = self.transport.get_write_buffer_size()
        queued = self._out_bytes + len(frame)
        if self._buffered + queued > self.config.sendq:
            self._drop_at_flush()
            return
        if not out:
            self._outbox.schedule(self)
        out.append(frame)
        self._out_bytes = queued

    def send_shared(self, frame: bytes) -> None:
        """Queue a broadcast frame; its bytes are counted when the round is written."""
        out = self._out
        if out is None:
            return
        if not out:
            self._outbox.schedule(self)
        out.append(frame)

    def _drop_at_flush(self) -> None:
        """Past ``--sendq``: queue nothing more; the flush closes the connection,
        outside the hub's loop over a room's members."""
        if not self._out:
            self._outbox.schedule(self)
        self._out = None
        self._overflow = True

    def flush(self) -> None:
        """Write what was queued; called by the :class:`Outbox` only."""
        out = self._out
        if out is None:
            if self._overflow and not self.closing:
                self.close("sendq_exceeded")
            return
        if not out:
            return
        self.transport.write(out[0] if len(out) == 1 else b"".join(out))
        out.clear()
        self._out_bytes = 0
        if self.transport.get_write_buffer_size() > self.config.sendq:
            self.close("sendq_exceeded")

    # --- closing -----------------------------------------------------------

    def close(
        self, reason: str, *, error: Error | None = None, announce: str | None = None
    ) -> None:
        """Send ``error`` (if any) and ``bye``, tell the rooms, and close.

        The connection is half-closed so the last frames arrive, then lingers
        for ``close_linger`` seconds reading and discarding, then is aborted.
        ``announce`` is the ``presence`` reason, by default ``reason``.
        """
        if self.closing:
            return
        self.hub.disconnect(self, announce or reason)
        self.closing = True
        last = self._out or []  # what was queued goes first, unless it overflowed
        self._out = None
        if error is not None:
            last.append(encode(error))
        last.append(encode(Bye(reason=reason)))
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
            self.config.close_linger, transport.abort
        )
        log.debug("closing %s (%s): %s", self.peer, self.nick, reason)
