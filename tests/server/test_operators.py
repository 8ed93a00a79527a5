"""Server operators, away and whois over loopback."""

from __future__ import annotations

import logging

import pytest

from protocol import (
    Away,
    AwayChanged,
    Bye,
    Kick,
    Kicked,
    Kill,
    Members,
    Notice,
    Oper,
    Opered,
    Presence,
    Say,
    SendNotice,
    Whisper,
    Who,
    Whois,
    WhoisReply,
)
from tests.server.helpers import close_all, expect_error, hung_up, serving, sync, welcomed
from tests.server.moderation import START, FakeClock, room_of, serving_at
from tests.wire import WireClient

# --- oper -------------------------------------------------------------------------


async def test_oper_needs_the_operator_password() -> None:
    async with serving(oper_password="hunter2") as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.send(Oper(password="guess", id="o"))
        await expect_error(alice, "auth_failed", ref="oper", id="o")
        await alice.send(Oper(password="hunter2"))
        assert await alice.expect(Opered) == Opered()
        await alice.close()


async def test_without_an_operator_password_oper_always_fails() -> None:
    async with serving() as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.send(Oper(password=""))
        await expect_error(alice, "auth_failed", ref="oper")
        await alice.close()


async def test_a_server_operator_acts_on_a_room_it_is_not_in() -> None:
    async with serving(oper_password="pw") as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        (root,) = await welcomed(server.port, "root")
        await root.send(Kick(room="lobby", nick="bob"))
        await expect_error(root, "not_in_room", ref="kick")
        await root.send(Oper(password="pw"))
        await root.expect(Opered)
        await root.send(Kick(room="lobby", nick="bob", reason="rules"))
        assert await bob.expect(Kicked) == Kicked(room="lobby", by="root", reason="rules")
        await root.send(Kick(room="nowhere", nick="bob"))
        await expect_error(root, "not_in_room", ref="kick")
        await close_all([alice, bob, root])


# --- kill and notice -----------------------------------------------------------------


async def test_kill_closes_the_target_with_bye_killed_and_tells_its_rooms() -> None:
    async with serving(oper_password="pw") as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Oper(password="pw"))
        await alice.expect(Opered)
        await alice.send(Kill(nick="BOB", reason="flooding"))
        received = await hung_up(bob)
        assert received[-1] == Bye(reason="killed")
        quit = Presence(room="lobby", nick="bob", event="quit", reason="killed by alice: flooding")
        assert await alice.recv_until(Presence) == quit
        await alice.send(Kill(nick="bob"))
        await expect_error(alice, "no_such_nick", ref="kill")
        await alice.close()


async def test_kill_without_a_reason_says_who() -> None:
    async with serving(oper_password="pw") as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Oper(password="pw"))
        await alice.expect(Opered)
        await alice.send(Kill(nick="bob"))
        assert (await alice.recv_until(Presence)).reason == "killed by alice"
        await close_all([alice, bob])


@pytest.mark.parametrize("request_", [Kill(nick="bob"), SendNotice(text="hi")])
async def test_kill_and_notice_from_anyone_else_are_not_op(request_: Kill | SendNotice) -> None:
    async with serving(oper_password="pw") as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(request_)
        await expect_error(alice, "not_op", ref=request_.type)
        await close_all([alice, bob])


async def test_a_notice_reaches_every_welcomed_connection() -> None:
    clock = FakeClock()
    async with serving_at(clock, oper_password="pw") as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        (loner,) = await welcomed(server.port, "loner")  # in no room
        stranger = await WireClient.connect(server.port)  # not welcomed
        await alice.send(Oper(password="pw"))
        await alice.expect(Opered)
        await alice.send(SendNotice(text="restart at noon"))
        notice = Notice(from_="alice", text="restart at noon", ts=START)
        for client in (alice, bob, loner):
            assert await client.expect(Notice) == notice
        assert await sync(stranger) == []
        await close_all([alice, bob, loner, stranger])


async def test_every_operator_action_is_logged_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="chat_server")
    async with serving(oper_password="pw") as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Kick(room="lobby", nick="bob", reason="spam"))
        await sync(alice)
        await alice.send(Oper(password="pw"))
        await alice.send(Kill(nick="alice"))
        await hung_up(alice)
        await bob.close()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert "alice kicked bob from lobby: spam" in lines
    assert "alice killed alice" in lines


# --- away and whois ----------------------------------------------------------------


async def test_away_reaches_you_and_everyone_sharing_a_room_once_each() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        for client in (alice, bob):
            await client.join("dev")
        (carol,) = await welcomed(server.port, "carol")
        for client in (alice, bob):
            await sync(client)
        await alice.send(Away(text="lunch"))
        gone = AwayChanged(nick="alice", text="lunch")
        assert await sync(alice) == [gone]
        assert await sync(bob) == [gone], "once, though they share two rooms"
        assert await sync(carol) == []
        await bob.send(Who(room="lobby"))
        assert (await bob.expect(Members)).away == ["alice"]
        await alice.send(Away(text=""))
        assert await bob.expect(AwayChanged) == AwayChanged(nick="alice", text=None)
        await close_all([alice, bob, carol])


async def test_whois_says_rooms_away_idle_since_via_and_op_in() -> None:
    clock = FakeClock()
    async with serving_at(clock) as server:
        (alice,) = await room_of(server.port, "lobby", "alice")
        bob = (await room_of(server.port, "lobby", "bob"))[0]
        await bob.join("dev")
        await alice.send(Away(text="brb"))
        await alice.send(Say(room="lobby", text="before going"))
        await sync(alice)
        clock.advance(42)
        await bob.send(Whisper(to="alice", text="wake up"))  # bob's own idle: 0
        await sync(bob)
        await bob.send(Whois(nick="ALICE"))
        assert await bob.recv_until(WhoisReply) == WhoisReply(
            nick="alice",
            rooms=["lobby"],
            away="brb",
            idle=42.0,
            since=START,
            via="native",
            op_in=["lobby"],
        )
        await alice.send(Whois(nick="bob"))
        reply = await alice.recv_until(WhoisReply)
        assert (reply.rooms, reply.idle, reply.op_in) == (["lobby", "dev"], 0.0, ["dev"])
        await alice.send(Whois(nick="nobody", id="w"))
        await expect_error(alice, "no_such_nick", ref="whois", id="w")
        await close_all([alice, bob])
