"""Moderation kept by the stores: bans across a restart (SQLite), and on every node (Redis)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from protocol import (
    Ban,
    BanChanged,
    BanList,
    Bans,
    Bye,
    Error,
    Join,
    Joined,
    Kicked,
    Kill,
    Message,
    Mute,
    MuteChanged,
    Op,
    OpChanged,
    Oper,
    Opered,
    Presence,
    RoomModeChanged,
    Say,
    SetMode,
    SetTopic,
    Topic,
    Unban,
)
from tests.server.helpers import close_all, expect_error, serving, sync, welcomed
from tests.server.test_cluster import next_of, nodes
from tests.storage.redis_process import RedisProcess
from tests.wire import connect_welcomed


async def test_bans_and_the_topic_setter_survive_a_restart_with_db(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.db")
    async with serving(db=db) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.join("lobby")
        await alice.send(SetTopic(room="lobby", topic="rules"))
        await alice.send(Ban(room="lobby", nick="mallory", reason="spam"))
        await alice.send(Ban(room="lobby", address="10.0.0.0/8"))
        await alice.send(Ban(room="lobby", nick="trudy"))
        await alice.send(Unban(room="lobby", nick="trudy"))
        await sync(alice)
        await alice.send(Say(room="lobby", text="keeps the room"))
        await alice.expect(Message)
        await close_all([alice])

    async with serving(db=db) as server:
        mallory, trudy = await welcomed(server.port, "mallory", "trudy")
        await mallory.send(Join(room="lobby"))
        await expect_error(mallory, "banned", ref="join")
        joined = await trudy.join("lobby")
        assert (joined.topic, joined.topic_by) == ("rules", "alice")
        assert joined.topic_ts is not None
        await trudy.send(Bans(room="lobby"))
        listing = await trudy.expect(BanList)
        assert sorted((b.nick or "", b.address or "") for b in listing.bans) == [
            ("", "10.0.0.0/8"),
            ("mallory", ""),
        ]
        await close_all([mallory, trudy])


async def test_a_ban_on_one_node_kicks_the_member_on_the_other(
    redis_server: RedisProcess,
) -> None:
    redis_server.command("FLUSHALL")
    async with nodes(redis_server.url) as (one, two):
        (alice,) = await welcomed(one.port, "alice")
        await alice.join("lobby")
        (bob,) = await welcomed(two.port, "bob")
        assert (await bob.join("lobby")).ops == ["alice"], "the op is known on both nodes"
        await next_of(alice, Presence)
        await alice.send(Ban(room="lobby", nick="bob", reason="enough"))
        assert (await next_of(bob, Kicked)).reason == "enough"
        assert (await next_of(alice, Presence)).reason == "kicked by alice: enough"
        await bob.send(Join(room="lobby"))
        await expect_error(bob, "banned", ref="join")
        (carol,) = await welcomed(two.port, "carol")
        await carol.join("lobby")
        await carol.send(Bans(room="lobby"))
        assert [b.nick for b in (await next_of(carol, BanList)).bans] == ["bob"]
        await close_all([alice, bob, carol])

    async with nodes(redis_server.url, count=1) as (three,):  # a node started later
        bob = await connect_welcomed(three.port, "bob")
        await bob.send(Join(room="lobby"))
        await expect_error(bob, "banned", ref="join")
        await close_all([bob])


async def test_ops_modes_mutes_and_kills_hold_on_every_node(redis_server: RedisProcess) -> None:
    redis_server.command("FLUSHALL")
    async with nodes(redis_server.url, oper_password="pw") as (one, two):
        (alice,) = await welcomed(one.port, "alice")
        await alice.join("lobby")
        bob, carol = await welcomed(two.port, "bob", "carol")
        await bob.join("lobby")
        await carol.join("lobby")
        while (await next_of(alice, Presence)).nick != "carol":
            pass  # alice's node has heard of both joins: it can op bob
        await alice.send(Op(room="lobby", nick="bob"))
        assert (await next_of(carol, OpChanged)).nick == "bob"
        await bob.send(SetMode(room="lobby", moderated=True))
        assert (await next_of(alice, RoomModeChanged)).modes.moderated
        await next_of(carol, RoomModeChanged)
        await carol.send(Say(room="lobby", text="may I?"))
        assert (await next_of(carol, Error)).code == "muted"
        await alice.send(SetMode(room="lobby", moderated=False))
        await next_of(carol, RoomModeChanged)
        await bob.send(Mute(room="lobby", nick="carol"))
        assert (await next_of(alice, MuteChanged)).nick == "carol"
        await next_of(carol, MuteChanged)
        await carol.send(Say(room="lobby", text="now?"))
        assert (await next_of(carol, Error)).code == "muted"
        await alice.send(Oper(password="pw"))
        await next_of(alice, Opered)
        await alice.send(Kill(nick="carol", reason="bye"))
        assert (await next_of(carol, Bye)).reason == "killed"
        quit = await next_of(alice, Presence)
        assert (quit.nick, quit.reason) == ("carol", "killed by alice: bye")
        await close_all([alice, bob, carol])


async def test_topics_carry_their_setter_across_nodes(redis_server: RedisProcess) -> None:
    redis_server.command("FLUSHALL")
    async with nodes(redis_server.url) as (one, two):
        (alice,) = await welcomed(one.port, "alice")
        await alice.join("lobby")
        await alice.send(SetTopic(room="lobby", topic="cluster"))
        await next_of(alice, Topic)
        await alice.send(Say(room="lobby", text="history keeps the room"))
        await next_of(alice, Message)
        (bob,) = await welcomed(two.port, "bob")
        joined = await bob.join("lobby")
        assert (joined.topic, joined.topic_by) == ("cluster", "alice")
        await close_all([alice, bob])
    async with nodes(redis_server.url, count=1) as (three,):
        (carol,) = await welcomed(three.port, "carol")
        await carol.send(Join(room="lobby"))
        joined = await carol.expect(Joined)
        assert joined.topic_by == "alice", "loaded from Redis"
        await close_all([carol])


async def test_a_node_puts_its_bans_back_into_a_redis_that_lost_them(tmp_path: Path) -> None:
    redis = RedisProcess(tmp_path)
    redis.start()
    try:
        async with nodes(redis.url, count=1) as (one,):
            (alice,) = await welcomed(one.port, "alice")
            await alice.join("lobby")
            await alice.send(Ban(room="lobby", nick="mallory"))
            await next_of(alice, BanChanged)
            redis.stop()
            assert (await next_of(alice, Error, timeout=10)).code == "unavailable"
            redis.start()  # empty: nothing is saved to disk

            for _ in range(300):  # the node reconnects, then re-seeds what Redis lost
                if redis.command("HLEN", "hubbub:bans") == ":1":
                    break
                await asyncio.sleep(0.05)
            async with nodes(redis.url, count=1) as (two,):
                (mallory,) = await welcomed(two.port, "mallory")
                await mallory.send(Join(room="lobby"))
                await expect_error(mallory, "banned", ref="join")
                await close_all([alice, mallory])
    finally:
        redis.stop()
