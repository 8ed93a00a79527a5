"""The client's discovery options, and ``chat-client --discover``.

:func:`add_arguments` adds ``--discover``, ``--discover-timeout`` and
``--discover-interface`` to the parser; :func:`check` validates them after
parsing (exit 2, one line); :func:`run` is ``--discover`` itself: it prints
one line per server found and returns the exit status.  The mDNS library is
imported only when browsing, so a batch client starts as fast as before.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
from typing import TextIO

__all__ = ["DEFAULT_TIMEOUT", "add_arguments", "check", "run"]

DEFAULT_TIMEOUT = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--discover",
        action="store_true",
        help="list the hubbub servers on the LAN, one per line, and exit (1 if none)",
    )
    parser.add_argument(
        "--discover-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds to look for servers (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--discover-interface",
        metavar="ADDR",
        help="look only on the interface with this IPv4 address (default: all)",
    )


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit 2 with one line if a discovery option is unusable."""
    timeout: float = args.discover_timeout
    if not (math.isfinite(timeout) and timeout > 0):
        parser.error("--discover-timeout must be a positive number of seconds")
    interface: str | None = args.discover_interface
    if interface is not None:
        try:
            ipaddress.IPv4Address(interface)
        except ValueError:
            parser.error(f"--discover-interface {interface!r}: not an IPv4 address")
    if args.discover and args.address is not None:
        parser.error("--discover takes no HOST")


async def run(seconds: float, interface: str | None, stdout: TextIO, stderr: TextIO) -> int:
    """Browse for ``seconds``, print ``NAME<TAB>HOST:PORT<TAB>tls=0|1<TAB>password=0|1``
    per server found; 0 if there was one, 1 if none (or browsing failed)."""
    from .discovery import DiscoveryError, browse  # the mDNS library, only when browsing

    try:
        servers = await browse(seconds, interface)
    except DiscoveryError as exc:
        stderr.write(f"chat-client: {exc}\n")
        stderr.flush()
        return 1
    for server in servers:
        stdout.write(server.line() + "\n")
    stdout.flush()
    return 0 if servers else 1
