"""Lifecycle: listen, admit connections, keep them alive, shut down in order.

Shutdown follows the order of careful servers: stop accepting, send every
connection ``bye`` (``server_shutdown``), wait at most ``shutdown_grace``
seconds for the frames to flush, then abort whatever is left.
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
from typing import cast

from protocol import Error

from .config import Config
from .hub import Hub
from .session import Outbox, Session

log = logging.getLogger(__name__)

READ_SIZE = 65536


def make_tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server TLS context; raises ``OSError`` or ``ssl.SSLError`` if unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Server:
    """A running chat server.  Use :func:`run_server`, or :meth:`start` then
    :meth:`shutdown`; both are needed, in that order."""

    def __init__(self, config: Config, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.hub = Hub(config)
        self.sessions: set[Session] = set()
        self._clock = clock
        self._per_address: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._outbox: Outbox | None = None

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``port=0``)."""
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Bind and start accepting; raises ``OSError`` if the address is unusable."""
        config = self.config
        tls = (
            make_tls_context(config.tls_cert, config.tls_key)
            if config.tls_cert and config.tls_key
            else None
        )
        self._outbox = Outbox(asyncio.get_running_loop())
        self._server = await asyncio.start_server(
            self._serve,
            config.host,
            config.port,
            ssl=tls,
            limit=READ_SIZE,
            backlog=1024,
            reuse_address=True,
        )
        self._sweeper = asyncio.create_task(self._sweep(), name="liveness")
        log.info("history epoch %s", self.hub.epoch)

    async def shutdown(self) -> None:
        """Stop accepting, say ``bye`` to everyone, flush for a bounded time, close."""
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.hub.closing = True
        for session in list(self.sessions):
            session.close("server_shutdown")
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.config.shutdown_grace)
            for session in list(self.sessions):
                session.transport.abort()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self._server is not None:
            await self._server.wait_closed()
        log.info("stopped")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._outbox is not None
        # uvloop's transports implement asyncio.Transport without subclassing it.
        transport = cast(asyncio.Transport, writer.transport)
        address = _address_of(writer)
        sock = writer.get_extra_info("socket")
        if self.config.sndbuf and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.config.sndbuf)
        session = Session(self.hub, transport, self._outbox, peer=address, clock=self._clock)
        refusal = self._refusal(address)
        if refusal is not None:
            session.close("server_full", error=Error(code="server_full", message=refusal))
            await _discard_until_eof(reader)
            session.connection_lost()
            return
        self.sessions.add(session)
        self._tasks.add(task)
        self._per_address[address] = self._per_address.get(address, 0) + 1
        try:
            while data := await reader.read(READ_SIZE):
                session.receive(data)
        except (ConnectionError, OSError, ssl.SSLError) as exc:
            log.debug("%s: %s", address, exc)
        finally:
            session.connection_lost()
            self.sessions.discard(session)
            self._tasks.discard(task)
            left = self._per_address[address] - 1
            if left:
                self._per_address[address] = left
            else:
                del self._per_address[address]

    def _refusal(self, address: str) -> str | None:
        """Why a new connection from ``address`` is refused, or ``None``."""
        config = self.config
        if len(self.sessions) >= config.max_clients:
            return f"the server is full ({config.max_clients} connections)"
        cap = config.max_per_address
        if cap and self._per_address.get(address, 0) >= cap and not _is_loopback(address):
            return f"too many connections from {address} (at most {cap})"
        return None

    async def _sweep(self) -> None:
        """Ping silent clients and drop dead ones, all in one periodic pass."""
        config = self.config
        tick = max(0.02, min(1.0, config.ping_interval / 4, config.hello_timeout / 4))
        while True:
            await asyncio.sleep(tick)
            now = self._clock()
            for session in list(self.sessions):
                session.check_liveness(now)


async def _discard_until_eof(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError, OSError, ssl.SSLError):
        while await reader.read(READ_SIZE):
            pass


def _address_of(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return "unknown"


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@contextlib.asynccontextmanager
async def run_server(config: Config) -> AsyncIterator[Server]:
    """Start a server for the duration of the block, then shut it down."""
    server = Server(config)
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
