"""Redis (``--redis``): several nodes share rooms, nicks, presence and history.

Every test here runs real ``chat-server`` nodes against a real redis-server on
a loopback port (see ``tests/storage/redis_process.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from chat_server.config import Config, ConfigError
from chat_server.server import Server
from protocol import (
    Error,
    History,
    HistoryRequest,
    Join,
    Joined,
    ListRooms,
    Members,
    Message,
    NickChanged,
    Presence,
    RoomList,
    Say,
    SetNick,
    SetTopic,
    Topic,
    Welcome,
    Whisper,
    WhisperMessage,
    Who,
    encode,
    frame,
)
from tests.server.helpers import close_all, expect_error, serving, welcomed
from tests.storage.redis_process import RedisProcess
from tests.wire import WireClient

T = TypeVar("T")


@asynccontextmanager
async def nodes(url: str, count: int = 2, **changes: object) -> AsyncIterator[list[Server]]:
    """``count`` server nodes sharing the Redis at ``url``."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(serving(redis=url, rate=0, **changes))
            for _ in range(count)
        ]


async def messages(client: WireClient, count: int, timeout: float = 20.0) -> list[Message]:
    """The next ``count`` messages ``client`` receives, skipping anything else."""
    found: list[Message] = []

    async def collect() -> None:
        while len(found) < count:
            message = await client.recv(timeout)
            if isinstance(message, Message):
                found.append(message)

    await asyncio.wait_for(collect(), timeout)
    return found


async def next_of(client: WireClient, kind: type[T], timeout: float = 15.0) -> T:
    """The next message of type ``kind``, skipping anything else."""

    async def find() -> T:
        while True:
            message = await client.recv(timeout)
            if isinstance(message, kind):
                return message

    return await asyncio.wait_for(find(), timeout)


async def one_member_seen(client: WireClient) -> None:
    """Wait until ``client``'s node lists one room with one member (joined on another node)."""
    for _ in range(200):
        await client.send(ListRooms())
        if [room.members for room in (await client.expect(RoomList)).rooms] == [1]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the other node's join never arrived")


async def test_one_seq_order_for_every_member_on_both_nodes(redis_server: RedisProcess) -> None:
    redis_server.command("FLUSHALL")
    async with nodes(redis_server.url) as (one, two):
        senders = [(await welcomed((one, two)[i % 2].port, f"sender{i}"))[0] for i in range(5)]
        listeners = [(await welcomed(s.port, f"listener{s.port}"))[0] for s in (one, two)]
        members = [*senders, *listeners]
        for client in members:
            await client.join("load")

        async def send_all(index: int, client: WireClient) -> None:
            for n in range(200):
                await client.send(Say(room="load", text=f"{index}:{n}", id=f"{index}-{n}"))

        collected = asyncio.gather(*(messages(client, 1000, 60.0) for client in members))
        await asyncio.gather(*(send_all(i, c) for i, c in enumerate(senders)))
        seen = await collected
        order = [(m.seq, m.id, m.from_) for m in seen[0]]
        assert [seq for seq, _, _ in order] == list(range(1, 1001))
        assert len({id_ for _, id_, _ in order}) == 1000, "nothing lost or duplicated"
        for other in seen[1:]:
            assert [(m.seq, m.id, m.from_) for m in other] == order
        for index in range(5):  # each sender's own messages stay in its order
            mine = [id_ for _, id_, _ in order if id_ is not None and id_.startswith(f"{index}-")]
            assert mine == [f"{index}-{n}" for n in range(200)]
        await close_all(members)


async def test_messages_and_topics_from_one_write_keep_their_order_across_nodes(
    redis_server: RedisProcess,
) -> None:
    redis_server.command("FLUSHALL")
    async with nodes(redis_server.url) as (one, two):
        (alice,) = await welcomed(one.port, "alice")
        (bob,) = await welcomed(two.port, "bob")
        for room in ("lobby", "dev"):
            await alice.join(room)
            await bob.join(room)
        # Redis answers a blocked XREAD after the first change; the rest come in
        # one batch, where a topic follows a message: both must keep their order.
        burst = [
            Say(room="lobby", text="a1"),
            SetTopic(room="lobby", topic="busy"),
            Say(room="lobby", text="a2"),
            SetTopic(room="lobby", topic="quiet"),
            Say(room="dev", text="d1"),
            Say(room="lobby", text="a3"),
        ]
        await alice.send_raw(b"".join(encode(m) for m in burst))
        seen: list[str] = []
        while len(seen) < 6:
            message = await bob.recv(15.0)
            if isinstance(message, Message):
                seen.append(f"{message.room}:{message.text}")
            elif isinstance(message, Topic):
                seen.append(f"{message.room} topic {message.topic}")
        assert seen == [
            "lobby:a1",
            "lobby topic busy",
            "lobby:a2",
            "lobby topic quiet",
            "dev:d1",
            "lobby:a3",
        ]
        await close_all([alice, bob])


async def test_a_nick_taken_on_one_node_is_refused_on_the_other(
    redis_server: RedisProcess,
) -> None:
    redis_server.command("FLUSHALL")
    async with nodes(redis_server.url) as (one, two):
        (alice,) = await welcomed(one.port, "alice")
        other = await WireClient.connect(two.port)
        await other.send({"type": "hello", "nick": "ALICE", "protocol": 1})
        await expect_error(other, "nick_taken", ref="hello")
        await other.hello("bob")  # the same connection may try again
        await other.send({"type": "nick", "nick": "Alice"})
        await expect_error(other, "nick_taken", ref="nick")
        await close_all([alice])
        await asyncio.sleep(0.2)  # alice's quit gives the nick back
        await other.send({"type": "nick", "nick": "alice"})
        changed = await next_of(other, NickChanged)
        assert changed == NickChanged(old="bob", new="alice")
        await close_all([other])


async def test_a_client_is_not_read_while_the_store_decides_its_nick(
    redis_server: RedisProcess,
) -> None:
    """What it sends meanwhile waits in the kernel's buffers, not in the server."""
    redis_server.command("FLUSHALL")
    async with nodes(redis_server.url, count=1) as (one,):
        client = await WireClient.connect(one.port)
        assert redis_server.command("CLIENT", "PAUSE", "1500", "WRITE") == "+OK"
        await client.send({"type": "hello", "nick": "alice", "protocol": 1})
        padded = {"type": "list", "pad": "x" * 60_000}  # unknown fields are ignored
        client.writer.write(frame(json.dumps(padded).encode()) * 500)  # 30 MB
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.writer.drain(), 1.0)
        assert (await client.expect(Welcome, timeout=10)).nick == "alice"
        assert isinstance(await client.recv(), RoomList)  # then it is answered, in order
        await client.close()


async def test_dropped_while_a_nick_change_waits_is_a_quit_on_the_other_node(
    redis_server: RedisProcess,
) -> None:
    redis_server.command("FLUSHALL")
    quick = {"ping_interval": 0.2, "ping_timeout": 0.4}
    async with (
        serving(redis=redis_server.url, rate=0, **quick) as one,
        serving(redis=redis_server.url, rate=0) as two,
    ):
        (alice,) = await welcomed(one.port, "alice")
        (bob,) = await welcomed(two.port, "bob")
        await alice.join("lobby")
        await one_member_seen(bob)  # alice's join has reached the other node through Redis
        await bob.join("lobby")
        assert redis_server.command("CLIENT", "PAUSE", "1500", "WRITE") == "+OK"
        await alice.send(SetNick(nick="alicia"))  # then silence: dropped for ping_timeout
        quit = await next_of(bob, Presence)
        assert (quit.nick, quit.event, quit.reason) == ("alice", "quit", "ping_timeout")
        await close_all([alice, bob])


async def test_who_list_presence_and_whisper_cross_nodes(redis_server: RedisProcess) -> None:
    redis_server.command("FLUSHALL")
    async with nodes(redis_server.url) as (one, two):
        (alice,) = await welcomed(one.port, "alice")
        (bob,) = await welcomed(two.port, "bob")
        await alice.join("lobby")
        await one_member_seen(bob)  # alice's join has reached the other node through Redis
        await bob.send(Join(room="lobby"))
        joined = await bob.expect(Joined)
        assert sorted(joined.members) == ["alice", "bob"]
        presence = await next_of(alice, Presence)
        assert presence == Presence(room="lobby", nick="bob", event="join")
        await alice.send(Who(room="lobby"))
        assert sorted((await alice.expect(Members)).members) == ["alice", "bob"]
        await alice.send(ListRooms())
        (info,) = (await alice.expect(RoomList)).rooms
        assert (info.name, info.members) == ("lobby", 2)
        await alice.send(Whisper(to="BOB", text="psst", id="w1"))
        received = await next_of(bob, WhisperMessage)
        echo = await next_of(alice, WhisperMessage)
        assert received == echo
        assert (echo.from_, echo.to, echo.text, echo.id) == ("alice", "bob", "psst", "w1")
        await alice.send(Whisper(to="nobody", text="hello?"))
        await expect_error(alice, "no_such_nick", ref="whisper")
        await bob.send(Say(room="lobby", text="hi from two"))
        assert (await next_of(alice, Message)).text == "hi from two"
        assert (await next_of(bob, Message)).text == "hi from two"
        await bob.send(HistoryRequest(room="lobby"))
        assert [m.text for m in (await bob.expect(History)).messages] == ["hi from two"]
        await close_all([bob])
        left = await next_of(alice, Presence)
        assert (left.nick, left.event) == ("bob", "quit")
        await close_all([alice])


async def test_a_killed_node_s_users_quit_within_ping_timeout_and_their_nicks_are_free(
    redis_server: RedisProcess,
) -> None:
    """As a silent client is dropped within --ping-timeout, so are the users of a dead node."""
    redis_server.command("FLUSHALL")
    timeout = 4.0
    settings = {"ping_timeout": timeout, "ping_interval": timeout / 2}
    async with serving(redis=redis_server.url, **settings) as one:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chat_server", "--host", "127.0.0.1", "--port", "0",
            "--redis", redis_server.url, "--ping-timeout", str(timeout),
            "--ping-interval", str(timeout / 2), "--log-level", "warning",
            stdout=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            line = (await asyncio.wait_for(process.stdout.readline(), 15)).decode()
            port = int(line.rsplit(":", 1)[1])
            (alice,) = await welcomed(one.port, "alice")
            doomed = await welcomed(port, "doomed", "idle")
            await alice.join("lobby")
            await doomed[0].join("lobby")
            assert (await next_of(alice, Presence)).nick == "doomed"
            os.kill(process.pid, signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 10)
            started = asyncio.get_running_loop().time()
            quit_ = await next_of(alice, Presence, timeout=timeout * 3)
            elapsed = asyncio.get_running_loop().time() - started
            assert (quit_.nick, quit_.event) == ("doomed", "quit")
            assert elapsed < timeout
            await alice.send(Who(room="lobby"))
            assert (await alice.expect(Members)).members == ["alice"]
            # "idle" was in no room: its claim expires by itself within the same time.
            await asyncio.sleep(max(0.0, timeout - elapsed))
            again = await welcomed(one.port, "doomed", "idle")
            await close_all([alice, *doomed, *again])
        finally:
            if process.returncode is None:
                process.kill()
                await asyncio.wait_for(process.wait(), 10)


async def test_redis_restart_loses_nothing_acknowledged(tmp_path: Path) -> None:
    redis = RedisProcess(tmp_path)
    redis.start()
    try:
        async with nodes(redis.url) as (one, two):
            (alice,) = await welcomed(one.port, "alice")
            (bob,) = await welcomed(two.port, "bob")
            await alice.join("lobby")
            await bob.join("lobby")
            for n in range(10):
                await alice.send(Say(room="lobby", text=f"before {n}"))
            acked = await messages(alice, 10)
            assert [m.seq for m in acked] == list(range(1, 11))
            assert await messages(bob, 10) == acked

            redis.stop()
            notice = await next_of(alice, Error, timeout=10)
            assert notice.code == "unavailable"
            for n in range(5):
                await alice.send(Say(room="lobby", text=f"during {n}"))
            await asyncio.sleep(0.5)
            redis.start()

            later = await messages(alice, 5, timeout=20)
            assert [m.seq for m in later] == list(range(11, 16))
            assert [m.text for m in later] == [f"during {n}" for n in range(5)]
            assert await messages(bob, 5, timeout=20) == later
            (carol,) = await welcomed(two.port, "carol")
            await carol.send(Join(room="lobby"))
            history = (await carol.expect(Joined)).history
            assert history == [*acked, *later]
            await close_all([alice, bob, carol])
    finally:
        redis.stop()


async def test_unreachable_redis_at_start_exits_2_with_one_line() -> None:
    from tests.storage.redis_process import free_port

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chat_server", "--host", "127.0.0.1", "--port", "0",
         "--redis", f"redis://127.0.0.1:{free_port()}/0"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    assert "--redis" in errors[0]


def test_db_and_redis_exclude_each_other() -> None:
    with pytest.raises(ConfigError, match="--redis"):
        Config(db="x.db", redis="redis://127.0.0.1:1/0")
