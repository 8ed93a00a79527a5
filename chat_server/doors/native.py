"""The native door: length-prefixed JSON frames over TCP (or TLS), as docs/protocol.md says.

Bytes go through the ``protocol`` package's :class:`~protocol.Decoder` and
:func:`~protocol.parse_client`; the hub takes the requests of each read
lazily (:meth:`NativeConnection.requests`), so whatever it does not take yet
(while the store decides a nick, or while the client's replies back up)
stays in the decoder and the kernel's buffers, never in a queue of ours.
The hub's frames are already encoded: :meth:`NativeConnection.send` queues
them as they are.  There is no task, stream or buffer per connection beyond
what the transport itself holds, so an idle client costs little memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from protocol import (
    Bye,
    Decoder,
    Error,
    FrameError,
    MessageError,
    Ping,
    Pong,
    Transfer,
    encode,
    parse_client,
)

from ..config import Config
from ..hub import Hub, Out, Request
from ..hub.roster import WELCOMED
from .base import Connection, Door, Outbox
from .transfer import TransferDoor

PING = encode(Ping())


class NativeDoor(Door):
    """Connections speaking the native protocol; build one per listener.

    A connection whose first frame (after any ``ping``/``pong``) is
    ``transfer`` is a side connection: it goes to ``side``, the transfer door
    (without one, the hub answers it ``not_ready``).
    """

    via = "native"

    def __init__(
        self,
        hub: Hub,
        config: Config,
        outbox: Outbox,
        *,
        clock: Callable[[], float],
        side: TransferDoor | None = None,
    ) -> None:
        super().__init__(hub, config, outbox, clock=clock)
        self.side = side

    def connection(self) -> NativeConnection:
        """A protocol for ``loop.create_server``."""
        return NativeConnection(self)


class NativeConnection(Connection):
    """One native client; see the module docstring."""

    __slots__ = ("_broken", "_opened", "_side", "decoder")

    door: NativeDoor

    def __init__(self, door: NativeDoor) -> None:
        super().__init__(door)
        config = door.config
        self.decoder = Decoder(min(config.hello_max_frame, config.max_frame))
        #: The framing broke: close once the hub has taken what came before.
        self._broken: FrameError | None = None
        #: A frame other than ``ping``/``pong`` arrived: no ``transfer`` can open it now.
        self._opened = False
        #: The ``transfer`` that opened a side connection: hand it over.
        self._side: Transfer | None = None

    # --- input -------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.decoder.feed(data)
        self.proceed()

    def proceed(self) -> None:
        seat = self.seat
        if seat is None or self.closing:
            return
        self.hub.receive(seat, self.requests())
        if self._side is not None:
            self._hand_over(self._side)
        elif self._broken is not None:
            exc, self._broken = self._broken, None
            self.close(exc.code, error=Error(code=exc.code, message=exc.message))
        elif seat.waiting and not self.closing:  # the store decides our nick: see resume()
            self.transport.pause_reading()

    def requests(self) -> Iterator[Request]:
        """Parse whole frames for as long as the hub takes them."""
        config = self.door.config
        decoder = self.decoder
        seat = self.seat
        assert seat is not None
        while not self.closing and not (self._chunks and self.backed_up()):
            welcomed = seat.phase in WELCOMED  # seat.welcomed, inline
            decoder.max_frame = config.max_frame if welcomed else self._pre_welcome_limit()
            try:
                body = decoder.next_frame()
            except FrameError as exc:
                self._broken = exc
                return
            if body is None:
                return
            self.last_received = self.door.clock()
            self.pinged = False
            request: Request
            try:
                request = parse_client(body, max_text=config.max_text, welcomed=welcomed)
            except MessageError as exc:
                request = exc
            if not self._opened and not welcomed:
                if isinstance(request, Transfer) and self.door.side is not None:
                    self._side = request
                    return
                self._opened = not isinstance(request, Ping | Pong)
            yield request

    def _hand_over(self, request: Transfer) -> None:
        """Give the transport to the transfer door with the bytes read past ``request``."""
        seat = self.seat
        assert seat is not None
        self._side = None
        chunks, self._chunks = self._chunks, None  # a pong queued earlier goes out first
        if chunks:
            self.transport.write(b"".join(chunks))
        self.closing = True  # this protocol is done with the transport
        self.door.connections.discard(self)
        rest = self.decoder.drain()
        side = self.door.side
        assert side is not None
        side.adopt(self.transport, seat, request, rest, self.peer)

    def _pre_welcome_limit(self) -> int:
        """A stranger gets a small buffer: the largest frame taken before ``welcome``."""
        config = self.door.config
        return min(config.hello_max_frame, config.max_frame)

    # --- output ------------------------------------------------------------------

    def send(self, out: Out) -> None:
        """Queue the hub's frames for this client's next write (the hot path: inlined)."""
        chunks = self._chunks
        if chunks is None:
            return
        if not chunks:
            self.door.outbox.schedule(self)
        chunks.append(out.frame)

    def goodbye(self, reason: str, error: Error | None) -> bytes:
        bye = encode(Bye(reason=reason))
        return bye if error is None else encode(error) + bye

    def keepalive(self) -> bytes:
        return PING
