"""A small Redis client: RESP2 over one asyncio connection, pipelined.

The Redis store sends few kinds of commands, most of them on a hot path
(a script call per batch of changes, a blocking ``XREAD`` per batch read),
where a general client's per-command machinery cost more than the work.
:class:`RedisConnection` writes each call's commands in one write and
matches replies to calls in order; any number of calls may be in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

#: Seconds to connect (and authenticate) before giving up.
CONNECT_TIMEOUT = 3.0

Arg = bytes | str | int
Reply = Any  # bytes, int, None, a list of replies, or a ReplyError


class RedisError(Exception):
    """Redis cannot be used: the connection failed or broke, or it broke the protocol."""


class ReplyError(RedisError):
    """Redis answered a command with an error (``message`` is its text)."""

    @property
    def no_script(self) -> bool:
        """The script is not loaded (Redis restarted or flushed its scripts)."""
        return str(self).startswith("NOSCRIPT")


@dataclass(frozen=True, slots=True)
class Address:
    """Where a Redis server is and how to log in, from a ``redis://`` URL."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None
    tls: bool = False
    username: str | None = None
    password: str | None = None
    db: int = 0

    @classmethod
    def from_url(cls, url: str) -> Address:
        """``redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]``, ``rediss://`` (TLS) or
        ``unix://PATH[?db=N]``; raises ``ValueError`` for anything else."""
        parts = urlsplit(url)
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        query = dict(item.partition("=")[::2] for item in parts.query.split("&") if item)
        if parts.scheme == "unix":
            return cls(path=parts.path, username=username, password=password,
                       db=int(query.get("db", "0")))  # fmt: skip
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"not a Redis URL: {url}")
        db = parts.path.strip("/") or query.get("db", "0")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            tls=parts.scheme == "rediss",
            username=username,
            password=password,
            db=int(db),
        )


def command(*args: Arg) -> bytes:
    """One command in RESP."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = b"%d" % arg
        out.append(b"$%d\r\n" % len(arg))
        out.append(arg)
        out.append(b"\r\n")
    return b"".join(out)


class _Incomplete(Exception):
    """The buffer ends inside a reply."""


def parse(buffer: bytes, pos: int) -> tuple[Reply, int]:
    """The reply starting at ``pos`` and where the next one starts.

    Raises :class:`_Incomplete` if the buffer ends first and :class:`RedisError`
    for bytes that are not RESP2.  Iterative: a stream read is a few nested arrays.
    """
    find = buffer.find
    size = len(buffer)
    arrays: list[tuple[list[Reply], int]] = []  # open arrays and how many items each wants
    value: Reply
    while True:
        end = find(b"\r\n", pos)
        if end < 0:
            raise _Incomplete
        kind = buffer[pos]
        if kind == 36:  # $ bulk string
            length = int(buffer[pos + 1 : end])
            if length < 0:
                value, pos = None, end + 2
            else:
                pos = end + 4 + length
                if pos > size:
                    raise _Incomplete
                value = buffer[end + 2 : pos - 2]
        elif kind == 42:  # * array
            count = int(buffer[pos + 1 : end])
            pos = end + 2
            if count > 0:
                arrays.append(([], count))
                continue
            value = [] if count == 0 else None
        elif kind == 58:  # : integer
            value, pos = int(buffer[pos + 1 : end]), end + 2
        elif kind == 43:  # + simple string
            value, pos = buffer[pos + 1 : end], end + 2
        elif kind == 45:  # - error
            value, pos = ReplyError(buffer[pos + 1 : end].decode(errors="replace")), end + 2
        else:
            raise RedisError(f"Redis sent something that is not RESP: {buffer[pos:end][:40]!r}")
        while arrays:
            items, count = arrays[-1]
            items.append(value)
            if len(items) < count:
                break
            arrays.pop()
            value = items
        else:
            return value, pos


class RedisConnection(asyncio.Protocol):
    """One connection to Redis; open it with :meth:`open`, end it with :meth:`close`."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        #: Calls waiting for replies: (future, replies wanted, replies so far).
        self._waiting: deque[tuple[asyncio.Future[list[Reply]], int, list[Reply]]] = deque()
        self._broken: RedisError | None = None

    @classmethod
    async def open(cls, address: Address) -> RedisConnection:
        """Connect, log in and select the database within :data:`CONNECT_TIMEOUT` seconds.

        Raises :class:`RedisError`.
        """
        connection = cls()
        loop = connection._loop
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                if address.path is not None:
                    await loop.create_unix_connection(lambda: connection, address.path)
                else:
                    context = ssl.create_default_context() if address.tls else None
                    await loop.create_connection(
                        lambda: connection, address.host, address.port, ssl=context
                    )
                setup: list[Sequence[Arg]] = []
                if address.password is not None:
                    login = [address.username] if address.username else []
                    setup.append(("AUTH", *login, address.password))
                if address.db:
                    setup.append(("SELECT", address.db))
                for reply in await connection.pipeline(setup) if setup else []:
                    if isinstance(reply, ReplyError):
                        raise reply
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            connection.close()
            raise RedisError(str(exc) or type(exc).__name__) from exc
        except RedisError:
            connection.close()
            raise
        return connection

    def pipeline(self, commands: Sequence[Sequence[Arg]]) -> asyncio.Future[list[Reply]]:
        """Send ``commands`` in one write; the future holds their replies, in order.

        An error reply is a :class:`ReplyError` in the list; a broken
        connection fails the future with :class:`RedisError`.
        """
        return self.send(b"".join(command(*args) for args in commands), len(commands))

    def send(self, data: bytes, replies: int) -> asyncio.Future[list[Reply]]:
        """Send commands already in RESP (``replies`` of them); see :meth:`pipeline`."""
        future: asyncio.Future[list[Reply]] = self._loop.create_future()
        if self._broken is not None or self._transport is None:
            future.set_exception(self._broken or RedisError("not connected"))
            return future
        self._waiting.append((future, replies, []))
        self._transport.write(data)
        return future

    async def call(self, *args: Arg) -> Reply:
        """One command's reply; raises :class:`ReplyError` or :class:`RedisError`."""
        (reply,) = await self.pipeline([args])
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def close(self) -> None:
        if self._transport is not None:
            self._transport.abort()
        self._fail(RedisError("connection closed"))

    # --- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._buffer:  # a reply spans reads (bounded: see the stream's batch sizes)
            self._buffer += data
            data = bytes(self._buffer)
        buffer = data
        pos = 0
        waiting = self._waiting
        try:
            while pos < len(buffer):
                reply, pos = parse(buffer, pos)
                if not waiting:
                    raise RedisError("Redis sent a reply nobody asked for")
                future, wanted, replies = waiting[0]
                replies.append(reply)
                if len(replies) == wanted:
                    waiting.popleft()
                    if not future.done():
                        future.set_result(replies)
        except _Incomplete:
            pass
        except (RedisError, ValueError) as exc:
            self._fail(exc if isinstance(exc, RedisError) else RedisError(str(exc)))
            if self._transport is not None:
                self._transport.abort()
            return
        self._buffer = bytearray(buffer[pos:]) if pos < len(buffer) else bytearray()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisError(f"connection lost: {exc}" if exc else "connection closed by Redis"))

    def _fail(self, exc: RedisError) -> None:
        if self._broken is None:
            self._broken = exc
        while self._waiting:
            future, _, _ = self._waiting.popleft()
            if not future.done():
                future.set_exception(self._broken)
                with contextlib.suppress(BaseException):
                    future.exception()  # nobody may be waiting any more: no warning
