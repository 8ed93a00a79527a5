"""The hot path of the Redis store: changes out in batches, the stream back in batches.

:class:`Publisher` sends what waits in the :class:`Outbox` as one script call
per batch (whatever was recorded while the previous call ran), on the
command connection.  :class:`Reader` reads the stream with a blocking
``XREAD`` on a connection of its own, many entries per round trip, asks for
the next entries before it applies these, and hands the hub one batch per
read (:meth:`Feed.apply` then :meth:`Feed.settle`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...changes import Feed, Quit
from .records import Op, change, header, records
from .scripts import APPLY
from .wire import RedisConnection, RedisError, ReplyError, command

log = logging.getLogger(__name__)

EVENTS = "hubbub:events"
#: Entries kept in the stream (approximately): a node that falls further
#: behind than this while connected loses deliveries, not history.
STREAM_MAXLEN = 100_000
#: Changes in one script call at most, and the bytes of their bodies.
BATCH = 500
BATCH_BYTES = 1 << 18
#: Script calls on their way at once.
IN_FLIGHT = 4
#: Stream entries in one read at most, and how long one read blocks (ms).
READ_COUNT = 32
READ_BLOCK_MS = 1000


@dataclass(eq=False)
class Link:
    """The store's connections to Redis, shared by its tasks.

    ``up`` is set while both connections work; a task that finds one broken
    calls ``lost`` (which clears ``up`` and reconnects) and waits for ``up``.
    """

    lost: Callable[[BaseException], None]
    up: asyncio.Event = field(default_factory=asyncio.Event)
    commands: RedisConnection | None = None
    reading: RedisConnection | None = None
    closing: bool = False

    def command_connection(self) -> RedisConnection:
        if self.commands is None or not self.up.is_set():
            raise RedisError("the shared store (Redis) is unreachable")
        return self.commands


class Outbox:
    """This node's changes waiting to be published, numbered, in order.

    The first :attr:`sent` of them are in script calls whose replies have not
    come back; they stay until :meth:`done`, so a broken connection loses none.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._ops: deque[tuple[int, Op]] = deque()
        self._counter = 0
        self.sent = 0
        #: The newest of our own changes seen coming back through the stream.
        self.seen = 0
        #: Set when a change is put (and by the publisher's replies).
        self.wake = asyncio.Event()
        #: Set whenever nothing waits.
        self.drained = asyncio.Event()
        self.drained.set()

    def __len__(self) -> int:
        return len(self._ops)

    def full(self) -> bool:
        return len(self._ops) >= self.limit

    def put(self, op: Op) -> None:
        self._counter += 1
        self._ops.append((self._counter, op))
        self.drained.clear()
        self.wake.set()

    def unsent(self) -> int:
        """How many changes wait to be sent."""
        return len(self._ops) - self.sent

    def batch(self) -> tuple[int, list[Op]]:
        """The next changes to send, and the number of the first; they count as :attr:`sent`."""
        ops = self._ops
        if not self.sent:
            while ops and ops[0][0] <= self.seen:
                ops.popleft()  # published before a failure hid the reply
        first = 0
        taken: list[Op] = []
        size = 0
        for counter, op in itertools.islice(ops, self.sent, None):
            if len(taken) >= BATCH or (taken and size > BATCH_BYTES):
                break
            first = first or counter
            taken.append(op)
            size += len(op[1])
        self.sent += len(taken)
        return first, taken

    def done(self, count: int) -> None:
        """The oldest ``count`` changes sent are in Redis."""
        for _ in range(count):
            self._ops.popleft()
        self.sent -= count
        if not self._ops:
            self.drained.set()


class Publisher:
    """Publishes the outbox in order, a script call per batch, up to
    :data:`IN_FLIGHT` calls at once on the command connection.

    Redis runs one connection's calls in order, so the batches are applied in
    order; after a broken connection every change not known to be in is sent
    again, and the script skips those that were (see :data:`~.scripts.APPLY`).
    """

    def __init__(self, link: Link, outbox: Outbox, node: str, retain: int, sha: str) -> None:
        self.link = link
        self.outbox = outbox
        self.sha = sha
        self.head = [sha, "0", node]
        self.tail = [str(retain), str(STREAM_MAXLEN)]
        self._flying: deque[tuple[asyncio.Future[list[Any]], int]] = deque()
        #: The connection the calls in flight went out on.
        self._on: RedisConnection | None = None

    async def run(self) -> None:
        link, outbox, flying = self.link, self.outbox, self._flying
        while True:
            await link.up.wait()
            connection = link.commands
            assert connection is not None
            if connection is not self._on:  # a new connection: what flew on the old one is lost
                self._restart()
                self._on = connection
            try:
                while flying and flying[0][0].done():
                    future, count = flying.popleft()
                    await self._settle(connection, future, count)
            except RedisError as exc:
                self._restart()
                if link.closing:
                    return
                link.lost(exc)
                continue
            while len(flying) < IN_FLIGHT and outbox.unsent():
                self._send(connection)
            if flying and flying[0][0].done():
                continue
            outbox.wake.clear()
            await outbox.wake.wait()

    def _send(self, connection: RedisConnection) -> None:
        first, ops = self.outbox.batch()
        args: list[str | bytes] = [*self.head, str(first), *self.tail]
        for kind, body, extra in ops:
            args += (kind, body, str(len(extra)), *extra)
        future = connection.send(command("EVALSHA", *args), 1)
        future.add_done_callback(lambda _: self.outbox.wake.set())
        self._flying.append((future, len(ops)))

    async def _settle(
        self, connection: RedisConnection, future: asyncio.Future[list[Any]], count: int
    ) -> None:
        """Take the reply of a batch; raises :class:`RedisError` if it may not be in."""
        (reply,) = future.result()
        if isinstance(reply, ReplyError):
            if reply.no_script:  # Redis restarted or flushed its scripts: send again
                self._restart()
                await connection.call("SCRIPT", "LOAD", APPLY)
                return
            log.error("Redis refused a batch of %d changes: %s", count, reply)
        self.outbox.done(count)

    def _restart(self) -> None:
        """Forget the calls in flight: what they carried is sent again."""
        self._flying.clear()
        self.outbox.sent = 0


class Reader:
    """Reads the stream from ``last_id`` on and hands every change to ``feed``."""

    def __init__(
        self,
        link: Link,
        feed: Feed,
        node: str,
        outbox: Outbox,
        last_id: bytes,
    ) -> None:
        self.link = link
        self.feed = feed
        self.node = node.encode()
        self.outbox = outbox
        self.last_id = last_id

    def _ask(self, connection: RedisConnection) -> asyncio.Future[list[Any]]:
        return connection.send(
            command("XREAD", "COUNT", READ_COUNT, "BLOCK", READ_BLOCK_MS,
                    "STREAMS", EVENTS, self.last_id),
            1,
        )  # fmt: skip

    async def run(self) -> None:
        link = self.link
        while True:
            await link.up.wait()
            connection = link.reading
            assert connection is not None
            asked = self._ask(connection)
            try:
                while True:
                    entries = self._entries(await asked)
                    asked = self._ask(connection)  # Redis works on it while we apply these
                    if entries:
                        self._apply(entries)
            except RedisError as exc:
                if link.closing:
                    return
                link.lost(exc)

    def _entries(self, replies: list[Any]) -> list[Any]:
        (reply,) = replies
        if isinstance(reply, ReplyError):
            raise reply
        entries: list[Any] = reply[0][1] if reply else []
        if entries:
            self.last_id = entries[-1][0]
        return entries

    def _apply(self, entries: list[list[Any]]) -> None:
        feed, node, outbox = self.feed, self.node, self.outbox
        for entry_id, (_, payload) in entries:
            author, counter, start = header(payload)
            mine = author == node
            if mine:
                outbox.seen = max(outbox.seen, counter)
            for kind, record in records(payload, start):
                try:
                    found = change(kind, record)
                except (ValueError, KeyError):
                    log.exception("unreadable change in %s entry %s", EVENTS, entry_id)
                    continue
                if isinstance(found, Quit):  # a reaped user belonged to another node
                    feed.apply(found, found.owner == self.node.decode())
                else:
                    feed.apply(found, mine)
        feed.settle()
