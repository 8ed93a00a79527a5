"""One open connection to a server, and the ways it fails.

:class:`Link` is a TCP (or TLS) connection that frames and parses with the
shared ``protocol`` package: open one with :meth:`Link.open`, greet the server
with :func:`handshake`, then :meth:`Link.send` and :meth:`Link.recv` until you
:meth:`Link.close` it.  It never reconnects; :mod:`chat_client.reconnect`
does that on top of it.

Every error it raises has a ``str()`` that is one line for people (network
text in it is not sanitised: pass it through :func:`chat_client.sanitize.sanitize`
before printing it)::

    LinkError
     +-- ConnectFailed     the server could not be reached (or closed before welcome)
     +-- ConnectionLost    an open connection ended or broke
     +-- Refused           the server answered ``hello`` with ``error``
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass

from pydantic import BaseModel

from protocol import (
    PROTOCOL_VERSION,
    Bye,
    Decoder,
    Error,
    FrameError,
    Hello,
    MessageError,
    Ping,
    Pong,
    ServerMessage,
    Welcome,
    encode,
    parse_server,
)

__all__ = [
    "MAX_FRAME",
    "ConnectFailed",
    "ConnectionLost",
    "Endpoint",
    "Link",
    "LinkError",
    "Refused",
    "alternative_nick",
    "handshake",
]

logger = logging.getLogger(__name__)

#: The client accepts frames up to this size; the server's own limit is lower.
MAX_FRAME = 16 * 1024 * 1024
READ_SIZE = 65536


@dataclass(frozen=True)
class Endpoint:
    """Where the server is.  ``tls`` is ``None`` for plain TCP."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class LinkError(Exception):
    """The root of the errors a link raises; ``str()`` is one line for people."""


class ConnectFailed(LinkError):
    """The server could not be reached; ``str()`` is one line for people."""


class ConnectionLost(LinkError):
    """An open connection ended; ``str()`` says why."""


class Refused(LinkError):
    """The server answered ``hello`` with an ``error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message


def alternative_nick(nick: str) -> str:
    """The nick to suggest when ``nick`` is taken: ``alice`` -> ``alice_``."""
    return (nick + "_") if len(nick) < 32 else nick[:31] + "_"


class Link:
    """One open connection: frames out with :meth:`send`, messages in with :meth:`recv`.

    Call :meth:`close` when done.  :meth:`recv` raises :class:`ConnectionLost`
    when the stream ends or breaks; it skips message types this version does
    not know and bodies it cannot parse.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._decoder = Decoder(max_frame=MAX_FRAME)

    @classmethod
    async def open(cls, endpoint: Endpoint, *, limit: float = 10.0) -> Link:
        """Connect within ``limit`` seconds; raises :class:`ConnectFailed` with a clear reason."""
        where = str(endpoint)
        try:
            async with asyncio.timeout(limit):
                reader, writer = await asyncio.open_connection(
                    endpoint.host,
                    endpoint.port,
                    ssl=endpoint.tls,
                    server_hostname=endpoint.host if endpoint.tls else None,
                    limit=READ_SIZE,
                )
        except socket.gaierror:
            raise ConnectFailed(f"cannot resolve host {endpoint.host!r}") from None
        except ConnectionRefusedError:
            raise ConnectFailed(
                f"connection refused by {where} (is chat-server running there?)"
            ) from None
        except TimeoutError:
            raise ConnectFailed(f"timed out connecting to {where}") from None
        except ssl.SSLError as exc:
            raise ConnectFailed(f"TLS with {where} failed: {exc.reason or exc}") from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {where}: {exc.strerror or exc}") from None
        return cls(reader, writer)

    def send(self, message: BaseModel) -> None:
        """Queue one message for sending; a closed link drops it silently."""
        if not self._writer.is_closing():
            self._writer.write(encode(message))

    async def drain(self) -> None:
        """Wait until the send buffer is low; raises :class:`ConnectionLost`."""
        try:
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            raise ConnectionLost(f"connection lost: {exc}") from None

    async def recv(self) -> ServerMessage:
        """The next message from the server; raises :class:`ConnectionLost`."""
        while True:
            try:
                body = self._decoder.next_frame()
            except FrameError as exc:
                raise ConnectionLost(f"broken frame from the server: {exc}") from None
            if body is not None:
                try:
                    return parse_server(body)
                except MessageError as exc:
                    if exc.code != "unknown_type":
                        logger.warning("ignoring a server frame: %s", exc.message)
                    continue
            try:
                data = await self._reader.read(READ_SIZE)
            except (OSError, ssl.SSLError) as exc:
                raise ConnectionLost(f"connection lost: {exc}") from None
            if not data:
                raise ConnectionLost("the server closed the connection")
            self._decoder.feed(data)

    def abort(self) -> None:
        """Close at once, discarding anything unsent; :meth:`recv` then raises."""
        self._writer.transport.abort()

    async def close(self) -> None:
        """Close the connection; never raises."""
        self._writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()


async def handshake(link: Link, nick: str, password: str | None) -> Welcome:
    """Send ``hello`` and wait for ``welcome``, answering pings meanwhile.

    Raises :class:`Refused` if the server answers ``error`` (the link stays
    open: the caller may call again with another nick, or close it), and
    :class:`ConnectionLost` if the server says ``bye`` or closes first (the
    caller must then close the link).  Bound it with a timeout: a silent
    server makes it wait for ever.
    """
    link.send(Hello(nick=nick, protocol=PROTOCOL_VERSION, password=password))
    while True:
        message = await link.recv()
        if isinstance(message, Welcome):
            return message
        if isinstance(message, Error):
            raise Refused(message.code, message.message)
        if isinstance(message, Ping):
            link.send(Pong(token=message.token))
        elif isinstance(message, Bye):
            raise ConnectionLost(f"the server said bye: {message.reason}")
