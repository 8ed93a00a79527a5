"""A connection to one server that comes back by itself.

:class:`Connection` keeps a logical connection alive on top of
:class:`~chat_client.link.Link`: call :meth:`Connection.connect` once (it
raises :class:`~chat_client.link.ConnectFailed` or
:class:`~chat_client.link.Refused` with a one-line reason for people), then
run :meth:`Connection.run` as a background task.  It answers the server's
``ping`` itself, reports everything else through the ``on_event`` callback
(see :mod:`chat_client.events`), and when the connection drops -- or the
server says ``bye`` -- it waits (:class:`Backoff`: 1 s doubling to 30 s, with
jitter) and connects again with the same nick.  Re-joining rooms is the
caller's business: it is told :class:`~chat_client.events.Connected` with
``again=True``.

The sleep function and the jitter's random source are injected, so tests can
run the reconnect schedule on a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from protocol import Bye, Ping, Pong, Quit, Welcome

from .events import Connected, Disconnected, Event, GaveUp, Incoming, Retrying
from .link import (
    ConnectFailed,
    ConnectionLost,
    Endpoint,
    Link,
    Refused,
    alternative_nick,
    handshake,
)

__all__ = ["RETRYABLE", "Backoff", "Connection", "Sleep", "State"]

logger = logging.getLogger(__name__)


@dataclass
class Backoff:
    """Reconnect delays: ``initial`` seconds, times ``factor`` each time, at most ``maximum``.

    Each delay is shortened by up to ``jitter`` of itself (a random fraction),
    so that many clients dropped together do not come back together.
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.25
    random: Callable[[], float] = field(default=random.random)

    def delays(self) -> Iterator[float]:
        """An endless iterator of delays; start a new one after each success."""
        delay = self.initial
        while True:
            yield delay * (1.0 - self.jitter * self.random())
            delay = min(delay * self.factor, self.maximum)


State = Literal["offline", "online", "waiting", "connecting", "closed"]
Sleep = Callable[[float], Awaitable[None]]

#: ``hello`` errors worth trying again later rather than giving up on.
RETRYABLE = frozenset({"server_full", "rate_limited", "server_shutdown", "not_ready"})


class Connection:
    """A connection to one server that comes back by itself.

    Call :meth:`connect` first, then run :meth:`run` as a task until it
    returns (after :meth:`quit`, or :class:`GaveUp`).  Use :meth:`send` for
    every outgoing message; it returns ``False`` while offline.

    ``timeout`` bounds connecting and the handshake.  After ``idle`` seconds
    without a frame the client pings the server itself, and after as long
    again it gives the connection up as dead (a peer that vanished without a
    FIN, such as a suspended laptop's server) and reconnects.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        nick: str,
        *,
        password: str | None = None,
        on_event: Callable[[Event], None] = lambda event: None,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 10.0,
        idle: float = 60.0,
        reconnect: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.nick = nick
        self.password = password
        self.on_event = on_event
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.timeout = timeout
        self.idle = idle
        self.reconnect = reconnect
        self.state: State = "offline"
        self.welcome: Welcome | None = None
        self._link: Link | None = None
        self._closing = False
        self._dropped = False
        #: Clear while :meth:`run` is reading the link, so :meth:`quit` can wait for it.
        self._reading = asyncio.Event()
        self._reading.set()

    @property
    def online(self) -> bool:
        return self._link is not None and self.state == "online"

    async def connect(self) -> Welcome:
        """Connect and handshake once with :attr:`nick`.

        Raises :class:`ConnectFailed` (unreachable, or closed before welcome)
        or :class:`Refused` (``error`` to ``hello``: ``nick_taken``,
        ``auth_failed``...); after :class:`Refused` the caller may change
        :attr:`nick` or :attr:`password` and call again.
        """
        self.state = "connecting"
        try:
            link = await Link.open(self.endpoint, limit=self.timeout)
        except ConnectFailed:
            self.state = "offline"
            raise
        try:
            async with asyncio.timeout(self.timeout):
                welcome = await handshake(link, self.nick, self.password)
        except TimeoutError:
            await link.close()
            self.state = "offline"
            raise ConnectFailed(f"no welcome from {self.endpoint}") from None
        except ConnectionLost as exc:
            await link.close()
            self.state = "offline"
            raise ConnectFailed(f"{self.endpoint}: {exc}") from None
        except Refused:
            await link.close()
            self.state = "offline"
            raise
        self._link = link
        self.welcome = welcome
        self.nick = welcome.nick
        self.state = "online"
        return welcome

    def send(self, message: BaseModel) -> bool:
        """Send ``message`` if online; returns whether it went out."""
        if self._link is None or self.state != "online":
            return False
        self._link.send(message)
        return True

    async def drain(self) -> None:
        """Wait for the send buffer to empty; raises :class:`ConnectionLost`."""
        if self._link is not None:
            await self._link.drain()

    async def run(self) -> None:
        """Read until :meth:`quit`; reconnect whenever the connection drops.

        Returns after :meth:`quit`, after :class:`GaveUp`, or -- when built
        with ``reconnect=False`` -- after the first :class:`Disconnected`.
        """
        try:
            while not self._closing:
                if self._link is None and not await self._come_back():
                    return
                link = self._link
                assert link is not None
                self._reading.clear()
                reason = await self._read(link)
                self._reading.set()
                if self._closing:
                    break
                await link.close()
                self._link = None
                self.state = "offline"
                self.on_event(Disconnected(reason))
                if not self.reconnect:
                    return
        finally:
            self._reading.set()
        self.state = "closed"

    def drop(self) -> None:
        """Close the connection now; :meth:`run` reports it and reconnects."""
        if self._link is not None:
            self._dropped = True
            self._link.abort()

    async def quit(self, reason: str | None = None, *, wait: float = 2.0) -> None:
        """Say ``quit`` and wait up to ``wait`` seconds for the server to close.

        Safe to call while :meth:`run` is reading (it stops) or not running.
        """
        self._closing = True
        link = self._link
        self.state = "closed"
        if link is None:
            return
        link.send(Quit(reason=reason or None))
        with contextlib.suppress(ConnectionLost, TimeoutError):
            async with asyncio.timeout(wait):
                if not self._reading.is_set():
                    await self._reading.wait()
                else:
                    while True:
                        await link.recv()
        self._link = None
        await link.close()

    async def _read(self, link: Link) -> str:
        bye: str | None = None
        probing = False
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle):
                        message = await link.recv()
                except TimeoutError:
                    if probing:
                        raise ConnectionLost(
                            f"no answer from the server for {2 * self.idle:g}s"
                        ) from None
                    link.send(Ping(token="idle"))
                    probing = True
                    continue
                probing = False
                if isinstance(message, Ping):
                    link.send(Pong(token=message.token))
                    continue
                if isinstance(message, Bye):
                    bye = message.reason
                self.on_event(Incoming(message))
        except ConnectionLost as exc:
            if self._dropped:
                self._dropped = False
                return "dropped on request"
            return f"the server said bye: {bye}" if bye else str(exc)

    async def _come_back(self) -> bool:
        error = ""
        for attempt, delay in enumerate(self.backoff.delays(), 1):
            self.state = "waiting"
            self.on_event(Retrying(delay, attempt, error))
            await self.sleep(delay)
            if self._closing:
                return False
            try:
                welcome = await self._connect_keeping_nick()
            except ConnectFailed as exc:
                error = str(exc)
                continue
            except Refused as exc:
                if exc.code in RETRYABLE or exc.code == "nick_taken":
                    error = exc.message
                    continue
                self.state = "closed"
                self.on_event(GaveUp(f"the server refused us: {exc}"))
                return False
            self.on_event(Connected(welcome, again=True))
            return True
        raise AssertionError("Backoff.delays() is endless")  # pragma: no cover

    async def _connect_keeping_nick(self) -> Welcome:
        wanted = self.nick
        for _ in range(4):
            try:
                return await self.connect()
            except Refused as exc:
                if exc.code != "nick_taken":
                    raise
                logger.info("nick %s is taken, trying another", self.nick)
                self.nick = alternative_nick(self.nick)
        self.nick = wanted
        return await self.connect()
