"""The Redis store: what the hub calls, and keeping the connections to Redis up.

When Redis is lost, the node tells its clients, keeps their changes in a
bounded outbox, reconnects by itself, re-seeds Redis from its own state if
Redis came back empty, and then publishes the outbox; nothing a client was
told about is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

from protocol import Message, encode_body, fold

from ...changes import Change, Feed, RoomState, Snapshot, StoreUnavailable
from . import liveness
from .moderation import ban_body, ban_field, ban_from_hash
from .records import op
from .scripts import APPLY, REFRESH, RELEASE, RESEED
from .stream import EVENTS, Link, Outbox, Publisher, Reader
from .wire import Address, RedisConnection, RedisError

log = logging.getLogger(__name__)

P = "hubbub:"
#: Seconds between reconnection attempts once Redis is lost (doubling to the max).
RECONNECT_FIRST = 0.1
RECONNECT_MAX = 2.0
#: Seconds a heartbeat may take before Redis counts as lost.
HEARTBEAT_TIMEOUT = 5.0


def _sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


class RedisStore:
    """A store shared with every other node on the same Redis database.

    ``retain`` messages are kept per room; ``node_ttl`` seconds without a
    heartbeat make a node dead to the others; ``backlog`` changes may wait
    while Redis is away before :meth:`record` refuses.
    """

    shared = True

    def __init__(
        self,
        url: str,
        *,
        retain: int,
        node_ttl: float = 10.0,
        backlog: int = 100_000,
        node: str | None = None,
    ) -> None:
        self.url = url
        self.address = Address.from_url(url)
        self.retain = retain
        self.node_ttl = node_ttl
        self.node = node or secrets.token_hex(6)
        self._feed: Feed | None = None
        self._link = Link(lost=self._lost)
        self._outbox = Outbox(backlog)
        self._tasks: list[asyncio.Task[None]] = []
        self._reconnecting: asyncio.Task[None] | None = None

    @property
    def backlog(self) -> int:
        return self._outbox.limit

    @backlog.setter
    def backlog(self, value: int) -> None:
        self._outbox.limit = value

    # --- lifecycle ---------------------------------------------------------

    async def open(self, feed: Feed) -> Snapshot:
        self._feed = feed
        link, outbox = self._link, self._outbox
        try:
            commands = await self._connect()
            snapshot, last_id = await self._load(commands)
            await self._heartbeat(commands)
        except RedisError as exc:
            self._disconnect()
            raise StoreUnavailable(f"--redis: cannot reach {self.url}: {exc}") from exc
        link.up.set()
        sha = _sha(APPLY)
        self._spawn(Reader(link, feed, self.node, outbox, last_id).run(), "redis-reader")
        self._spawn(Publisher(link, outbox, self.node, self.retain, sha).run(), "redis-publisher")
        self._spawn(self._keep_alive(), "redis-heartbeat")
        log.info("node %s sharing %s: %d rooms", self.node, self.url, len(snapshot.rooms))
        return snapshot

    async def close(self) -> None:
        """Publish what is queued (at most 3 s), withdraw this node, disconnect."""
        link = self._link
        if link.commands is None:
            return
        if len(self._outbox) and link.up.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.drained.wait(), 3.0)
        link.closing = True
        tasks = [*self._tasks, *([self._reconnecting] if self._reconnecting else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        if link.up.is_set():
            with contextlib.suppress(RedisError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await link.commands.pipeline(
                        [("DEL", f"{P}node:{self.node}"), ("SREM", P + "nodes", self.node)]
                    )
        self._disconnect()

    async def _connect(self) -> RedisConnection:
        """Open both connections and load the scripts; raises :class:`RedisError`.

        Returns the command connection; the caller sets ``up`` when ready.
        """
        self._disconnect()
        link = self._link
        link.commands = commands = await RedisConnection.open(self.address)
        link.reading = await RedisConnection.open(self.address)
        for reply in await commands.pipeline(
            [("SCRIPT", "LOAD", script) for script in (APPLY, RELEASE, REFRESH, RESEED)]
        ):
            if isinstance(reply, Exception):
                raise reply
        return commands

    def _disconnect(self) -> None:
        link = self._link
        link.up.clear()
        for connection in (link.commands, link.reading):
            if connection is not None:
                connection.close()

    async def _load(self, redis: RedisConnection) -> tuple[Snapshot, bytes]:
        await redis.call("SET", P + "epoch", secrets.token_hex(8), "NX")
        epoch = await redis.call("GET", P + "epoch")
        last = await redis.call("XREVRANGE", EVENTS, "+", "-", "COUNT", 1)
        last_id: bytes = last[0][0] if last else b"0-0"
        names = await redis.call("HGETALL", P + "rooms")
        rooms: list[RoomState] = []
        for key, name in zip(names[::2], names[1::2], strict=True):
            room = key.decode()
            seq, topic, bodies, members, meta = await redis.pipeline(
                [
                    ("HGET", P + "seq", room),
                    ("HGET", P + "topic", room),
                    ("LRANGE", f"{P}hist:{room}", -self.retain, -1),
                    ("HVALS", f"{P}members:{room}"),
                    ("HGET", P + "topicmeta", room),
                ]
            )
            history = [Message.model_validate_json(b) for b in bodies] if self.retain else []
            nicks = [value.split(b"\t", 1)[1].decode() for value in members]
            set_by: dict[str, Any] = json.loads(meta) if meta and topic is not None else {}
            if history or nicks:
                rooms.append(
                    RoomState(
                        name=name.decode(),
                        seq=int(seq or 0),
                        topic=topic.decode() if topic is not None else None,
                        history=history,
                        members=nicks,
                        topic_by=set_by.get("by"),
                        topic_ts=set_by.get("ts"),
                    )
                )
        kept = await redis.call("HVALS", P + "bans")
        bans = [ban_from_hash(value) for value in kept]
        snapshot = Snapshot(epoch=epoch.decode() if epoch else None, rooms=rooms, bans=bans)
        return snapshot, last_id

    # --- changes out -------------------------------------------------------

    def record(self, change: Change) -> bool:
        outbox = self._outbox
        if self._link.closing or outbox.full():
            return False
        found = op(change, self.node)
        if found is not None:
            outbox.put(found)
        return True

    def health(self) -> str:
        state = "up" if self._link.up.is_set() else "unreachable"
        waiting = len(self._outbox)
        return f"redis {self.url} (node {self.node}): {state}, {waiting} changes waiting"

    # --- nicks -------------------------------------------------------------

    async def claim_nick(self, nick: str) -> bool:
        value = f"{self.node}\t{nick}"
        ok = await self._call("SET", f"{P}nick:{fold(nick)}", value, "NX", "PX", self._ttl_ms())
        return ok is not None

    async def release_nick(self, nick: str) -> None:
        await self._call("EVALSHA", _sha(RELEASE), 1, f"{P}nick:{fold(nick)}", self.node)

    async def nick_exists(self, nick: str) -> str | None:
        value = await self._call("GET", f"{P}nick:{fold(nick)}")
        if value is None:
            return None
        return str(value.split(b"\t", 1)[1].decode())

    async def _call(self, *args: str | int) -> Any:
        """One command on the command connection; raises :class:`StoreUnavailable`."""
        try:
            return await self._link.command_connection().call(*args)
        except RedisError as exc:
            raise StoreUnavailable(f"the shared store (Redis) failed: {exc}") from exc

    def _ttl_ms(self) -> int:
        return max(1000, int(self.node_ttl * 1000))

    # --- liveness ----------------------------------------------------------

    async def _keep_alive(self) -> None:
        link = self._link
        while True:
            await asyncio.sleep(self.node_ttl / 3)
            await link.up.wait()
            try:
                async with asyncio.timeout(HEARTBEAT_TIMEOUT):
                    commands = link.command_connection()
                    await self._heartbeat(commands)
                    for found in await liveness.reap(commands, self.node):
                        self._outbox.put(found)
            except (RedisError, TimeoutError) as exc:
                if link.closing:
                    return
                self._lost(exc)

    async def _heartbeat(self, redis: RedisConnection) -> None:
        feed = self._feed
        nicks = feed.local_nicks() if feed is not None else []
        await liveness.heartbeat(redis, self.node, self.node_ttl, nicks, _sha(REFRESH))

    # --- losing Redis and getting it back ----------------------------------

    def _lost(self, exc: BaseException) -> None:
        link = self._link
        if link.closing or not link.up.is_set():
            return
        self._disconnect()
        log.error("lost Redis at %s: %s", self.url, exc)
        if self._feed is not None:
            self._feed.unavailable(
                "the shared store is unreachable: what you send waits until it is back"
            )
        self._reconnecting = asyncio.get_running_loop().create_task(
            self._reconnect(), name="redis-reconnect"
        )

    async def _reconnect(self) -> None:
        delay = RECONNECT_FIRST
        feed = self._feed
        assert feed is not None
        while True:
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX, delay * 2)
            try:
                commands = await self._connect()
                await self._resync(commands, feed)
                await self._heartbeat(commands)
            except RedisError as exc:
                log.debug("Redis still away: %s", exc)
                continue
            log.warning("Redis at %s is back", self.url)
            self._link.up.set()
            return

    async def _resync(self, redis: RedisConnection, feed: Feed) -> None:
        """Put back what this node knows, if Redis lost it; never move ``seq`` back."""
        state = feed.local_state()
        if state.epoch is not None:
            await redis.call("SET", P + "epoch", state.epoch, "NX")
        for room in state.rooms:
            key = fold(room.name)
            history = [encode_body(m) for m in room.history] if self.retain else []
            has = "1" if room.topic is not None else "0"
            await redis.call(
                "EVALSHA", _sha(RESEED), 0,
                key, room.name, room.seq, has, room.topic or "", *history,
            )  # fmt: skip
            if room.members:
                mapping = [x for nick in room.members for x in (fold(nick), f"{self.node}\t{nick}")]
                await redis.call("HSET", f"{P}members:{key}", *mapping)
        for ban in state.bans:  # a ban made since is newer: never replace one
            field = ban_field(ban.room, ban.ban.nick, ban.ban.address)
            await redis.call("HSETNX", P + "bans", field, ban_body(ban))

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(work, name=name))
