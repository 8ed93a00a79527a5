"""Room operators over loopback: op and voice, kick, ban, mute, modes, invite."""

from __future__ import annotations

import pytest

from protocol import (
    Ban,
    BanChanged,
    BanEntry,
    BanList,
    Bans,
    Deop,
    Devoice,
    Invite,
    Invited,
    Join,
    Joined,
    Kick,
    Kicked,
    Leave,
    Members,
    Message,
    Mute,
    MuteChanged,
    Op,
    OpChanged,
    Presence,
    RoomModeChanged,
    RoomModes,
    Say,
    SetMode,
    SetNick,
    SetTopic,
    Topic,
    Unban,
    Unmute,
    Voice,
    VoiceChanged,
    Who,
)
from tests.server.helpers import close_all, expect_error, send_json, serving, sync, welcomed
from tests.server.moderation import START, FakeClock, room_of, serving_at
from tests.wire import connect_welcomed

# --- ops ------------------------------------------------------------------------


async def test_the_creator_is_op_and_a_later_joiner_is_not() -> None:
    async with serving() as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        assert (await alice.join("lobby")).ops == ["alice"]
        joined = await bob.join("lobby")
        assert (joined.ops, joined.voiced) == (["alice"], [])
        assert joined.modes == RoomModes()
        await bob.send(Who(room="lobby"))
        assert (await bob.expect(Members)).ops == ["alice"]
        await close_all([alice, bob])


async def test_an_op_is_lost_on_disconnect_and_not_regained_by_reconnecting() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.close()
        assert (await bob.recv_until(Presence)).event == "quit"
        again = await connect_welcomed(server.port, "alice")
        joined = await again.join("lobby")
        assert joined.ops == [], "the room was not empty: a plain member"
        await again.send(Kick(room="lobby", nick="bob"))
        await expect_error(again, "not_op", ref="kick")
        await close_all([again, bob])


async def test_the_first_to_join_an_emptied_room_becomes_its_op() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Leave(room="lobby"))
        await bob.send(Leave(room="lobby"))
        await sync(alice)
        await sync(bob)
        assert (await bob.join("lobby")).ops == ["bob"]
        await close_all([alice, bob])


async def test_op_and_deop_tell_every_member_and_give_the_right() -> None:
    async with serving() as server:
        alice, bob, carol = await room_of(server.port, "lobby", "alice", "bob", "carol")
        await alice.send(Op(room="lobby", nick="BOB"))
        told = OpChanged(room="lobby", nick="bob", op=True, by="alice")
        for client in (alice, bob, carol):
            assert await client.expect(OpChanged) == told
        await bob.send(Kick(room="lobby", nick="carol"))
        assert (await carol.recv_until(Kicked)).by == "bob"
        await alice.send(Deop(room="lobby", nick="bob"))
        assert (await bob.recv_until(OpChanged)).op is False
        await bob.send(Op(room="lobby", nick="bob"))
        await expect_error(bob, "not_op", ref="op")
        await close_all([alice, bob, carol])


async def test_leaving_drops_op_and_a_nick_change_keeps_it() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Op(room="lobby", nick="bob"))
        await sync(alice)
        await bob.send(SetNick(nick="robert"))
        await sync(bob)
        await alice.send(Who(room="lobby"))
        assert sorted((await alice.recv_until(Members)).ops) == ["alice", "robert"]
        await alice.send(Leave(room="lobby"))
        await sync(alice)
        await alice.join("lobby")
        await alice.send(Kick(room="lobby", nick="robert"))
        await expect_error(alice, "not_op", ref="kick")
        await close_all([alice, bob])


async def test_voice_lets_a_member_speak_in_a_moderated_room() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(SetMode(room="lobby", moderated=True))
        assert (await bob.expect(RoomModeChanged)).modes.moderated
        await bob.send(Say(room="lobby", text="may I?", id="s1"))
        await expect_error(bob, "muted", ref="say", id="s1")
        await alice.send(Say(room="lobby", text="ops may"))
        assert (await alice.recv_until(Message)).text == "ops may"
        await alice.send(Voice(room="lobby", nick="bob"))
        told = VoiceChanged(room="lobby", nick="bob", voiced=True, by="alice")
        assert await bob.recv_until(VoiceChanged) == told
        await bob.send(Say(room="lobby", text="now I may"))
        assert (await bob.recv_until(Message)).text == "now I may"
        await bob.send(Who(room="lobby"))
        assert (await bob.recv_until(Members)).voiced == ["bob"]
        await alice.send(Devoice(room="lobby", nick="bob"))
        assert (await bob.recv_until(VoiceChanged)).voiced is False
        await bob.send(Say(room="lobby", text="again?"))
        await expect_error(bob, "muted", ref="say")
        await close_all([alice, bob])


# --- refusals ------------------------------------------------------------------


async def test_an_op_request_checks_the_room_then_the_right_then_the_target() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        (carol,) = await welcomed(server.port, "carol")
        await carol.send(Kick(room="lobby", nick="bob", id="k1"))
        await expect_error(carol, "not_in_room", ref="kick", id="k1")
        await bob.send(Kick(room="lobby", nick="nobody"))
        await expect_error(bob, "not_op", ref="kick")
        await alice.send(Kick(room="lobby", nick="nobody"))
        await expect_error(alice, "no_such_nick", ref="kick")
        await alice.send(Op(room="lobby", nick="carol"))
        await expect_error(alice, "not_in_room", ref="op")
        await alice.send(Mute(room="lobby", nick="carol"))
        await expect_error(alice, "not_in_room", ref="mute")
        await close_all([alice, bob, carol])


@pytest.mark.parametrize(
    "request_",
    [
        {"type": "op", "room": "lobby"},
        {"type": "kick", "room": "lobby", "nick": 7},
        {"type": "ban", "room": "lobby"},
        {"type": "ban", "room": "lobby", "nick": "bob", "address": "10.0.0.1"},
        {"type": "ban", "room": "lobby", "address": "not-an-address"},
        {"type": "ban", "room": "lobby", "nick": "bob", "duration": -1},
        {"type": "mode", "room": "lobby", "key": "has space"},
        {"type": "mode", "room": "lobby", "limit": 0},
        {"type": "mode", "room": "lobby", "moderated": "yes"},
    ],
)
async def test_a_malformed_moderation_request_is_bad_message(request_: dict[str, object]) -> None:
    async with serving() as server:
        (alice,) = await room_of(server.port, "lobby", "alice")
        await send_json(alice, {**request_, "id": "x"})
        await expect_error(alice, "bad_message", ref=str(request_["type"]), id="x")
        await alice.close()


# --- kick -----------------------------------------------------------------------


async def test_a_kick_tells_the_target_and_the_room_with_the_reason() -> None:
    async with serving() as server:
        alice, bob, carol = await room_of(server.port, "lobby", "alice", "bob", "carol")
        await alice.send(Kick(room="lobby", nick="Bob", reason="spam"))
        assert await bob.expect(Kicked) == Kicked(room="lobby", by="alice", reason="spam")
        left = Presence(room="lobby", nick="bob", event="leave", reason="kicked by alice: spam")
        assert await alice.expect(Presence) == left
        assert await carol.expect(Presence) == left
        await bob.send(Say(room="lobby", text="still here?"))
        await expect_error(bob, "not_in_room", ref="say")
        await alice.send(Kick(room="lobby", nick="carol"))
        assert (await alice.recv_until(Presence)).reason == "kicked by alice"
        assert await carol.recv_until(Kicked) == Kicked(room="lobby", by="alice")
        await close_all([alice, bob, carol])


# --- ban ------------------------------------------------------------------------


async def test_a_nick_ban_kicks_the_member_and_refuses_their_join() -> None:
    async with serving() as server:
        alice, bob, carol = await room_of(server.port, "lobby", "alice", "bob", "carol")
        await alice.send(Ban(room="lobby", nick="BOB", reason="trolling"))
        entry = BanEntry(nick="BOB", by="alice", reason="trolling")
        assert await carol.expect(BanChanged) == BanChanged(room="lobby", ban=entry, by="alice")
        assert (await carol.expect(Presence)).reason == "kicked by alice: trolling"
        assert (await bob.recv_until(Kicked)).reason == "trolling"
        await bob.send(Join(room="LOBBY", id="j"))
        error = await expect_error(bob, "banned", ref="join", id="j")
        assert "trolling" in error.message
        await carol.send(Bans(room="lobby"))
        assert await carol.recv_until(BanList) == BanList(room="lobby", bans=[entry])
        await alice.send(Unban(room="lobby", nick="bob"))
        lifted = await carol.recv_until(BanChanged)
        assert (lifted.removed, lifted.ban.nick) == (True, "BOB")
        assert (await bob.join("lobby")).room == "lobby"
        await close_all([alice, bob, carol])


async def test_a_nick_ban_of_someone_absent_holds_for_later_joins() -> None:
    async with serving() as server:
        (alice,) = await room_of(server.port, "lobby", "alice")
        await alice.send(Ban(room="lobby", nick="mallory"))
        await alice.expect(BanChanged)
        mallory = await connect_welcomed(server.port, "Mallory")
        await mallory.send(Join(room="lobby"))
        await expect_error(mallory, "banned", ref="join")
        await close_all([alice, mallory])


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.0/8"])
async def test_an_address_ban_kicks_and_refuses_everyone_from_there(address: str) -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Ban(room="lobby", address=address))
        assert (await bob.recv_until(BanChanged)).ban.address == address
        assert (await bob.recv_until(Kicked)).by == "alice"
        assert (await alice.recv_until(Kicked)).by == "alice", "the op's own address too"
        await bob.send(Join(room="lobby"))
        await expect_error(bob, "banned", ref="join")
        await close_all([alice, bob])


async def test_a_timed_ban_ends_by_itself() -> None:
    clock = FakeClock()
    async with serving_at(clock) as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Ban(room="lobby", nick="bob", duration=60))
        assert (await alice.recv_until(BanChanged)).ban.until == START + 60
        await bob.recv_until(Kicked)
        clock.advance(59)
        await bob.send(Join(room="lobby"))
        await expect_error(bob, "banned", ref="join")
        clock.advance(2)
        assert (await bob.join("lobby")).room == "lobby"
        await alice.send(Bans(room="lobby"))
        assert (await alice.recv_until(BanList)).bans == []
        await close_all([alice, bob])


async def test_unban_of_nobody_banned_is_refused_and_bans_need_membership() -> None:
    async with serving() as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await alice.send(Unban(room="lobby", address="10.0.0.0/8"))
        await expect_error(alice, "bad_message", ref="unban")
        await bob.send(Bans(room="lobby"))
        await expect_error(bob, "not_in_room", ref="bans")
        await close_all([alice, bob])


# --- mute -----------------------------------------------------------------------


async def test_a_muted_member_cannot_say_until_unmuted() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Mute(room="lobby", nick="BOB"))
        told = MuteChanged(room="lobby", nick="bob", muted=True, by="alice")
        assert await bob.expect(MuteChanged) == told
        await bob.send(Say(room="lobby", text="hello?", id="m"))
        await expect_error(bob, "muted", ref="say", id="m")
        await bob.send(SetNick(nick="bobby"))
        await sync(bob)
        await bob.send(Say(room="lobby", text="a new nick?"))
        await expect_error(bob, "muted", ref="say")
        await alice.send(Unmute(room="lobby", nick="bobby"))
        assert (await bob.recv_until(MuteChanged)).muted is False
        await bob.send(Say(room="lobby", text="thanks"))
        assert (await bob.recv_until(Message)).text == "thanks"
        await close_all([alice, bob])


async def test_a_timed_mute_ends_by_itself() -> None:
    clock = FakeClock()
    async with serving_at(clock) as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Mute(room="lobby", nick="bob", duration=30))
        assert (await bob.expect(MuteChanged)).until == START + 30
        clock.advance(29)
        await bob.send(Say(room="lobby", text="now?"))
        await expect_error(bob, "muted", ref="say")
        clock.advance(1.5)
        await bob.send(Say(room="lobby", text="now."))
        assert (await bob.recv_until(Message)).text == "now."
        await close_all([alice, bob])


# --- modes ----------------------------------------------------------------------


async def test_mode_tells_every_member_all_five_modes() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(SetMode(room="lobby", key="s3cret", limit=5))
        modes = RoomModes(key="s3cret", limit=5)
        expected = RoomModeChanged(room="lobby", modes=modes, by="alice")
        assert await alice.expect(RoomModeChanged) == expected
        assert await bob.expect(RoomModeChanged) == expected
        await alice.send(SetMode(room="lobby", topic_ops=True, key=None))
        assert (await bob.expect(RoomModeChanged)).modes == RoomModes(topic_ops=True, limit=5)
        await bob.send(SetMode(room="lobby", limit=None))
        await expect_error(bob, "not_op", ref="mode")
        await bob.send(SetMode(room="lobby"))  # a question: anyone may ask
        assert (await bob.expect(RoomModeChanged)).modes.limit == 5
        await close_all([alice, bob])


async def test_join_checks_key_limit_and_invite_only_in_order() -> None:
    async with serving() as server:
        alice, bob, carol = await welcomed(server.port, "alice", "bob", "carol")
        await alice.join("lobby")
        await alice.send(SetMode(room="lobby", key="k1", limit=2))
        await sync(alice)
        await bob.send(Join(room="lobby"))
        await expect_error(bob, "bad_key", ref="join")
        await bob.send(Join(room="lobby", key="k2"))
        await expect_error(bob, "bad_key", ref="join")
        await bob.send(Join(room="lobby", key="k1"))
        await bob.expect(Joined)
        await carol.send(Join(room="lobby", key="k1"))
        await expect_error(carol, "room_full", ref="join")
        await alice.send(SetMode(room="lobby", invite_only=True))
        await sync(alice)
        await carol.send(Join(room="lobby"))
        await expect_error(carol, "invite_only", ref="join")
        await close_all([alice, bob, carol])


async def test_topic_ops_makes_topic_an_op_request() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(SetMode(room="lobby", topic_ops=True))
        await sync(bob)
        await bob.send(SetTopic(room="lobby", topic="mine"))
        await expect_error(bob, "not_op", ref="topic")
        await alice.send(SetTopic(room="lobby", topic="ours"))
        assert (await bob.recv_until(Topic)).topic == "ours"
        await close_all([alice, bob])


async def test_a_room_that_empties_forgets_modes_mutes_and_ops_but_keeps_bans() -> None:
    async with serving() as server:
        alice, bob = await room_of(server.port, "lobby", "alice", "bob")
        await alice.send(Say(room="lobby", text="history keeps the room"))
        await alice.send(SetMode(room="lobby", invite_only=True, moderated=True))
        await alice.send(Mute(room="lobby", nick="bob"))
        await alice.send(Ban(room="lobby", nick="mallory"))
        await sync(alice)
        for client in (alice, bob):
            await client.send(Leave(room="lobby"))
            await sync(client)
        joined = await bob.join("lobby")
        assert (joined.modes, joined.ops) == (RoomModes(), ["bob"])
        await bob.send(Say(room="lobby", text="not muted any more"))
        assert (await bob.recv_until(Message)).text == "not muted any more"
        await bob.send(Bans(room="lobby"))
        assert [b.nick for b in (await bob.recv_until(BanList)).bans] == ["mallory"]
        await close_all([alice, bob])


# --- invite ---------------------------------------------------------------------


async def test_an_invite_lets_one_join_past_invite_only_key_and_limit() -> None:
    clock = FakeClock()
    async with serving_at(clock) as server:
        alice, bob, carol = await welcomed(server.port, "alice", "bob", "carol")
        await alice.join("lobby")
        await alice.send(SetMode(room="lobby", invite_only=True, key="k", limit=1))
        await sync(alice)
        await alice.send(Invite(room="lobby", nick="bob"))
        invited = Invited(room="lobby", by="alice")
        assert await bob.expect(Invited) == invited
        assert await alice.expect(Invited) == invited, "the inviter gets the same frame"
        assert (await bob.join("lobby")).members == ["alice", "bob"]
        await bob.send(Leave(room="lobby"))
        await sync(bob)
        await bob.send(Join(room="lobby", key="k"))
        await expect_error(bob, "invite_only", ref="join")  # one join only
        await alice.send(Invite(room="lobby", nick="carol"))
        await carol.expect(Invited)
        clock.advance(601)
        await carol.send(Join(room="lobby"))
        await expect_error(carol, "invite_only", ref="join")  # ten minutes only
        await close_all([alice, bob, carol])


async def test_in_an_open_room_any_member_invites_and_a_ban_beats_an_invite() -> None:
    async with serving() as server:
        alice, bob, carol = await welcomed(server.port, "alice", "bob", "carol")
        await alice.join("lobby")
        await bob.join("lobby")
        await alice.send(Ban(room="lobby", nick="carol"))
        await sync(bob)
        await bob.send(Invite(room="lobby", nick="carol"))
        assert (await carol.expect(Invited)).by == "bob"
        assert (await bob.expect(Invited)).by == "bob"
        await carol.send(Join(room="lobby"))
        await expect_error(carol, "banned", ref="join")
        await bob.send(Invite(room="lobby", nick="nobody"))
        await expect_error(bob, "no_such_nick", ref="invite")
        await alice.send(SetMode(room="lobby", invite_only=True))
        await sync(bob)
        await bob.send(Invite(room="lobby", nick="carol"))
        await expect_error(bob, "not_op", ref="invite")
        await close_all([alice, bob, carol])


# --- cost -----------------------------------------------------------------------


async def test_moderation_requests_cost_a_token_and_bans_is_free() -> None:
    async with serving(rate=0.01, burst=2) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")  # one token
        await alice.send(SetMode(room="lobby", moderated=True))  # the other
        await alice.expect(RoomModeChanged)
        await alice.send(Mute(room="lobby", nick="alice", id="m"))
        await expect_error(alice, "rate_limited", ref="mute", id="m")
        for _ in range(5):
            await alice.send(Bans(room="lobby"))
            await alice.expect(BanList)
        await close_all([alice, bob])


async def test_joined_says_who_set_the_topic_and_when() -> None:
    clock = FakeClock()
    async with serving_at(clock) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await alice.send(SetTopic(room="lobby", topic="plans"))
        await alice.expect(Topic)
        joined = await bob.join("lobby")
        assert (joined.topic, joined.topic_by, joined.topic_ts) == ("plans", "alice", START)
        await close_all([alice, bob])
