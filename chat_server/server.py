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
from pathlib import Path

from . import __version__
from .changes import Store, StoreError
from .config import Config, ConfigError
from .discovery import Advertisement, Advertiser
from .doors.admin import AdminDoor
from .doors.base import Door, Outbox
from .doors.irc.door import IrcDoor
from .doors.native import NativeDoor
from .doors.transfer import TransferDoor
from .files import Disk, Files
from .hub import Hub
from .storage import make_store

log = logging.getLogger(__name__)

#: Options a running server cannot change (a reload names them and keeps them).
RESTART_OPTIONS = (
    "host", "port", "db", "redis", "irc-port", "admin-socket", "node-ttl",
    "files-dir", "file-threads", "file-nice",
)  # fmt: skip

#: What ``welcome.server`` says.
SERVER_NAME = f"hubbub {__version__}"
#: Seconds between two sweeps of interrupted uploads past ``--partial-ttl``.
PARTIAL_SWEEP = 60.0


def files_dir(config: Config) -> Path | None:
    """Where shared files are kept: ``--files-dir``, else next to ``--db``, else ``None``
    (a temporary directory, removed at exit)."""
    if config.files_dir is not None:
        return Path(config.files_dir)
    if config.db is not None:
        return Path(f"{config.db}.files")
    return None


def make_tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server TLS context; raises ``OSError`` or ``ssl.SSLError`` if unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Server:
    """A running chat server.  Use :func:`run_server`, or :meth:`start` then
    :meth:`shutdown`; both are needed, in that order.

    ``store`` is where rooms and messages live (not opened yet); ``clock``
    (monotonic) runs liveness, rate limits and tickets, ``wall_clock`` stamps
    messages and dates shared files.  ``reloader`` reads the settings again for
    :meth:`reload` (SIGHUP, the admin console's ``reload``); without one a
    reload re-applies ``config``.  ``disk`` replaces the files directory that
    ``config`` names (tests use it to make the disk fail).
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        reloader: Callable[[], Config] | None = None,
        disk: Disk | None = None,
    ) -> None:
        self.config = config
        disk = disk or Disk(files_dir(config), threads=config.file_threads, nice=config.file_nice)
        self.files = Files(disk, store, wall_clock=wall_clock)
        self.hub = Hub(
            config,
            store,
            server_name=SERVER_NAME,
            wall_clock=wall_clock,
            clock=clock,
            files=self.files,
        )
        self._clock = clock
        self._reloader = reloader
        self.doors: list[Door] = []
        self.admin: AdminDoor | None = None
        #: Set when someone asks the server to stop (a signal, the admin console).
        self.stop = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._irc: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._outbox: Outbox | None = None
        self._tls: ssl.SSLContext | None = None
        #: The mDNS advertisement, from start() unless ``config.no_advertise``.
        self.advertiser: Advertiser | None = None
        #: A reload replacing the advertisement (withdraw the old one, then announce).
        self._readvertising: asyncio.Task[None] | None = None

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

        Raises ``OSError`` if the address is unusable,
        :class:`~chat_server.changes.StoreError` if the store is, and
        :class:`~chat_server.doors.admin.AdminSocketError` if the admin socket is.
        """
        config = self.config
        if config.admin_socket is not None:
            self.admin = AdminDoor(self, config.admin_socket)
            self.admin.bind()  # first: nothing else is left behind if it fails
        try:
            await self._start(config)
        except BaseException:
            if self.admin is not None:  # the socket file goes with the failed start
                await self.admin.close()
            raise

    async def _start(self, config: Config) -> None:
        try:
            await self.hub.open()
        except OSError as exc:
            raise StoreError(f"--files-dir: cannot use {self.files.disk.root}: {exc}") from exc
        if config.redis is not None and config.files_dir is None:
            log.warning(
                "--redis without --files-dir: files shared on this node cannot be fetched "
                "through the others; give every node the same --files-dir"
            )
        if config.tls_cert and config.tls_key:
            self._tls = make_tls_context(config.tls_cert, config.tls_key)
        loop = asyncio.get_running_loop()
        self._outbox = outbox = Outbox(loop, config.flush_interval)
        transfer = TransferDoor(self.hub, config, outbox, self.files, clock=self._clock)
        native = NativeDoor(self.hub, config, outbox, clock=self._clock, side=transfer)
        self.doors += [native, transfer]
        self._server = await loop.create_server(
            native.connection,
            config.host,
            config.port,
            ssl=self._tls,
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
                ssl=self._tls,
                backlog=1024,
                reuse_address=True,
            )
            log.info(
                "IRC gateway listening on %s:%d as %s%s",
                config.host,
                self.irc_port,
                irc.server_name,
                " (TLS)" if self._tls is not None else "",
            )
        if self.admin is not None:
            await self.admin.start()
        self._sweeper = asyncio.create_task(self._sweep(), name="liveness")
        log.info("history epoch %s", self.hub.epoch)
        if not config.no_advertise:
            advertisement = Advertisement.of(
                config, self.port, lan_addresses, irc_port=self.irc_port
            )
            self.advertiser = Advertiser(advertisement)
            self.advertiser.start()

    # --- what the admin console and SIGHUP do (doors.admin_commands.Console) -----

    def reload(self) -> str:
        """Read the settings again and apply them without dropping anyone.

        The certificate files are read again too.  Options that need a restart
        (:data:`RESTART_OPTIONS`) are named in one warning and keep their
        value.  Raises :class:`ConfigError` (and changes nothing) if the new
        settings are invalid or the certificate cannot be loaded.
        """
        new = self._reloader() if self._reloader is not None else self.config
        old = self.config
        fixed = [o for o in RESTART_OPTIONS if _get(new, o) != _get(old, o)]
        if (new.tls_cert is None) != (old.tls_cert is None):
            fixed.append("tls-cert")
        if fixed:
            log.warning("reload: %s need a restart; kept as they were", ", ".join(fixed))
            new = new.replace(**{o.replace("-", "_"): _get(old, o) for o in fixed})
            if "tls-cert" in fixed:
                new = new.replace(tls_key=old.tls_key)
        if self._tls is not None and new.tls_cert and new.tls_key:
            try:  # all or nothing: a context that loads, then the live one
                make_tls_context(new.tls_cert, new.tls_key)
                self._tls.load_cert_chain(new.tls_cert, new.tls_key)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"--tls-cert/--tls-key: cannot load: {exc}") from None
        self._apply(new)
        self._advertise_again(new)
        if new.log_level != old.log_level:
            logging.getLogger().setLevel(new.log_level.upper())
        changed = sorted(
            f.replace("_", "-") for f in new.__dataclass_fields__ if _get(new, f) != _get(old, f)
        )
        summary = f"reloaded ({', '.join(changed) or 'nothing changed'})"
        log.info("%s", summary)
        return summary

    def reload_logged(self) -> None:
        """:meth:`reload`, for SIGHUP: an invalid configuration is one error line."""
        try:
            self.reload()
        except ConfigError as exc:
            log.error("reload failed, nothing changed: %s", exc)

    def set_motd(self, motd: str | None) -> None:
        self._apply(self.config.replace(motd=motd))
        log.info("motd replaced from the admin console")

    def request_shutdown(self) -> None:
        self.stop.set()

    def connections(self) -> dict[str, int]:
        counts = {door.via: len(door.connections) for door in self.doors}
        if self.admin is not None:
            counts["admin"] = len(self.admin.connections)
        return counts

    def _advertise_again(self, config: Config) -> None:
        """Announce the server anew if a reload changed what mDNS says (name, password...)."""
        if self._server is None:
            return
        wanted = None
        if not config.no_advertise:
            wanted = Advertisement.of(config, self.port, lan_addresses, irc_port=self.irc_port)
        current = self.advertiser.advertisement if self.advertiser is not None else None
        if wanted == current:
            return
        old = self.advertiser
        self.advertiser = new = Advertiser(wanted) if wanted is not None else None
        previous = self._readvertising

        async def swap() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            if old is not None:
                await old.close()
            if new is not None:
                new.start()

        self._readvertising = asyncio.get_running_loop().create_task(swap(), name="mdns-again")

    def _apply(self, config: Config) -> None:
        self.config = config
        self.hub.configure(config)
        for door in self.doors:
            door.config = config
        if self._outbox is not None:
            self._outbox.interval = config.flush_interval

    async def shutdown(self) -> None:
        """Stop accepting, withdraw the advertisement, say ``bye`` to everyone,
        flush for a bounded time, close."""
        for listener in (self._server, self._irc):
            if listener is not None:
                listener.close()
        if self._readvertising is not None:
            await asyncio.wait([self._readvertising])
        if self.advertiser is not None:  # browsers drop us before anyone hears bye
            await self.advertiser.close()
        if self.admin is not None:
            await self.admin.close()
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
        await self.files.close()
        log.info("stopped")

    async def _sweep(self) -> None:
        """Ping silent clients and drop dead ones, all in one periodic pass."""
        swept = self._clock()
        while True:
            config = self.config  # a reload may change the intervals
            await asyncio.sleep(
                max(0.02, min(1.0, config.ping_interval / 4, config.hello_timeout / 4))
            )
            now = self._clock()
            for door in self.doors:
                door.sweep(now)
            self.hub.tick()
            if now - swept >= PARTIAL_SWEEP:
                swept = now
                self.files.sweep_partials(self.config.partial_ttl)


def _get(config: Config, option: str) -> object:
    return getattr(config, option.replace("-", "_"))


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
