"""Where an interactive client connects when it is given no HOST.

:func:`locate` browses the LAN (showing a progress line), then decides with
:func:`decide`: one server found, that one; several, the person picks; none,
``127.0.0.1:7878``.  :func:`target` turns the decision into an
:class:`~chat_client.link.Endpoint` and a password: TLS when the server
advertises it (the person's own ``--tls-ca``/``--tls-insecure`` context wins),
and a password asked for when the server needs one and none was given.
The caller then connects as it would to an address it was given.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from .discovery import DiscoveryError, Found, browse
from .link import Endpoint
from .picker import pick

__all__ = ["Declined", "Target", "ask_password", "decide", "locate", "prompt_password", "target"]

Browse = Callable[[Callable[[int], None]], Awaitable[list[Found]]]
Pick = Callable[[Sequence[Found]], Awaitable[Found | None]]
AskPassword = Callable[[Found], Awaitable[str]]

#: Seconds between two repaints of the progress line.
TICK = 0.1
BAR = 20


class Declined(Exception):
    """The person was asked which server and chose none."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect and with which password (``None``: none)."""

    endpoint: Endpoint
    password: str | None


async def decide(servers: Sequence[Found], pick: Pick) -> Found | None:
    """The server to use: the only one, or the one picked among several;
    ``None`` when there is none.  Raises :class:`Declined` if none is picked."""
    if not servers:
        return None
    if len(servers) == 1:
        return servers[0]
    chosen = await pick(servers)
    if chosen is None:
        raise Declined("no server chosen")
    return chosen


async def target(
    found: Found | None,
    fallback: Endpoint,
    *,
    tls: ssl.SSLContext | None,
    password: str | None,
    ask_password: AskPassword,
) -> Target:
    """The endpoint and password for ``found`` (``fallback`` when ``None``).

    ``tls`` is the context the person configured, if any; otherwise a server
    advertising TLS gets the default, verifying one.  ``password`` is the one
    given (option or environment); a server that needs one when none was
    given makes this ask.
    """
    if found is None:
        return Target(fallback, password)
    if tls is None and found.tls:
        tls = ssl.create_default_context()
    if found.password and password is None:
        password = await ask_password(found)
    return Target(Endpoint(found.host, found.port, tls), password)


async def ask_password(found: Found) -> str:
    """Ask in the terminal, without echo, for the password of ``found``.

    Raises ``EOFError`` on Ctrl-D and ``KeyboardInterrupt`` on Ctrl-C.
    """
    return await prompt_password(f"password for {found.name}: ")


async def prompt_password(question: str) -> str:
    """Ask ``question`` in the terminal and read the answer without echo.

    Raises ``EOFError`` on Ctrl-D and ``KeyboardInterrupt`` on Ctrl-C.
    """
    from prompt_toolkit import PromptSession

    session: PromptSession[str] = PromptSession()
    return await session.prompt_async(question, is_password=True)


class Progress:
    """One terminal line that shows the browse going on, then a verdict."""

    def __init__(self, stream: TextIO, seconds: float) -> None:
        self._stream = stream
        self._seconds = seconds
        self._started = time.monotonic()
        self.count = 0

    def found(self, count: int) -> None:
        self.count = count
        self.draw()

    def draw(self) -> None:
        done = min(1.0, (time.monotonic() - self._started) / max(self._seconds, 1e-9))
        filled = round(done * BAR)
        answered = f"{self.count} found" if self.count else "none yet"
        self._stream.write(
            f"\r\x1b[Klooking for hubbub servers on the LAN [{'#' * filled}{' ' * (BAR - filled)}]"
            f" {answered}"
        )
        self._stream.flush()

    def finish(self, verdict: str) -> None:
        self._stream.write(f"\r\x1b[K{verdict}\n")
        self._stream.flush()

    async def run(self) -> None:
        while True:
            self.draw()
            await asyncio.sleep(TICK)


async def locate(
    fallback: Endpoint,
    *,
    seconds: float,
    interface: str | None,
    tls: ssl.SSLContext | None,
    password: str | None,
    ask_password: AskPassword,
    stream: TextIO,
    browse_with: Browse | None = None,
    pick_with: Pick = pick,
) -> Target:
    """Browse for at most ``seconds`` on ``interface`` (``None``: all) while
    showing a progress line on ``stream``, decide, and return the target.

    A browse that cannot start is reported on ``stream`` and counts as none
    found.  Raises :class:`Declined` when several servers answered and the
    person chose none, and ``KeyboardInterrupt`` on Ctrl-C in the picker.
    """
    progress = Progress(stream, seconds)
    if browse_with is None:

        async def browse_with(on_found: Callable[[int], None]) -> list[Found]:
            return await browse(seconds, interface, on_found=on_found)

    painter = asyncio.create_task(progress.run())
    try:
        servers = await browse_with(progress.found)
        problem = ""
    except DiscoveryError as exc:
        servers, problem = [], f"{exc}; "
    finally:
        painter.cancel()
        await asyncio.wait([painter])
    if not servers:
        progress.finish(f"{problem}no hubbub server answered; trying {fallback}")
    elif len(servers) == 1:
        progress.finish(f"found {servers[0].name} at {servers[0].address}")
    else:
        progress.finish(f"found {len(servers)} hubbub servers")
    chosen = await decide(servers, pick_with)
    return await target(chosen, fallback, tls=tls, password=password, ask_password=ask_password)
