"""Batch mode: chat-client as a pipe, for scripts and acceptance tests.

``echo hello | chat-client 127.0.0.1:7878 --nick bot --room general`` joins
every ``--room``, sends each input line as a ``say`` to the first room (a line
starting with ``/`` is a command, as in the interactive client) and prints
every incoming message at once, flushed, one line per text line::

    ROOM <NICK> TEXT        a message
    ROOM * NICK TEXT        an action (/me)
    *NICK* TEXT             a whisper (to us, or our own echoed back)

All of it sanitised.  At the end of input it waits until the server has echoed
each of its own messages (matched by ``id``), says ``quit`` and returns 0; it
returns 1 if it cannot connect or the connection is lost, and 1 if any input
line could not be sent (a refused command, no room to say it in, an unknown
nick, a room it could not join), after saying why on standard error.  A line
longer than the server's ``max_text`` goes as several messages, cut at word
boundaries.

The server drops messages above its rate limit with ``rate_limited``; batch
mode then re-sends them in order, one at a time, backing off, so that a long
input is delivered whole rather than cut short.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import logging
import secrets
import selectors
import sys
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO, TypeVar

from protocol import (
    DEFAULT_MAX_TEXT,
    ClientMessage,
    Error,
    Join,
    Joined,
    Message,
    Say,
    Whisper,
    WhisperMessage,
    fold,
)

from . import commands
from .commands import Context, Local, Problem
from .events import Disconnected, Event, GaveUp, Incoming
from .link import ConnectFailed, Endpoint, Refused
from .pacing import Pacer
from .reconnect import Connection
from .sanitize import sanitize

__all__ = ["BatchClient", "format_message", "format_whisper", "read_lines"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Messages sent but not yet echoed, at most; bounds what one burst can lose.
IN_FLIGHT = 5
#: Seconds between sends after the server has rate-limited us: start, most.
PACE_START = 0.25
PACE_MAX = 2.0


def format_message(message: Message) -> list[str]:
    """``ROOM <NICK> TEXT`` (``ROOM * NICK TEXT`` for an action), one per text line."""
    room, nick = sanitize(message.room), sanitize(message.from_)
    head = f"{room} * {nick} " if message.action else f"{room} <{nick}> "
    return [head + sanitize(line) for line in message.text.split("\n")]


def format_whisper(message: WhisperMessage) -> list[str]:
    """``*NICK* TEXT``, one per text line; NICK is the sender."""
    head = f"*{sanitize(message.from_)}* "
    return [head + sanitize(line) for line in message.text.split("\n")]


@dataclass(order=True)
class _Pending:
    order: int
    message: ClientMessage = field(compare=False)
    outcome: asyncio.Future[str] = field(compare=False)


def _pollable(fd: int) -> bool:
    """Whether the event loop can watch ``fd`` (not so for files and /dev/null)."""
    with selectors.DefaultSelector() as selector:
        try:
            selector.register(fd, selectors.EVENT_READ)
        except (OSError, ValueError):
            return False
    return True


async def read_lines(stream: BinaryIO) -> AsyncIterator[str]:
    """The lines of ``stream`` without their line ends, read without blocking the loop.

    A regular file (or ``/dev/null``) cannot be watched by the event loop, and
    never blocks, so it is read directly; pipes, terminals and sockets are read
    asynchronously.
    """
    if not _pollable(stream.fileno()):
        for raw in stream:
            yield raw.decode("utf-8", "replace").rstrip("\r\n")
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), stream
    )
    try:
        while raw := await reader.readline():
            yield raw.decode("utf-8", "replace").rstrip("\r\n")
    finally:
        transport.close()


class BatchClient:
    """One batch session.  Call :meth:`run` with the input lines; it returns the exit status."""

    def __init__(
        self,
        endpoint: Endpoint,
        nick: str,
        *,
        rooms: Sequence[str] = (),
        password: str | None = None,
        out: TextIO = sys.stdout,
        err: TextIO = sys.stderr,
    ) -> None:
        self.rooms = list(rooms)
        self.out = out
        self.err = err
        self.connection = Connection(
            endpoint, nick, password=password, on_event=self._on_event, reconnect=False
        )
        self._tag = secrets.token_hex(3)
        self._ids = itertools.count(1)
        self._order = itertools.count()
        self._pending: dict[str, _Pending] = {}
        self._retry: list[_Pending] = []
        self._careful = False
        self._pace = 0.0
        self._lost: asyncio.Future[str] | None = None
        self._joining: dict[str, asyncio.Future[None]] = {}
        self._pacer: Pacer | None = None
        #: Set when a line could not be sent (the exit status is then 1).
        self.failed = False

    async def run(self, lines: AsyncIterator[str]) -> int:
        """Connect, join, send ``lines``, wait for the echoes, quit.

        Returns 0, or 1 if the link fails or a line could not be sent.
        """
        self._lost = asyncio.get_running_loop().create_future()
        try:
            await self.connection.connect()
        except ConnectFailed as exc:
            self._complain(str(exc))
            return 1
        except Refused as exc:
            if exc.code == "auth_failed" and self.connection.password is None:
                where = self.connection.endpoint
                self._complain(
                    f"{where} needs a password: set CHAT_PASSWORD, or password in the settings file"
                )
            elif exc.code == "auth_failed":
                self._complain(f"{self.connection.endpoint}: wrong password")
            else:
                self._complain(str(exc))
            return 1
        reader = asyncio.create_task(self.connection.run())
        try:
            return await self._session(lines)
        except ConnectionError:
            return 1
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _session(self, lines: AsyncIterator[str]) -> int:
        loop = asyncio.get_running_loop()
        welcome = self.connection.welcome
        # Joins cost a rate token: more --room than the server's burst are paced.
        self._pacer = pacer = Pacer(self.connection.send, loop.time, loop.call_later)
        if welcome is not None:
            pacer.limits(welcome.rate, welcome.burst)
        for room in self.rooms:
            self._joining[fold(room)] = loop.create_future()
            pacer.send(Join(room=room))
        for waiter in list(self._joining.values()):
            await self._unless_lost(waiter)
        context = Context(
            room=self.rooms[0] if self.rooms else None,
            max_text=(welcome and welcome.max_text) or DEFAULT_MAX_TEXT,
        )
        iterator = aiter(lines)
        while True:
            line = await self._unless_lost(anext(iterator, None))
            if line is None:
                break
            result = commands.parse(line, context)
            if result is None:
                continue
            if isinstance(result, Problem):
                self._refused(result.text)
            elif isinstance(result, Local):
                if result.action == "quit":
                    break
            else:
                for message in result.messages:
                    await self._send(message)
        await self._settle()
        await self.connection.quit()
        return 1 if self.failed else 0

    async def _unless_lost(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``; raises ConnectionError if the connection is lost first."""
        assert self._lost is not None
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        await asyncio.wait((task, self._lost), return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise ConnectionError(self._lost.result())
        return task.result()

    async def _send(self, message: ClientMessage) -> None:
        if isinstance(message, Say | Whisper):
            message = message.model_copy(update={"id": f"{self._tag}-{next(self._ids)}"})
            pending = _Pending(next(self._order), message, self._new_outcome())
            while len(self._pending) >= IN_FLIGHT and not self._careful:
                await self._first_outcome()
            if self._careful:
                bisect.insort(self._retry, pending)
                await self._resend()
                return
            self._pending[message.id or ""] = pending
        self.connection.send(message)
        await self._unless_lost(self.connection.drain())

    async def _first_outcome(self) -> None:
        waiting = [p.outcome for p in self._pending.values()]
        await self._unless_lost(asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED))

    def _new_outcome(self) -> asyncio.Future[str]:
        return asyncio.get_running_loop().create_future()

    async def _resend(self) -> None:
        """Send the rate-limited messages again, in order, one at a time."""
        while self._retry:
            pending = self._retry.pop(0)
            pending.outcome = self._new_outcome()
            await self._unless_lost(asyncio.sleep(self._pace))
            message = pending.message
            assert isinstance(message, Say | Whisper)
            assert message.id is not None
            self._pending[message.id] = pending
            self.connection.send(message)
            outcome = await self._unless_lost(pending.outcome)
            if outcome == "rate_limited":
                self._pace = min(PACE_MAX, self._pace * 2)
            else:
                self._pace = max(PACE_START / 5, self._pace * 0.95)

    async def _settle(self) -> None:
        """Wait until every message sent has been echoed or refused."""
        while self._pending or self._retry:
            if self._retry:
                await self._resend()
            else:
                waiting = [p.outcome for p in self._pending.values()]
                await self._unless_lost(asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED))

    def _resolve(self, message_id: str | None, outcome: str) -> None:
        pending = self._pending.pop(message_id or "", None)
        if pending is None:
            return
        if outcome == "rate_limited":
            if not self._careful:
                self._careful = True
                self._pace = PACE_START
            bisect.insort(self._retry, pending)
        if not pending.outcome.done():
            pending.outcome.set_result(outcome)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Incoming):
            self._incoming(event)
        elif isinstance(event, Disconnected | GaveUp):
            self._complain(f"connection lost: {event.reason}")
            if self._lost is not None and not self._lost.done():
                self._lost.set_result(event.reason)

    def _incoming(self, event: Incoming) -> None:
        message = event.message
        me = fold(self.connection.nick)
        if isinstance(message, Message):
            self._print(format_message(message))
            if fold(message.from_) == me:
                self._resolve(message.id, "ok")
        elif isinstance(message, WhisperMessage):
            self._print(format_whisper(message))
            if fold(message.from_) == me:
                self._resolve(message.id, "ok")
        elif isinstance(message, Joined):
            self._joined(fold(message.room))
        elif isinstance(message, Error):
            pacer = self._pacer
            if message.code == "rate_limited" and pacer is not None and pacer.refused(message.id):
                return  # a paced join: it goes again once a token is back
            if message.code != "rate_limited" or message.id not in self._pending:
                self._refused(f"{sanitize(message.message)} ({sanitize(message.code)})")
            if message.ref == "join" and self._joining:
                self._joined(next(iter(self._joining)))  # joins are answered in order
            self._resolve(message.id, message.code)

    def _joined(self, key: str) -> None:
        waiter = self._joining.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _print(self, lines: list[str]) -> None:
        try:
            self.out.write("".join(line + "\n" for line in lines))
            self.out.flush()
        except BrokenPipeError:  # the reader went away; keep sending regardless
            logger.info("standard output is closed")

    def _refused(self, text: str) -> None:
        """A line could not be sent: say why; the exit status will be 1."""
        self.failed = True
        self._complain(text)

    def _complain(self, text: str) -> None:
        self.err.write(f"chat-client: {sanitize(text)}\n")
        self.err.flush()
