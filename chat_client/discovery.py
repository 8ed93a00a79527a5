"""Finding hubbub servers on the LAN over mDNS (DNS-SD ``_hubbub._tcp.local.``).

:func:`browse` listens for ``seconds`` and returns the servers that are still
advertised at the end, each as a :class:`Found` whose ``name`` is already
sanitised (it is network text).  It raises :class:`DiscoveryError` when it
cannot browse at all (port 5353 unusable, a bad interface address).

Questions are asked for *multicast* answers: on one host every mDNS program
shares port 5353, and a unicast answer to that port reaches only one of them,
perhaps not this client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

import ifaddr
import zeroconf
from zeroconf import DNSQuestionType, InterfaceChoice, IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from protocol import PROTOCOL_VERSION

from .sanitize import sanitize

__all__ = ["SERVICE_TYPE", "DiscoveryError", "Found", "browse", "open_zeroconf"]

logger = logging.getLogger(__name__)

SERVICE_TYPE = "_hubbub._tcp.local."
#: What can go wrong in the library or the network when browsing starts.
_FAILURES = (OSError, RuntimeError, ValueError, zeroconf.Error)

#: Opens the mDNS listener: on the interface with this address, or on all.
ZeroconfFactory = Callable[[str | None], AsyncZeroconf]


class DiscoveryError(Exception):
    """Browsing could not start; ``str()`` is one line for people."""


@dataclass(frozen=True, slots=True)
class Found:
    """One advertised server.  ``name`` is sanitised; ``host`` an IPv4 address."""

    name: str
    host: str
    port: int
    tls: bool
    password: bool

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def line(self) -> str:
        """``NAME<TAB>HOST:PORT<TAB>tls=0|1<TAB>password=0|1``, as ``--discover`` prints it."""
        return f"{self.name}\t{self.address}\ttls={self.tls:d}\tpassword={self.password:d}"


def open_zeroconf(interface: str | None) -> AsyncZeroconf:
    """An IPv4 mDNS listener on the interface owning ``interface``, or on every one."""
    chosen: list[str] | InterfaceChoice = [interface] if interface else InterfaceChoice.All
    return AsyncZeroconf(interfaces=chosen, ip_version=IPVersion.V4Only)


def local_ipv4() -> list[IPv4Interface]:
    """This machine's IPv4 addresses, each with its network."""
    try:
        adapters = ifaddr.get_adapters()
    except OSError:
        return []
    return [
        IPv4Interface(f"{ip.ip}/{ip.network_prefix}")
        for adapter in adapters
        for ip in adapter.ips
        if ip.is_IPv4
    ]


def best_address(
    addresses: Sequence[str], interface: str | None, local: Sequence[IPv4Interface]
) -> str:
    """The advertised address to connect to (``addresses`` is not empty).

    A server listening on every interface advertises them all, Docker bridges
    included.  Preferred: the browsing interface's own address (a server on
    127.0.0.1); then one on a network of the browsing interface (of any
    non-loopback one when browsing all) that is not an address of this
    machine's; then the first.
    """
    if interface is not None and interface in addresses:
        return interface
    mine = {str(own.ip) for own in local}
    if interface is not None:
        networks = [own.network for own in local if str(own.ip) == interface]
    else:
        networks = [own.network for own in local if not own.ip.is_loopback]
    for address in addresses:
        ip = IPv4Address(address)
        if address not in mine and any(ip in network for network in networks):
            return address
    return addresses[0]


def found_from(
    info: AsyncServiceInfo,
    interface: str | None = None,
    local: Sequence[IPv4Interface] = (),
) -> Found | None:
    """The server an answer describes, or ``None`` if it is incomplete or speaks
    another protocol version.  ``local`` (this machine's addresses, see
    :func:`local_ipv4`) helps choose among several addresses: see
    :func:`best_address`."""
    addresses = info.parsed_addresses(IPVersion.V4Only)
    if not addresses or not info.port:
        return None
    txt = info.decoded_properties
    if txt.get("proto", str(PROTOCOL_VERSION)) != str(PROTOCOL_VERSION):
        logger.debug("skipping %s: protocol %s", info.name, txt.get("proto"))
        return None
    suffix = "." + SERVICE_TYPE
    instance = info.name[: -len(suffix)] if info.name.lower().endswith(suffix) else info.name
    return Found(
        name=sanitize(instance),
        host=best_address(addresses, interface, local),
        port=info.port,
        tls=txt.get("tls") == "1",
        password=txt.get("pw") == "1",
    )


async def browse(
    seconds: float,
    interface: str | None = None,
    *,
    on_found: Callable[[int], None] | None = None,
    zeroconf_factory: ZeroconfFactory = open_zeroconf,
) -> list[Found]:
    """Browse for ``seconds``; the servers advertised at the end, sorted by name.

    ``interface`` is the address of the one interface to browse on (``None``:
    all of them).  ``on_found`` is told how many servers have answered so far,
    whenever that changes.  ``zeroconf_factory`` opens the listener (tests
    inject a failing one).  Raises :class:`DiscoveryError` if browsing cannot
    start.
    """
    try:
        responder = zeroconf_factory(interface)
    except _FAILURES as exc:
        raise DiscoveryError(f"cannot browse over mDNS: {exc}") from None
    try:
        return await _browse(responder, seconds, interface, on_found)
    except _FAILURES as exc:
        raise DiscoveryError(f"cannot browse over mDNS: {exc}") from None
    finally:
        with contextlib.suppress(*_FAILURES):
            await responder.async_close()


async def _browse(
    responder: AsyncZeroconf,
    seconds: float,
    interface: str | None,
    on_found: Callable[[int], None] | None,
) -> list[Found]:
    zc = responder.zeroconf
    names: set[str] = set()
    lookups: set[asyncio.Task[bool]] = set()
    timeout_ms = max(1.0, seconds * 1000)

    def changed(name: str, state_change: ServiceStateChange, **_: object) -> None:
        count = len(names)
        if state_change is ServiceStateChange.Removed:
            names.discard(name)
        else:
            names.add(name)
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            if not info.load_from_cache(zc):  # ask for what the answer lacked
                lookup = asyncio.create_task(
                    info.async_request(zc, timeout_ms, question_type=DNSQuestionType.QM)
                )
                lookups.add(lookup)
                lookup.add_done_callback(lookups.discard)
        if on_found is not None and len(names) != count:
            on_found(len(names))

    await zc.async_wait_for_start()
    if not zc.engine.senders:
        where = f"the interface with address {interface}" if interface else "any interface"
        raise OSError(f"multicast does not work on {where}")
    browser = AsyncServiceBrowser(
        zc, [SERVICE_TYPE], handlers=[changed], question_type=DNSQuestionType.QM
    )
    try:
        await asyncio.sleep(seconds)
    finally:
        await browser.async_cancel()
        for lookup in list(lookups):
            lookup.cancel()
        if lookups:
            await asyncio.wait(lookups)
    servers: list[Found] = []
    local = local_ipv4()
    for name in names:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if info.load_from_cache(zc):
            found = found_from(info, interface, local)
            if found is not None:
                servers.append(found)
    return sorted(servers, key=lambda found: (found.name.casefold(), found.address))
