"""posting.SharedPosting: nick claims, and changes recorded before anyone hears of them."""

from __future__ import annotations

from collections.abc import Iterator

from chat_server.changes import (
    Departed,
    Entered,
    Posted,
    Quit,
    RankSet,
    Renamed,
    StoreError,
    Whispered,
)
from chat_server.hub import Phase, Request
from chat_server.hub.posting import SEQ_DIGITS
from protocol import (
    HEADER_SIZE,
    PROTOCOL_VERSION,
    Hello,
    Join,
    Joined,
    Leave,
    Message,
    NickChanged,
    Ping,
    Pong,
    Say,
    SetNick,
    SetTopic,
    Topic,
    Welcome,
    Whisper,
    WhisperMessage,
    encode,
)
from tests.server.hub.fakes import WALL_START, Bench, idle, shared_hub

# --- hello ---------------------------------------------------------------------------


async def test_a_hello_waits_for_the_store_to_grant_the_nick(shared_bench: Bench) -> None:
    alice = shared_bench.connect("alice")
    read: Iterator[Request] = iter(
        [Hello(nick="alice", protocol=PROTOCOL_VERSION), Ping(token="after")]
    )
    shared_bench.hub.receive(alice.seated, read)
    assert (alice.seated.phase, alice.seated.waiting) == (Phase.NAMING, True)
    assert alice.take() == []
    assert next(read) == Ping(token="after")  # held back by the door until resume
    await shared_bench.shared.decide("alice", True)
    assert alice.seated.phase is Phase.WELCOMED
    assert alice.take_one(Welcome).nick == "alice"
    assert alice.resumed == 1
    shared_bench.send(alice, Ping(token="after"))
    assert alice.take_one(Pong).token == "after"


async def test_a_nick_the_store_refuses_is_nick_taken_and_the_member_may_try_again(
    shared_bench: Bench,
) -> None:
    alice = shared_bench.connect()
    shared_bench.send(alice, Hello(nick="alice", protocol=PROTOCOL_VERSION, id="h1"))
    await shared_bench.shared.decide("alice", False)
    alice.take_error("nick_taken", ref="hello", id="h1")
    assert (alice.seated.phase, alice.seated.nick, alice.resumed) == (Phase.NEW, None, 1)
    assert shared_bench.hub.ctx.roster.seat("alice") is None
    shared_bench.send(alice, Hello(nick="alice2", protocol=PROTOCOL_VERSION))
    await shared_bench.shared.decide("alice2", True)
    assert alice.take_one(Welcome).nick == "alice2"


async def test_a_store_that_cannot_answer_a_claim_is_unavailable(shared_bench: Bench) -> None:
    alice = shared_bench.hello("alice")
    await shared_bench.shared.decide("alice", StoreError("the store is unreachable"))
    error = alice.take_error("unavailable", ref="hello")
    assert error.message == "the store is unreachable"
    assert (alice.seated.phase, alice.resumed) == (Phase.NEW, 1)


async def test_a_nick_being_claimed_here_is_taken_for_a_second_hello_here(
    shared_bench: Bench,
) -> None:
    shared_bench.hello("alice")
    other = shared_bench.hello("ALICE")
    other.take_error("nick_taken", ref="hello")
    await idle()
    assert shared_bench.shared.asked == ["alice"]


async def test_a_nick_claimed_for_a_member_gone_meanwhile_is_given_back(
    shared_bench: Bench,
) -> None:
    (bob,) = await shared_bench.claimed_in_room("lobby", "bob")
    alice = shared_bench.hello("alice")
    shared_bench.hub.disconnect(alice.seated, "connection closed")
    await shared_bench.shared.decide("alice", True)
    assert shared_bench.shared.released == ["alice"]
    assert alice.take() == []
    assert shared_bench.hub.ctx.roster.seat("alice") is None
    assert not any(isinstance(c, Quit) for c in shared_bench.shared.pending)  # nobody knew it
    assert bob.take() == []


async def test_a_nick_refused_for_a_member_gone_meanwhile_is_not_given_back(
    shared_bench: Bench,
) -> None:
    alice = shared_bench.hello("alice")
    shared_bench.hub.release(alice.seated)
    await shared_bench.shared.decide("alice", False)
    assert shared_bench.shared.released == []
    assert alice.take() == []


# --- nick ------------------------------------------------------------------------------


async def test_a_new_nick_waits_for_the_store_then_reaches_the_sharers(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    resumed = alice.resumed
    shared_bench.send(alice, SetNick(nick="alicia"), Ping())
    assert (alice.seated.phase, alice.take()) == (Phase.RENAMING, [])
    await shared_bench.shared.decide("alicia", True)
    change = NickChanged(old="alice", new="alicia")
    assert alice.take() == bob.take() == [change]
    assert shared_bench.shared.pending == [Renamed(old="alice", new="alicia", rooms=("lobby",))]
    assert shared_bench.shared.released == ["alice"]
    assert (alice.seated.phase, alice.resumed) == (Phase.WELCOMED, resumed + 1)
    assert shared_bench.hub.ctx.roster.seat("alicia") is alice.seat


async def test_a_new_nick_the_store_refuses_is_nick_taken_and_the_old_one_stays(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    resumed = alice.resumed
    shared_bench.send(alice, SetNick(nick="zed", id="n1"))
    await shared_bench.shared.decide("zed", False)
    alice.take_error("nick_taken", ref="nick", id="n1")
    assert bob.take() == []
    assert (alice.seated.nick, alice.seated.phase, alice.resumed) == (
        "alice",
        Phase.WELCOMED,
        resumed + 1,
    )
    assert shared_bench.shared.released == []


async def test_a_case_only_nick_change_needs_no_claim(shared_bench: Bench) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.send(alice, SetNick(nick="Alice"))
    assert alice.take() == bob.take() == [NickChanged(old="alice", new="Alice")]
    assert not await shared_bench.shared.asked_to_claim("Alice")
    assert shared_bench.shared.pending == [Renamed(old="alice", new="Alice", rooms=("lobby",))]


async def test_a_new_nick_claimed_for_a_member_gone_meanwhile_is_given_back(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.send(alice, SetNick(nick="alicia"))
    shared_bench.hub.disconnect(alice.seated, "ping_timeout")
    await shared_bench.shared.decide("alicia", True)
    assert shared_bench.shared.released == ["alicia"]
    assert alice.take() == []


# --- what is recorded, and handed back ---------------------------------------------------


async def test_a_say_is_too_long_if_the_stores_seq_would_not_fit() -> None:
    async with shared_hub(max_frame=256) as bench:
        alice, bob = await bench.claimed_in_room("lobby", "alice", "bob")
        empty = Message(room="lobby", from_="alice", text="", ts=WALL_START, seq=0)
        longest = "x" * (256 - (len(encode(empty)) - HEADER_SIZE) - SEQ_DIGITS)
        bench.send(alice, Say(room="lobby", text=longest), Say(room="lobby", text=longest + "x"))
        alice.take_error("text_too_long", ref="say")
        bench.shared.hand_back()
        assert [m.text for m in bob.take() if isinstance(m, Message)] == [longest]


async def test_a_say_the_store_cannot_take_is_unavailable(shared_bench: Bench) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.shared.accepting = False
    shared_bench.send(alice, Say(room="lobby", text="lost?", id="s1"))
    alice.take_error("unavailable", ref="say", id="s1")
    assert shared_bench.shared.pending == []
    assert bob.take() == []


async def test_a_topic_is_recorded_and_set_when_handed_back(shared_bench: Bench) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.send(alice, SetTopic(room="lobby", topic="plans"))
    assert shared_bench.room("lobby").topic is None
    shared_bench.shared.hand_back()
    assert alice.take() == bob.take() == [Topic(room="lobby", topic="plans", by="alice")]


async def test_joins_leaves_and_quits_are_shared_with_the_other_nodes(
    shared_bench: Bench,
) -> None:
    alice, _ = await shared_bench.claimed("alice", "bob")
    shared_bench.send(alice, Join(room="lobby"), Join(room="other"), Leave(room="other"))
    shared_bench.hub.disconnect(alice.seated, "gone")
    assert shared_bench.shared.pending == [
        Entered(room="lobby", nick="alice"),
        RankSet(room="lobby", nick="alice", rank="op", on=True, by=""),  # the creator's op
        Entered(room="other", nick="alice"),
        RankSet(room="other", nick="alice", rank="op", on=True, by=""),
        Departed(room="other", nick="alice"),
        Quit(nick="alice", reason="gone", rooms=("lobby",)),
    ]


async def test_a_join_the_store_cannot_take_is_unavailable_and_makes_no_room(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.shared.accepting = False
    shared_bench.send(alice, Join(room="lobby", id="j1"))
    alice.take_error("unavailable", ref="join", id="j1")
    assert shared_bench.hub.rooms == {}
    shared_bench.shared.accepting = True
    shared_bench.send(alice, Join(room="lobby"))
    assert alice.take_one(Joined).room == "lobby"


async def test_a_whisper_to_a_nick_held_elsewhere_goes_through_the_store(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.send(alice, Whisper(to="ZED", text="psst", id="w1"))
    await shared_bench.shared.answer("ZED", "zed")
    whisper = WhisperMessage(from_="alice", to="zed", text="psst", ts=WALL_START, id="w1")
    assert shared_bench.shared.pending == [Whispered(whisper)]
    shared_bench.shared.hand_back()
    assert alice.take() == [whisper]


async def test_a_whisper_to_a_nick_nobody_holds_anywhere_is_no_such_nick(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.send(alice, Whisper(to="ghost", text="boo", id="w2"))
    await shared_bench.shared.answer("ghost", None)
    alice.take_error("no_such_nick", ref="whisper", id="w2")
    assert shared_bench.shared.pending == []


async def test_a_whisper_the_store_cannot_look_up_is_unavailable(shared_bench: Bench) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.send(alice, Whisper(to="zed", text="hi", id="w3"))
    await shared_bench.shared.answer("zed", StoreError("no store"))
    alice.take_error("unavailable", ref="whisper", id="w3")


async def test_a_message_handed_back_is_the_only_copy_each_member_gets(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.send(alice, Say(room="lobby", text="once"))
    (posted,) = shared_bench.shared.pending
    assert isinstance(posted, Posted)
    assert posted.message.seq == 0
    shared_bench.shared.hand_back()
    assert [m.seq for m in bob.take() if isinstance(m, Message)] == [1]


async def test_a_whisper_to_a_nick_still_being_claimed_here_goes_to_its_holder_elsewhere(
    shared_bench: Bench,
) -> None:
    (carol,) = await shared_bench.claimed("carol")
    claimant = shared_bench.hello("alice")  # the real alice is on another node
    shared_bench.send(carol, Whisper(to="alice", text="for alice only"))
    assert claimant.take() == []
    await shared_bench.shared.answer("alice", "alice")
    await shared_bench.shared.decide("alice", False)
    claimant.take_error("nick_taken", ref="hello")
    shared_bench.shared.hand_back()
    assert [m.text for m in carol.take() if isinstance(m, WhisperMessage)] == ["for alice only"]
    assert claimant.take() == []


async def test_a_new_nick_the_store_cannot_answer_is_unavailable(shared_bench: Bench) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.send(alice, SetNick(nick="alicia", id="n2"))
    await shared_bench.shared.decide("alicia", StoreError("no store"))
    alice.take_error("unavailable", ref="nick", id="n2")
    assert (alice.seated.nick, alice.seated.phase) == ("alice", Phase.WELCOMED)


async def test_a_nick_the_store_cannot_take_back_is_left_to_expire(shared_bench: Bench) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.shared.release_fails = True
    shared_bench.send(alice, SetNick(nick="alicia"))
    await shared_bench.shared.decide("alicia", True)  # would raise what the hub's task raised
    assert shared_bench.shared.released == ["alice"]
    assert (alice.seated.nick, alice.seated.phase) == ("alicia", Phase.WELCOMED)


async def test_a_topic_too_long_for_a_frame_is_refused_before_the_store() -> None:
    async with shared_hub(max_frame=256) as bench:
        (alice,) = await bench.claimed_in_room("lobby", "alice")
        bench.send(alice, SetTopic(room="lobby", topic="x" * 250, id="t1"))
        alice.take_error("text_too_long", ref="topic", id="t1")
        assert bench.shared.pending == []


async def test_a_topic_the_store_cannot_take_is_unavailable(shared_bench: Bench) -> None:
    (alice,) = await shared_bench.claimed_in_room("lobby", "alice")
    shared_bench.shared.accepting = False
    shared_bench.send(alice, SetTopic(room="lobby", topic="plans", id="t2"))
    alice.take_error("unavailable", ref="topic", id="t2")


async def test_a_join_the_store_cannot_take_leaves_a_room_with_members_as_it_was(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed("alice", "bob")
    shared_bench.join("lobby", alice)
    shared_bench.shared.accepting = False
    shared_bench.send(bob, Join(room="lobby", id="j2"))
    bob.take_error("unavailable", ref="join", id="j2")
    assert shared_bench.room("lobby").nicks() == ["alice"]
    assert alice.take() == []


async def test_a_whisper_for_a_member_gone_during_the_lookup_is_dropped(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.send(alice, Whisper(to="zed", text="hi"))
    shared_bench.hub.disconnect(alice.seated, "gone")
    await shared_bench.shared.answer("zed", "zed")
    assert not any(isinstance(c, Whispered) for c in shared_bench.shared.pending)


async def test_a_whisper_to_elsewhere_too_long_for_a_frame_is_text_too_long() -> None:
    async with shared_hub(max_frame=256) as bench:
        (alice,) = await bench.claimed("alice")
        text = "x" * 150  # fits with a short nick, not with the long spelling found elsewhere
        bench.send(alice, Whisper(to="zed", text=text, id="w4"))
        await bench.shared.answer("zed", "zed-" + "z" * 28)
        alice.take_error("text_too_long", ref="whisper", id="w4")
        assert bench.shared.pending == []


async def test_a_whisper_to_elsewhere_the_store_cannot_take_is_unavailable(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed("alice")
    shared_bench.send(alice, Whisper(to="zed", text="hi", id="w5"))
    shared_bench.shared.accepting = False
    await shared_bench.shared.answer("zed", "zed")
    alice.take_error("unavailable", ref="whisper", id="w5")
