"""Redis: several server processes share rooms, nicks, membership and history.

Every change any node makes goes through one Lua script that updates the
shared state and appends the change to one stream, ``hubbub:events``,
atomically; a message's ``seq`` comes from ``HINCRBY`` in that same script.
Each node reads the whole stream in order and hands every change to its hub
(:meth:`Feed.apply`), which delivers to the members connected to it: so every
member on every node sees one order.

Keys (all under ``hubbub:``): ``epoch``; ``rooms``, ``seq``, ``topic``,
``topicmeta`` (who set it and when, JSON) (hashes by room key); ``bans`` (a
hash, see :mod:`.records`); ``hist:ROOM`` (the newest ``--history`` messages, a list);
``members:ROOM`` (nick key -> ``NODE<TAB>nick``); ``nick:NICK`` (``SET NX`` with
an expiry its node keeps refreshing); ``node:ID`` (a heartbeat with the same
expiry) and ``nodes``; ``published`` (the last change each node published, so a
retried batch is applied once).

A node whose heartbeat expires is reaped by the first other node to notice: it
publishes a ``quit`` for each of the dead node's users.  When Redis is lost,
the node tells its clients, keeps their changes in a bounded backlog, reconnects
by itself, re-seeds Redis from its own state if Redis came back empty, and then
publishes the backlog; nothing a client was told about is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from collections.abc import Iterator
from typing import Any

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry

from protocol import Message, WhisperMessage, encode_body, fold

from ..changes import (
    Change,
    Departed,
    Entered,
    Feed,
    Forgotten,
    Moderation,
    Posted,
    Quit,
    Renamed,
    RoomState,
    Snapshot,
    StoreUnavailable,
    TopicSet,
    Whispered,
)
from .records import KINDS, ban_from_hash, from_record, to_record

log = logging.getLogger(__name__)

P = "hubbub:"
PB = P.encode()
EVENTS = P + "events"
#: Entries kept in the event stream (approximately): a node that falls further
#: behind than this while connected loses deliveries, not history.
STREAM_MAXLEN = 100_000
#: Changes published in one round trip at most.
BATCH = 500
#: Seconds between reconnection attempts once Redis is lost (doubling to 2 s).
RECONNECT_FIRST = 0.1
RECONNECT_MAX = 2.0
#: Presence reason for the users of a node that stopped answering.
NODE_LOST = "connection lost"

APPLY = """
local P = 'hubbub:'
local kind, body, node = ARGV[1], ARGV[2], ARGV[3]
local counter = tonumber(ARGV[4])
local last = tonumber(redis.call('HGET', P .. 'published', node) or '0')
if counter <= last then return -1 end
redis.call('HSET', P .. 'published', node, counter)
local retain = tonumber(ARGV[5])
local result = 0
if kind == 'm' then
  local key, name = ARGV[7], ARGV[8]
  local seq = redis.call('HINCRBY', P .. 'seq', key, 1)
  redis.call('HSETNX', P .. 'rooms', key, name)
  local at = string.find(body, '"seq":0', 1, true)
  body = string.sub(body, 1, at + 5) .. seq .. string.sub(body, at + 7)
  if retain > 0 then
    redis.call('RPUSH', P .. 'hist:' .. key, body)
    redis.call('LTRIM', P .. 'hist:' .. key, -retain, -1)
  end
  result = seq
elseif kind == 't' then
  local key, name = ARGV[7], ARGV[8]
  redis.call('HSETNX', P .. 'rooms', key, name)
  if ARGV[9] == '1' then
    redis.call('HSET', P .. 'topic', key, ARGV[10])
    if ARGV[11] then redis.call('HSET', P .. 'topicmeta', key, ARGV[11]) end
  else
    redis.call('HDEL', P .. 'topic', key)
    redis.call('HDEL', P .. 'topicmeta', key)
  end
elseif kind == 'f' then
  local key = ARGV[7]
  redis.call('HDEL', P .. 'rooms', key)
  redis.call('HDEL', P .. 'seq', key)
  redis.call('HDEL', P .. 'topic', key)
  redis.call('HDEL', P .. 'topicmeta', key)
  redis.call('DEL', P .. 'hist:' .. key, P .. 'members:' .. key)
elseif kind == 'j' then
  local key, name = ARGV[7], ARGV[8]
  redis.call('HSETNX', P .. 'rooms', key, name)
  redis.call('HSET', P .. 'members:' .. key, ARGV[9], ARGV[10])
elseif kind == 'l' then
  redis.call('HDEL', P .. 'members:' .. ARGV[7], ARGV[9])
elseif kind == 'q' then
  local nickkey, owner = ARGV[7], ARGV[8]
  for i = 9, #ARGV do
    redis.call('HDEL', P .. 'members:' .. ARGV[i], nickkey)
  end
  local holder = redis.call('GET', P .. 'nick:' .. nickkey)
  if holder and string.sub(holder, 1, #owner + 1) == owner .. '\\t' then
    redis.call('DEL', P .. 'nick:' .. nickkey)
  end
elseif kind == 'ki' then
  redis.call('HDEL', P .. 'members:' .. ARGV[7], ARGV[9])
elseif kind == 'ba' then
  redis.call('HSET', P .. 'bans', ARGV[7], ARGV[8])
elseif kind == 'ub' then
  redis.call('HDEL', P .. 'bans', ARGV[7])
elseif kind == 'r' then
  local oldkey, newkey, member = ARGV[7], ARGV[8], ARGV[9]
  for i = 10, #ARGV do
    redis.call('HDEL', P .. 'members:' .. ARGV[i], oldkey)
    redis.call('HSET', P .. 'members:' .. ARGV[i], newkey, member)
  end
end
redis.call('XADD', P .. 'events', 'MAXLEN', '~', ARGV[6], '*',
           'k', kind, 'b', body, 'n', node, 'c', counter)
return result
"""

#: Give back a nick only if this node holds it.
RELEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and string.sub(holder, 1, #ARGV[1] + 1) == ARGV[1] .. '\\t' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: Keep this node's claims alive; re-claim those Redis forgot (a restart).
REFRESH = """
local ttl = ARGV[1]
for i = 2, #ARGV, 2 do
  local key, value = 'hubbub:nick:' .. ARGV[i], ARGV[i + 1]
  local holder = redis.call('GET', key)
  if not holder then
    redis.call('SET', key, value, 'EX', ttl)
  elseif holder == value then
    redis.call('EXPIRE', key, ttl)
  end
end
return 0
"""

#: Re-seed one room from a node's memory after Redis lost it (never goes back).
RESEED = """
local P = 'hubbub:'
local key, name, seq, hastopic, topic = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
redis.call('HSETNX', P .. 'rooms', key, name)
local now = tonumber(redis.call('HGET', P .. 'seq', key) or '0')
if seq > now then redis.call('HSET', P .. 'seq', key, seq) end
if hastopic == '1' then redis.call('HSETNX', P .. 'topic', key, topic) end
local hist = P .. 'hist:' .. key
if redis.call('LLEN', hist) == 0 then
  for i = 6, #ARGV do redis.call('RPUSH', hist, ARGV[i]) end
end
return 0
"""

# One change as it waits to be published: (counter, kind, body, extra args).
_Op = tuple[int, str, str, list[str]]


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
        self.retain = retain
        self.node_ttl = node_ttl
        self.backlog = backlog
        self.node = node or secrets.token_hex(6)
        self._redis: Any = None  # redis.asyncio.Redis: its stubs type replies as bytes | str
        self._feed: Feed | None = None
        self._outbox: deque[_Op] = deque()
        self._counter = 0
        #: The newest of our own changes seen coming back through the stream.
        self._seen = 0
        self._wake = asyncio.Event()
        #: Set whenever the outbox is empty.
        self._drained = asyncio.Event()
        self._up = asyncio.Event()
        self._closing = False
        self._last_id = b"0-0"
        self._tasks: list[asyncio.Task[None]] = []
        self._reconnecting: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------

    async def open(self, feed: Feed) -> Snapshot:
        self._feed = feed
        redis = Redis.from_url(
            self.url,
            socket_connect_timeout=3.0,
            socket_timeout=5.0,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._redis = redis
        self._apply = redis.register_script(APPLY)
        self._release = redis.register_script(RELEASE)
        self._refresh = redis.register_script(REFRESH)
        self._reseed = redis.register_script(RESEED)
        try:
            await redis.ping()
            await redis.script_load(APPLY)  # published with EVALSHA in pipelines
            snapshot = await self._load(redis)
            await self._heartbeat(redis)
        except (RedisError, OSError) as exc:
            await redis.aclose()
            raise StoreUnavailable(f"--redis: cannot reach {self.url}: {exc}") from exc
        self._up.set()
        loop = asyncio.get_running_loop()
        for coro, name in (
            (self._read(), "redis-reader"),
            (self._publish(), "redis-publisher"),
            (self._keep_alive(), "redis-heartbeat"),
        ):
            self._tasks.append(loop.create_task(coro, name=name))
        log.info("node %s sharing %s: %d rooms", self.node, self.url, len(snapshot.rooms))
        return snapshot

    async def close(self) -> None:
        """Publish what is queued (at most 3 s), withdraw this node, disconnect."""
        redis = self._redis
        if redis is None:
            return
        if self._outbox and self._up.is_set():
            self._drained.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), 3.0)
        self._closing = True
        tasks = [*self._tasks, *([self._reconnecting] if self._reconnecting else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        with contextlib.suppress(RedisError, OSError):
            await redis.delete(f"{P}node:{self.node}")
            await redis.srem(P + "nodes", self.node)
        await redis.aclose()
        self._redis = None

    async def _load(self, redis: Any) -> Snapshot:
        await redis.set(P + "epoch", secrets.token_hex(8), nx=True)
        epoch = await redis.get(P + "epoch")
        last = await redis.xrevrange(EVENTS, count=1)
        self._last_id = last[0][0] if last else b"0-0"
        names: dict[bytes, bytes] = await redis.hgetall(P + "rooms")
        rooms: list[RoomState] = []
        for key, name in names.items():
            pipe = redis.pipeline(transaction=True)
            pipe.hget(P + "seq", key)
            pipe.hget(P + "topic", key)
            pipe.lrange(PB + b"hist:" + key, -self.retain, -1) if self.retain else pipe.echo("")
            pipe.hvals(PB + b"members:" + key)
            pipe.hget(P + "topicmeta", key)
            seq, topic, bodies, members, meta = await pipe.execute()
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
        bans = [ban_from_hash(value) for value in (await redis.hgetall(P + "bans")).values()]
        return Snapshot(epoch=epoch.decode() if epoch else None, rooms=rooms, bans=bans)

    # --- changes out -------------------------------------------------------

    def record(self, change: Change) -> bool:
        if self._closing or len(self._outbox) >= self.backlog:
            return False
        match change:
            case Posted(message=message):
                room = message.room
                self._enqueue("m", encode_body(message).decode(), [fold(room), room])
            case TopicSet(room=room, topic=topic, by=by, ts=ts):
                body = json.dumps({"room": room, "topic": topic, "by": by, "ts": ts})
                has = "1" if topic is not None else "0"
                meta = json.dumps({"by": by, "ts": ts})
                self._enqueue("t", body, [fold(room), room, has, topic or "", meta])
            case Forgotten(room=room):
                self._enqueue("f", json.dumps({"room": room}), [fold(room)])
            case Entered(room=room, nick=nick):
                body = json.dumps({"room": room, "nick": nick})
                self._enqueue("j", body, [fold(room), room, fold(nick), f"{self.node}\t{nick}"])
            case Departed(room=room, nick=nick):
                body = json.dumps({"room": room, "nick": nick})
                self._enqueue("l", body, [fold(room), room, fold(nick)])
            case Quit(nick=nick, reason=reason, rooms=rooms):
                self._quit(self.node, nick, reason, rooms)
            case Renamed(old=old, new=new, rooms=rooms):
                body = json.dumps({"old": old, "new": new, "rooms": list(rooms)})
                member = f"{self.node}\t{new}"
                self._enqueue("r", body, [fold(old), fold(new), member, *map(fold, rooms)])
            case Whispered(message=whisper):
                self._enqueue("w", encode_body(whisper).decode(), [])
            case _ if isinstance(change, Moderation):
                self._enqueue(*to_record(change))
        return True

    def _quit(self, owner: str, nick: str, reason: str, rooms: tuple[str, ...]) -> None:
        body = json.dumps({"nick": nick, "reason": reason, "rooms": list(rooms), "owner": owner})
        self._enqueue("q", body, [fold(nick), owner, *map(fold, rooms)])

    def _enqueue(self, kind: str, body: str, extra: list[str]) -> None:
        self._counter += 1
        self._outbox.append((self._counter, kind, body, extra))
        self._wake.set()

    async def _publish(self) -> None:
        """Publish the outbox in order, in batches; keep a batch until it is in."""
        outbox = self._outbox
        while True:
            if not outbox:
                self._drained.set()
                self._wake.clear()
                await self._wake.wait()
            await self._up.wait()
            while outbox and outbox[0][0] <= self._seen:
                outbox.popleft()  # published before a failure hid the reply
            batch = [outbox[i] for i in range(min(BATCH, len(outbox)))]
            if not batch:
                continue
            redis = self._redis
            assert redis is not None
            # EVALSHA by hand: a pipeline given Script objects asks SCRIPT EXISTS
            # first, one more round trip on every batch.
            pipe = redis.pipeline(transaction=False)
            sha, node, retain, maxlen = self._apply.sha, self.node, str(self.retain), STREAM_MAXLEN
            for counter, kind, body, extra in batch:
                pipe.evalsha(sha, 0, kind, body, node, str(counter), retain, maxlen, *extra)
            try:
                await pipe.execute()
            except NoScriptError:  # Redis restarted or flushed its scripts: nothing ran
                with contextlib.suppress(RedisError, OSError):
                    await redis.script_load(APPLY)
                continue
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                self._lost(exc)
                continue
            for _ in batch:
                outbox.popleft()

    # --- changes in --------------------------------------------------------

    async def _read(self) -> None:
        feed = self._feed
        assert feed is not None
        node = self.node.encode()
        while True:
            await self._up.wait()
            redis = self._redis
            assert redis is not None
            try:
                found = await redis.xread({EVENTS: self._last_id}, count=1000, block=1000)
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                self._lost(exc)
                continue
            for _, entries in found:
                for entry_id, fields in entries:
                    self._last_id = entry_id
                    mine = fields[b"n"] == node
                    if mine:
                        self._seen = max(self._seen, int(fields[b"c"]))
                    try:
                        change = _decode(fields[b"k"].decode(), fields[b"b"])
                    except (ValueError, KeyError):
                        log.exception("unreadable change %s in %s", entry_id, EVENTS)
                        continue
                    if isinstance(change, Quit):  # a reaped user belonged to another node
                        mine = change.owner == self.node
                    feed.apply(change, mine)
            feed.settle()

    # --- nicks -------------------------------------------------------------

    async def claim_nick(self, nick: str) -> bool:
        redis = self._require()
        with _unavailable_on_error():
            ok = await redis.set(
                f"{P}nick:{fold(nick)}", f"{self.node}\t{nick}", nx=True, px=self._ttl_ms()
            )
        return bool(ok)

    async def release_nick(self, nick: str) -> None:
        redis = self._require()
        with _unavailable_on_error():
            await self._release(keys=[f"{P}nick:{fold(nick)}"], args=[self.node], client=redis)

    async def nick_exists(self, nick: str) -> str | None:
        redis = self._require()
        with _unavailable_on_error():
            value = await redis.get(f"{P}nick:{fold(nick)}")
        if value is None:
            return None
        return str(value.split(b"\t", 1)[1].decode())

    def health(self) -> str:
        state = "up" if self._up.is_set() else "unreachable"
        return f"redis {self.url} (node {self.node}): {state}, {len(self._outbox)} changes waiting"

    def _require(self) -> Any:
        if self._redis is None or not self._up.is_set():
            raise StoreUnavailable("the shared store (Redis) is unreachable")
        return self._redis

    def _ttl_ms(self) -> int:
        return max(1000, int(self.node_ttl * 1000))

    # --- liveness ----------------------------------------------------------

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.node_ttl / 3)
            await self._up.wait()
            redis = self._redis
            assert redis is not None
            try:
                await self._heartbeat(redis)
                await self._reap(redis)
            except (RedisError, OSError) as exc:
                if self._closing:
                    return
                self._lost(exc)

    async def _heartbeat(self, redis: Any) -> None:
        pipe = redis.pipeline(transaction=False)
        pipe.set(f"{P}node:{self.node}", "1", px=self._ttl_ms())
        pipe.sadd(P + "nodes", self.node)
        await pipe.execute()
        feed = self._feed
        nicks = feed.local_nicks() if feed is not None else []
        if nicks:
            args: list[str] = [str(max(1, round(self.node_ttl)))]
            for nick in nicks:
                args += [fold(nick), f"{self.node}\t{nick}"]
            await self._refresh(args=args, client=redis)

    async def _reap(self, redis: Any) -> None:
        """Announce the users of nodes whose heartbeat expired, once per dead node."""
        for raw in await redis.smembers(P + "nodes"):
            node = raw.decode()
            if node == self.node or await redis.exists(f"{P}node:{node}"):
                continue
            if not await redis.set(f"{P}reap:{node}", self.node, nx=True, ex=60):
                continue
            dead: dict[str, list[str]] = {}
            spelling: dict[str, str] = {}
            names: dict[bytes, bytes] = await redis.hgetall(P + "rooms")
            for key, name in names.items():
                members: dict[bytes, bytes] = await redis.hgetall(PB + b"members:" + key)
                for value in members.values():
                    owner, nick = value.decode().split("\t", 1)
                    if owner == node:
                        dead.setdefault(fold(nick), []).append(name.decode())
                        spelling[fold(nick)] = nick
            for nick_key, rooms in dead.items():
                self._quit(node, spelling[nick_key], NODE_LOST, tuple(rooms))
            await redis.srem(P + "nodes", node)
            log.warning("node %s stopped answering: %d users quit", node, len(dead))

    # --- losing Redis and getting it back ----------------------------------

    def _lost(self, exc: BaseException) -> None:
        if self._closing or not self._up.is_set():
            return
        self._up.clear()
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
        redis = self._redis
        feed = self._feed
        assert feed is not None
        while True:
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX, delay * 2)
            try:
                await redis.connection_pool.disconnect()  # no stale connection survives
                await redis.ping()
                await self._resync(redis, feed)
                await self._heartbeat(redis)
            except (RedisError, OSError) as exc:
                log.debug("Redis still away: %s", exc)
                continue
            log.warning("Redis at %s is back", self.url)
            self._up.set()
            return

    async def _resync(self, redis: Any, feed: Feed) -> None:
        """Put back what this node knows, if Redis lost it; never move ``seq`` back."""
        state = feed.local_state()
        if state.epoch is not None:
            await redis.set(P + "epoch", state.epoch, nx=True)
        for room in state.rooms:
            key = fold(room.name)
            history = [encode_body(m).decode() for m in room.history] if self.retain else []
            has = "1" if room.topic is not None else "0"
            await self._reseed(
                args=[key, room.name, str(room.seq), has, room.topic or "", *history],
                client=redis,
            )
            mine = room.members
            if mine:
                await redis.hset(
                    P + "members:" + key,
                    mapping={fold(nick): f"{self.node}\t{nick}" for nick in mine},
                )
        for ban in state.bans:  # a ban made since is newer: never replace one
            _, body, (field, _) = to_record(ban)
            await redis.hsetnx(P + "bans", field, body)


def _decode(kind: str, body: bytes) -> Change:
    """The change a stream entry carries (raises ``ValueError`` or ``KeyError``)."""
    if kind in KINDS:
        return from_record(kind, body)
    if kind == "m":
        return Posted(Message.model_validate_json(body))
    if kind == "w":
        return Whispered(WhisperMessage.model_validate_json(body))
    data: dict[str, Any] = json.loads(body)
    if kind == "t":
        return TopicSet(room=data["room"], topic=data["topic"], by=data["by"], ts=data.get("ts"))
    if kind == "f":
        return Forgotten(room=data["room"])
    if kind == "j":
        return Entered(room=data["room"], nick=data["nick"])
    if kind == "l":
        return Departed(room=data["room"], nick=data["nick"])
    if kind == "q":
        return Quit(
            nick=data["nick"],
            reason=data["reason"],
            rooms=tuple(data["rooms"]),
            owner=data["owner"],
        )
    if kind == "r":
        return Renamed(old=data["old"], new=data["new"], rooms=tuple(data["rooms"]))
    raise ValueError(f"unknown change kind {kind!r}")


@contextlib.contextmanager
def _unavailable_on_error() -> Iterator[None]:
    """Turn Redis's own errors (a connection lost mid-command) into the store's."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(f"the shared store (Redis) failed: {exc}") from exc
