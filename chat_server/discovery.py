"""Advertising a running server over mDNS (DNS-SD service ``_hubbub._tcp.local.``).

Once the server listens, build an :class:`Advertisement` (:meth:`Advertisement.of`
maps the settings) and an :class:`Advertiser`, and call :meth:`Advertiser.start`:
it returns at once, and in the background asks who already uses the name,
probes for it, renames on a clash (``NAME-2``) and announces.  Call
:meth:`Advertiser.close` when shutting down, before any client is told ``bye``:
it sends the goodbye, so browsers drop the server before it goes.

Nothing here raises: a failure to advertise (port 5353 taken, no multicast,
no IPv4 address to announce) is one ``warning`` line naming mDNS, and the
server serves anyway.

On one host, every mDNS responder shares port 5353, and an answer sent by
unicast to that port reaches only one of them.  The library probes with
questions that ask for unicast answers, so a second server on the same host
might never hear that its name is taken.  Before probing, the advertiser
therefore browses for the service type with questions that ask for
*multicast* answers (:data:`ASK_AROUND` seconds), so every instance already
on the link lands in the cache that the library's probe consults.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import zeroconf
from zeroconf import DNSQuestionType, IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from protocol import PROTOCOL_VERSION

from . import __version__
from .config import Config

__all__ = [
    "ASK_AROUND",
    "SERVICE_TYPE",
    "Advertisement",
    "Advertiser",
    "advertised_addresses",
    "open_zeroconf",
]

log = logging.getLogger(__name__)

SERVICE_TYPE = "_hubbub._tcp.local."
#: Seconds spent asking, with multicast answers requested, who is already
#: advertised before probing for the name.  A responder that multicast its
#: records less than a second ago waits a second before answering again.
ASK_AROUND = 1.0
#: What can go wrong in the library, the network or the name; caught, logged once.
_FAILURES = (OSError, RuntimeError, ValueError, zeroconf.Error)

#: Opens the mDNS responder on the interfaces with these IPv4 addresses.
ZeroconfFactory = Callable[[Sequence[str]], AsyncZeroconf]


def open_zeroconf(interfaces: Sequence[str]) -> AsyncZeroconf:
    """An IPv4 responder bound to port 5353 on exactly these interfaces.

    Raises ``OSError`` when the port cannot be shared (another program holds
    it without ``SO_REUSEADDR``/``SO_REUSEPORT``).
    """
    return AsyncZeroconf(interfaces=list(interfaces), ip_version=IPVersion.V4Only)


def advertised_addresses(host: str, lan_addresses: Callable[[], list[str]]) -> list[str]:
    """The IPv4 addresses a server listening on ``host`` is reached at.

    The wildcard (``0.0.0.0``, ``::``, empty) means every non-loopback IPv4
    interface, as ``lan_addresses()`` lists them; an address means that
    address (so ``127.0.0.1`` means ``lo``); a host name means its IPv4
    addresses.  Empty when there is nothing to advertise (an IPv6 address).
    The same addresses name the interfaces to advertise on.
    """
    if host in ("", "0.0.0.0", "::"):
        return lan_addresses()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            return []
        return sorted({str(info[4][0]) for info in infos})
    return [host] if address.version == 4 else []


def _host_label() -> str:
    """This host's name as one DNS label of letters, digits and ``-``."""
    label = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname().split(".")[0]).strip("-")
    return label[:40] or "host"


@dataclass(frozen=True, slots=True)
class Advertisement:
    """What the server announces: instance name, port, addresses and TXT facts."""

    name: str
    port: int
    #: IPv4 addresses announced, and the interfaces (by address) announced on.
    addresses: tuple[str, ...]
    tls: bool
    password: bool
    #: The IRC gateway's port, announced as ``irc=PORT`` when there is one.
    irc_port: int | None = None
    version: str = __version__

    @classmethod
    def of(
        cls,
        config: Config,
        port: int,
        lan_addresses: Callable[[], list[str]],
        *,
        irc_port: int | None = None,
    ) -> Advertisement:
        """The advertisement of a server with these settings, listening on ``port``."""
        return cls(
            name=config.name,
            port=port,
            addresses=tuple(advertised_addresses(config.host, lan_addresses)),
            tls=config.tls_cert is not None,
            password=config.password is not None,
            irc_port=irc_port,
        )

    def properties(self) -> dict[str, str]:
        """The TXT record: ``proto``, ``tls``, ``pw``, ``ver`` and maybe ``irc``."""
        txt = {
            "proto": str(PROTOCOL_VERSION),
            "tls": "1" if self.tls else "0",
            "pw": "1" if self.password else "0",
            "ver": self.version,
        }
        if self.irc_port is not None:
            txt["irc"] = str(self.irc_port)
        return txt

    def service_info(self) -> AsyncServiceInfo:
        """The records to register.  The target host name is this server's own
        (host and port), so that one server's goodbye never withdraws the address
        records of another on the same host, nor clashes with the host's own."""
        return AsyncServiceInfo(
            SERVICE_TYPE,
            f"{self.name}.{SERVICE_TYPE}",
            port=self.port,
            properties=self.properties(),
            server=f"{_host_label()}-hubbub-{self.port}.local.",
            parsed_addresses=list(self.addresses),
        )


class Advertiser:
    """The server's mDNS presence: :meth:`start` once listening, :meth:`close` at shutdown.

    ``zeroconf_factory`` opens the responder (tests inject a failing one);
    ``ask_around`` is how long to listen for existing instances before probing.
    """

    def __init__(
        self,
        advertisement: Advertisement,
        *,
        zeroconf_factory: ZeroconfFactory = open_zeroconf,
        ask_around: float = ASK_AROUND,
    ) -> None:
        self.advertisement = advertisement
        #: The instance name in use once advertised (after any rename), else ``None``.
        self.name: str | None = None
        self._open = zeroconf_factory
        self._ask_around = ask_around
        self._zeroconf: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None
        self._announcing: Awaitable[Any] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin advertising in the background; :meth:`close` must follow."""
        if self._task is None:
            self._task = asyncio.create_task(self._advertise(), name="mdns-advertise")

    async def wait(self) -> str | None:
        """Wait until advertising has succeeded or failed; the name in use, or ``None``."""
        if self._task is not None:
            await asyncio.wait([self._task])
        return self.name

    async def close(self) -> None:
        """Withdraw the advertisement (goodbye packets) and release port 5353.

        Returns once the goodbyes are sent (about a quarter of a second), or at
        once when nothing was advertised.  Never raises.
        """
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        if isinstance(self._announcing, asyncio.Future):
            self._announcing.cancel()  # no announcement may follow the goodbye
        self._announcing = None
        responder, self._zeroconf = self._zeroconf, None
        info, self._info = self._info, None
        if responder is None:
            return
        try:
            if info is not None and self.name is not None:
                goodbyes = await responder.async_unregister_service(info)
                await goodbyes
                log.info("withdrew the mDNS advertisement %r", self.name)
            await responder.async_close()
        except _FAILURES as exc:
            log.debug("mDNS: closing the responder failed: %r", exc)

    async def _advertise(self) -> None:
        advertisement = self.advertisement
        if not advertisement.addresses:
            log.warning(
                "mDNS: not advertised: no IPv4 interface to announce %r on; the server "
                "serves anyway, clients must be given its address",
                advertisement.name,
            )
            return
        try:
            self._zeroconf = responder = self._open(advertisement.addresses)
            await responder.zeroconf.async_wait_for_start()
            if not responder.zeroconf.engine.senders:
                raise OSError("no interface accepted mDNS multicast")
            await self._listen_for_others(responder)
            self._info = info = advertisement.service_info()
            self._announcing = await responder.async_register_service(info, allow_name_change=True)
        except _FAILURES as exc:
            log.warning(
                "mDNS: cannot advertise %r (%s); the server serves anyway, "
                "clients must be given its address",
                advertisement.name,
                str(exc) or type(exc).__name__,
            )
            await self._drop_responder()
            return
        self.name = info.name[: -len(SERVICE_TYPE) - 1]
        log.info(
            "advertised over mDNS as %r on %s",
            self.name,
            ", ".join(advertisement.addresses),
        )

    async def _listen_for_others(self, responder: AsyncZeroconf) -> None:
        """Browse with multicast questions for a while, so that every instance
        already advertised is in the cache before the library probes the name."""

        def seen(name: str, state_change: ServiceStateChange, **_: object) -> None:
            log.debug("mDNS: %s %s", state_change.name.lower(), name)

        browser = AsyncServiceBrowser(
            responder.zeroconf,
            [SERVICE_TYPE],
            handlers=[seen],
            question_type=DNSQuestionType.QM,
        )
        try:
            await asyncio.sleep(self._ask_around)
        finally:
            await browser.async_cancel()

    async def _drop_responder(self) -> None:
        responder, self._zeroconf = self._zeroconf, None
        self._info = None
        if responder is not None:
            with contextlib.suppress(*_FAILURES):
                await responder.async_close()
