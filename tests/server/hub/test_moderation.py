"""Moderation in the hub without sockets: the shared path, changes from other nodes, the console."""

from __future__ import annotations

import asyncio

from chat_server.changes import (
    AwaySet,
    BanSet,
    Entered,
    KillOrdered,
    ModesSet,
    MuteSet,
    RankSet,
    Removed,
)
from chat_server.hub.console import ADMIN
from protocol import (
    AwayChanged,
    BanChanged,
    BanEntry,
    Error,
    Invite,
    Invited,
    Kick,
    Kicked,
    Kill,
    Mute,
    MuteChanged,
    Op,
    OpChanged,
    Presence,
    RoomModeChanged,
    Say,
    SetMode,
    Whois,
    WhoisReply,
)
from tests.server.hub.fakes import Bench, Closed, idle


async def test_a_moderation_change_on_a_shared_store_waits_for_the_store(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.send(alice, Op(room="lobby", nick="bob"))
    assert alice.take() == bob.take() == [], "nothing before the store hands it back"
    assert shared_bench.shared.pending == [
        RankSet(room="lobby", nick="bob", rank="op", on=True, by="alice")
    ]
    shared_bench.shared.hand_back()
    told = OpChanged(room="lobby", nick="bob", op=True, by="alice")
    assert alice.take() == bob.take() == [told]


async def test_a_ban_from_another_node_kicks_the_member_here_by_its_address(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    address = bob.seated.address
    ban = BanEntry(address=address, by="carol", reason="spam")
    shared_bench.shared.deliver(BanSet(room="lobby", ban=ban))
    assert alice.take() == bob.take() == [BanChanged(room="lobby", ban=ban, by="carol")]
    # The node holding the member carries the kick out, through the store, for every node.
    kicks = [c for c in shared_bench.shared.pending if isinstance(c, Removed)]
    assert kicks == [Removed(room="lobby", nick="bob", by="carol", reason="spam")]
    shared_bench.shared.hand_back()
    assert bob.take_one(Kicked) == Kicked(room="lobby", by="carol", reason="spam")
    assert shared_bench.room("lobby").nicks() == ["alice"], "alice came from elsewhere"


async def test_changes_from_other_nodes_keep_ops_modes_mutes_and_away_here(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed_in_room("lobby", "alice")
    store = shared_bench.shared
    store.deliver(
        Entered(room="lobby", nick="dave"),
        RankSet(room="lobby", nick="dave", rank="op", on=True, by=""),
        ModesSet(room="lobby", modes={"moderated": True}, by="dave"),
        MuteSet(room="lobby", nick="alice", on=True, by="dave"),
        AwaySet(nick="dave", text="out"),
    )
    room = shared_bench.room("lobby")
    assert room.ops == {"alice": "alice", "dave": "dave"}
    received = alice.take()
    assert [type(m) for m in received] == [Presence, RoomModeChanged, MuteChanged, AwayChanged]
    shared_bench.send(alice, Say(room="lobby", text="hi"))
    alice.take_error("muted", ref="say")
    shared_bench.send(alice, Whois(nick="dave"))
    reply = alice.take_one(WhoisReply)
    assert (reply.via, reply.op_in, reply.away) == ("remote", ["lobby"], "out")
    store.deliver(KillOrdered(nick="alice", by="dave", reason="killed by dave"))
    assert alice.closes == [Closed(reason="killed", error=None, announce="killed by dave")]


async def test_a_target_held_on_another_node_is_looked_up_in_the_store(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed_in_room("lobby", "alice")
    shared_bench.send(alice, Kick(room="lobby", nick="erin", id="k"))
    await shared_bench.shared.answer("erin", "Erin")  # somebody, but not in the room
    alice.take_error("not_in_room", ref="kick", id="k")
    shared_bench.send(alice, Mute(room="lobby", nick="nobody", id="m"))
    await shared_bench.shared.answer("nobody", None)
    alice.take_error("no_such_nick", ref="mute", id="m")
    shared_bench.send(alice, Invite(room="lobby", nick="erin"))
    await shared_bench.shared.answer("erin", "Erin")
    shared_bench.shared.hand_back()
    assert alice.take() == [Invited(room="lobby", by="alice")]


async def test_the_console_acts_as_admin_and_waits_for_the_store() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    assert await bench.hub.act(Kick(room="lobby", nick="bob")) == []
    assert bob.take_one(Kicked) == Kicked(room="lobby", by=ADMIN)
    (error,) = await bench.hub.act(Kill(nick="nobody"))
    assert isinstance(error, Error)
    assert error.code == "no_such_nick"
    assert await bench.hub.act(SetMode(room="lobby", limit=3)) == []
    assert alice.take()[-1] == RoomModeChanged(
        room="lobby", modes=bench.room("lobby").modes, by=ADMIN
    )


async def test_the_console_waits_for_a_lookup_on_a_shared_store(shared_bench: Bench) -> None:
    await shared_bench.claimed_in_room("lobby", "alice")
    acting = asyncio.ensure_future(shared_bench.hub.act(Kill(nick="zed")))
    await idle()
    assert not acting.done()
    await shared_bench.shared.answer("zed", None)
    (error,) = await acting
    assert isinstance(error, Error)
    assert error.code == "no_such_nick"
