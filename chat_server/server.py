"""Lifecycle: listen, admit connections, keep them alive, shut down in order.

Shutdown follows the order of careful servers: stop accepting, withdraw the
mDNS advertisement, send every connection ``bye`` (``server_shutdown``), wait
at most ``shutdown_grace`` seconds for the frames to flush, then abort
whatever is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
import struct
import time
from collections.abc import AsyncIterator, Callable

from . import __version__
from .changes import Store
from .config import Config
from .discovery import Advertisement, Advertiser
from .doors.base import Door, Outbox
from .doors.irc.door import IrcDoor
from .doors.native import NativeDoor
from .hub import Hub
from .storage import make_store

log = logging.getLogger(__name__)

#: What ``welcome.server`` says.
SERVER_NAME = f"hubbub {__version__}"


def make_tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server TLS context; raises ``OSError`` or ``ssl.SSLError`` if unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Server:
    """A running chat server.  Use :func:`run_server`, or :meth:`start` then
    :meth:`shutdown`; both are needed, in that order.

    ``store`` is where rooms and messages live (not opened yet); ``clock``
    (monotonic) runs liveness and rate limits, ``wall_clock`` stamps messages.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.hub = Hub(config, store, server_name=SERVER_NAME, wall_clock=wall_clock, clock=clock)
        self._clock = clock
        self.doors: list[Door] = []
        self._server: asyncio.Server | None = None
        self._irc: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        #: The mDNS advertisement, from start() unless ``config.no_advertise``.
        self.advertiser: Advertiser | None = None

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``port=0``)."""
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def irc_port(self) -> int | None:
        """The IRC gateway's port actually bound, or ``None`` without ``--irc-port``."""
        if self._irc is None:
            return None
        port: int = self._irc.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Open the store, bind and start accepting.

        Raises ``OSError`` if the address is unusable and
        :class:`~chat_server.changes.StoreError` if the store is.
        """
        config = self.config
        await self.hub.open()
        tls = None
        if config.tls_cert and config.tls_key:
            tls = make_tls_context(config.tls_cert, config.tls_key)
        loop = asyncio.get_running_loop()
        outbox = Outbox(loop, config.flush_interval)
        native = NativeDoor(self.hub, config, outbox, clock=self._clock)
        self.doors.append(native)
        self._server = await loop.create_server(
            native.connection,
            config.host,
            config.port,
            ssl=tls,
            backlog=1024,
            reuse_address=True,
        )
        if config.irc_port is not None:
            irc = IrcDoor(self.hub, config, outbox, clock=self._clock)
            self.doors.append(irc)
            self._irc = await loop.create_server(
                irc.connection,
                config.host,
                config.irc_port,
                ssl=tls,
                backlog=1024,
                reuse_address=True,
            )
            log.info(
                "IRC gateway listening on %s:%d as %s%s",
                config.host,
                self.irc_port,
                irc.server_name,
                " (TLS)" if tls is not None else "",
            )
        self._sweeper = asyncio.create_task(self._sweep(), name="liveness")
        log.info("history epoch %s", self.hub.epoch)
        if not config.no_advertise:
            advertisement = Advertisement.of(
                config, self.port, lan_addresses, irc_port=self.irc_port
            )
            self.advertiser = Advertiser(advertisement)
            self.advertiser.start()

    async def shutdown(self) -> None:
        """Stop accepting, withdraw the advertisement, say ``bye`` to everyone,
        flush for a bounded time, close."""
        for listener in (self._server, self._irc):
            if listener is not None:
                listener.close()
        if self.advertiser is not None:  # browsers drop us before anyone hears bye
            await self.advertiser.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.hub.shutdown()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.hub.emptied(), self.config.shutdown_grace)
        for door in self.doors:
            door.abort_all()
        for _ in range(10):  # aborted transports report connection_lost on the next turns
            if not any(door.connections for door in self.doors):
                break
            await asyncio.sleep(0.01)
        for listener in (self._server, self._irc):
            if listener is not None:
                await listener.wait_closed()
        await self.hub.close()
        log.info("stopped")

    async def _sweep(self) -> None:
        """Ping silent clients and drop dead ones, all in one periodic pass."""
        config = self.config
        tick = max(0.02, min(1.0, config.ping_interval / 4, config.hello_timeout / 4))
        while True:
            await asyncio.sleep(tick)
            now = self._clock()
            for door in self.doors:
                door.sweep(now)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@contextlib.asynccontextmanager
async def run_server(config: Config) -> AsyncIterator[Server]:
    """Start a server on the store ``config`` names for the duration of the block, then
    shut it down."""
    server = Server(config, make_store(config))
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown()


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces, loopback excluded."""
    found: set[str] = set()
    try:
        import fcntl

        siocgifaddr = 0x8915
        for _, name in socket.if_nameindex():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    packed = fcntl.ioctl(
                        probe.fileno(), siocgifaddr, struct.pack("256s", name[:15].encode())
                    )
                except OSError:
                    continue
                found.add(socket.inet_ntoa(packed[20:24]))
    except (ImportError, OSError):
        pass
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    return sorted(a for a in found if not _is_loopback(a))
