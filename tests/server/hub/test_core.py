"""core.Hub: admitting, taking requests, flood control, disconnecting and shutting down."""

from __future__ import annotations

import asyncio

from chat_server.changes import Forgotten, RoomState, Snapshot
from chat_server.hub import Hub, Out, Phase, Refusal
from protocol import (
    PROTOCOL_VERSION,
    Error,
    Hello,
    HistoryRequest,
    Join,
    Joined,
    ListRooms,
    Message,
    MessageError,
    Ping,
    Pong,
    Presence,
    Say,
    SetNick,
    SetTopic,
    Whisper,
    Who,
)
from tests.server.hub.fakes import Bench, Closed, FakeMember, HubSettings, LocalStore

# --- admit -----------------------------------------------------------------------------


def test_a_connection_past_max_clients_is_refused_with_server_full() -> None:
    bench = Bench(max_clients=2)
    bench.connect()
    bench.welcomed("alice")
    assert bench.admit() == Refusal("server_full", "the server is full (2 connections)")


def test_a_released_connection_frees_its_place() -> None:
    bench = Bench(max_clients=1)
    first = bench.connect()
    assert isinstance(bench.admit(), Refusal)
    bench.hub.release(first.seated)
    assert isinstance(bench.admit(), FakeMember)


def test_one_remote_address_may_hold_at_most_max_per_address_connections() -> None:
    bench = Bench(max_per_address=2)
    first = bench.connect(address="203.0.113.7")
    bench.connect(address="203.0.113.7")
    refusal = bench.admit(address="203.0.113.7")
    assert refusal == Refusal("server_full", "too many connections from 203.0.113.7 (at most 2)")
    assert isinstance(bench.admit(address="203.0.113.8"), FakeMember)
    bench.hub.release(first.seated)
    assert isinstance(bench.admit(address="203.0.113.7"), FakeMember)


def test_loopback_addresses_are_exempt_from_the_per_address_cap() -> None:
    bench = Bench(max_per_address=1)
    for address in ("127.0.0.1", "::1", "127.8.9.10"):
        for _ in range(3):
            assert isinstance(bench.admit(address=address), FakeMember), address


def test_an_address_that_is_not_an_ip_is_capped_like_a_remote_one() -> None:
    bench = Bench(max_per_address=1)
    bench.connect(address="some-peer")
    assert isinstance(bench.admit(address="some-peer"), Refusal)


def test_a_per_address_cap_of_zero_means_no_cap() -> None:
    bench = Bench(max_per_address=0)
    for _ in range(5):
        assert isinstance(bench.admit(address="203.0.113.7"), FakeMember)


def test_nobody_is_admitted_once_the_hub_is_closing() -> None:
    bench = Bench()
    bench.hub.shutdown()
    assert bench.admit() == Refusal("server_shutdown", "the server is shutting down")


# --- receive ---------------------------------------------------------------------------


def test_a_frame_the_door_could_not_parse_is_answered_with_its_code_ref_and_id() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, MessageError("room_invalid", "bad room", ref="join", id="j7"))
    assert alice.take_one(Error) == Error(
        code="room_invalid", message="bad room", ref="join", id="j7"
    )


def test_requests_after_a_refused_one_in_the_same_read_are_still_taken() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, MessageError("bad_message", "no"), Say(room="x", text="y"), Ping(token="p"))
    assert [type(m) for m in alice.take()] == [Error, Error, Pong]


def test_a_request_before_welcome_is_not_ready() -> None:
    bench = Bench()
    stranger = bench.connect()
    bench.send(stranger, Join(room="lobby", id="j1"))
    stranger.take_error("not_ready", ref="join", id="j1")
    assert not bench.hub.rooms


def test_hello_after_welcome_is_bad_message() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, Hello(nick="other", protocol=PROTOCOL_VERSION, id="h1"))
    alice.take_error("bad_message", ref="hello", id="h1")
    assert alice.seated.nick == "alice"
    assert bench.hub.ctx.roster.seat("other") is None


def test_a_gone_connection_is_taken_nothing_from() -> None:
    bench = Bench()
    (alice,) = bench.in_room("lobby", "alice")
    bench.hub.disconnect(alice.seated, "gone")
    bench.send(alice, Say(room="lobby", text="too late"), Ping())
    assert alice.take() == []


# --- flood control ---------------------------------------------------------------------


def test_rated_requests_beyond_the_burst_are_dropped_with_rate_limited() -> None:
    bench = Bench(rate=1, burst=3)
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, *(Say(room="lobby", text=f"m{n}", id=f"s{n}") for n in range(1, 5)))
    assert [m.text for m in bob.take() if isinstance(m, Message)] == ["m1", "m2", "m3"]
    (*said, refused) = alice.take()
    assert len(said) == 3
    assert refused == Error(
        code="rate_limited", message="slow down: 1 messages a second", ref="say", id="s4"
    )


def test_say_whisper_nick_and_topic_each_cost_a_token() -> None:
    bench = Bench(rate=1, burst=1)
    (alice,) = bench.in_room("lobby", "alice")
    for request in (
        Say(room="lobby", text="hi"),
        Whisper(to="alice", text="hi"),
        SetNick(nick="alicia"),
        SetTopic(room="lobby", topic="t"),
    ):
        bench.send(alice, request)
        assert not isinstance(alice.take()[-1], Error), request
        bench.send(alice, request)
        alice.take_error("rate_limited", ref=request.type)
        bench.clock.advance(10)  # a token back, and the drop out of the flood window


def test_tokens_come_back_at_the_rate() -> None:
    bench = Bench(rate=2, burst=2)
    (alice,) = bench.in_room("lobby", "alice")
    bench.send(alice, Say(room="lobby", text="1"), Say(room="lobby", text="2"))
    alice.take()
    bench.clock.advance(0.49)
    bench.send(alice, Say(room="lobby", text="early"))
    alice.take_error("rate_limited", ref="say")
    bench.clock.advance(0.01)
    bench.send(alice, Say(room="lobby", text="3"), Say(room="lobby", text="4"))
    (said, refused) = alice.take()
    assert isinstance(said, Message)
    assert said.text == "3"
    assert isinstance(refused, Error)
    assert refused.code == "rate_limited"


def test_requests_that_change_nothing_cost_no_token() -> None:
    bench = Bench(rate=0.01, burst=1)
    (alice,) = bench.in_room("lobby", "alice")
    for _ in range(20):
        bench.send(alice, Ping(), ListRooms(), Who(room="lobby"), HistoryRequest(room="lobby"))
    assert not any(isinstance(m, Error) for m in alice.take())
    bench.send(alice, Say(room="lobby", text="the token is still there"))
    assert alice.take_one(Message).text == "the token is still there"


def test_rate_zero_turns_flood_control_off() -> None:
    bench = Bench(rate=0, burst=1)
    (alice,) = bench.in_room("lobby", "alice")
    bench.send(alice, *(Say(room="lobby", text=f"m{n}") for n in range(100)))
    assert len(alice.take()) == 100
    assert alice.closes == []


def test_more_than_twice_burst_drops_within_ten_seconds_close_the_connection() -> None:
    bench = Bench(rate=0.001, burst=2)
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, *(Say(room="lobby", text=f"m{n}") for n in range(2 + 4)))
    assert [getattr(m, "code", None) for m in alice.take()] == [None] * 2 + ["rate_limited"] * 4
    assert alice.closes == []
    bench.clock.advance(9.9)
    bench.send(alice, Say(room="lobby", text="one too many", id="x"), Ping())
    error = Error(
        code="rate_limited", message="slow down: 0.001 messages a second", ref="say", id="x"
    )
    assert alice.closes == [Closed("rate_limited", error=error)]
    assert alice.take() == []  # neither the error (the door sends it with bye) nor a pong
    assert bob.take()[-1] == Presence(
        room="lobby", nick="alice", event="quit", reason="rate_limited"
    )


def test_drops_spread_over_more_than_ten_seconds_are_no_flood() -> None:
    bench = Bench(rate=0.001, burst=1)
    (alice,) = bench.in_room("lobby", "alice")
    bench.send(alice, Say(room="lobby", text="the one token"))
    for _ in range(10):  # two drops every 10 s: never more than 2 x burst in the window
        bench.send(alice, Say(room="lobby", text="dropped"))
        bench.clock.advance(5)
    assert alice.closes == []
    bench.send(alice, Say(room="lobby", text="dropped"), Say(room="lobby", text="flood"))
    assert [c.reason for c in alice.closes] == ["rate_limited"]


def test_what_a_flooder_said_just_before_the_flood_reaches_it_before_the_close() -> None:
    bench = Bench(rate=1, burst=1)
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, *(Say(room="lobby", text="early") for _ in range(3)))  # 1 said, 2 dropped
    bench.clock.advance(1)
    before = len(alice.log)
    bench.send(alice, Say(room="lobby", text="last"), Say(room="lobby", text="flood"))
    (said, closed) = alice.log[before:]
    assert isinstance(said, Out)
    assert [m.text for m in said.messages if isinstance(m, Message)] == ["last"]
    assert isinstance(closed, Closed)
    assert closed.reason == "rate_limited"
    assert [type(m) for m in bob.take()] == [Message, Message, Presence]


# --- disconnect and release ---------------------------------------------------------------


def test_a_disconnect_tells_each_of_its_rooms_once_with_presence_quit() -> None:
    bench = Bench()
    alice, bob, carol = bench.in_room("one", "alice", "bob", "carol")
    bench.join("two", alice, bob)
    bench.hub.disconnect(alice.seated, "ping_timeout")
    bench.hub.disconnect(alice.seated, "again")
    quit_one = Presence(room="one", nick="alice", event="quit", reason="ping_timeout")
    quit_two = Presence(room="two", nick="alice", event="quit", reason="ping_timeout")
    assert bob.take() == [quit_one, quit_two]
    assert carol.take() == [quit_one]
    assert alice.take() == []
    assert bench.room("one").nicks() == ["bob", "carol"]
    assert alice.seated.phase is Phase.GONE


def test_rooms_a_disconnect_leaves_empty_are_forgotten_unless_they_have_history() -> None:
    bench = Bench()
    alice = bench.say("talked", "keep me", nick="alice")
    bench.join("silent", alice)
    bench.hub.disconnect(alice.seated, "quit")
    assert list(bench.hub.rooms) == ["talked"]
    assert bench.store.recorded(Forgotten) == [Forgotten(room="silent")]


def test_a_disconnected_nick_is_free_again() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.hub.disconnect(alice.seated, "quit")
    (again,) = bench.welcomed("ALICE")
    assert bench.hub.ctx.roster.seat("alice") is again.seat


def test_a_connection_never_welcomed_leaves_without_a_word() -> None:
    bench = Bench()
    (alice,) = bench.in_room("lobby", "alice")
    stranger = bench.hello("-bad")
    bench.hub.release(stranger.seated)
    assert alice.take() == []
    assert stranger.seated not in bench.hub.seats


def test_release_disconnects_a_connection_not_yet_disconnected() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.hub.release(alice.seated)
    assert bob.take_one(Presence).reason == "connection closed"
    assert alice.seated not in bench.hub.seats
    bench.hub.release(alice.seated)  # a second release changes nothing
    assert list(bench.hub.seats) == [bob.seat]


# --- lifecycle -----------------------------------------------------------------------------


async def test_shutdown_closes_every_connection_with_server_shutdown_and_no_quits() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    stranger = bench.connect()
    bench.hub.shutdown()
    for member in (alice, bob, stranger):
        assert member.closes == [Closed("server_shutdown")]
        assert member.take() == []
    emptied = asyncio.ensure_future(bench.hub.emptied())
    for member in (alice, bob):
        bench.hub.release(member.seated)
    await asyncio.sleep(0)
    assert not emptied.done()
    bench.hub.release(stranger.seated)
    await asyncio.wait_for(emptied, 5)


async def test_a_hub_with_nobody_connected_is_emptied_at_once() -> None:
    bench = Bench()
    bench.hub.shutdown()
    await asyncio.wait_for(bench.hub.emptied(), 5)


async def test_open_takes_the_stores_epoch_and_rooms() -> None:
    kept = RoomState(name="Lobby", seq=7, topic="plans", members=["remote-user"])
    store = LocalStore(Snapshot(epoch="from-disk", rooms=[kept]))
    hub = Hub(HubSettings(), store, server_name="x")
    await hub.open()
    assert hub.epoch == "from-disk"
    room = hub.rooms["lobby"]
    assert (room.name, room.seq, room.topic, room.nicks()) == ("Lobby", 7, "plans", ["remote-user"])
    await hub.close()
    assert store.closed


def test_new_settings_apply_to_the_next_request() -> None:
    bench = Bench()
    (alice,) = bench.in_room("lobby", "alice")
    bench.hub.configure(HubSettings(max_rooms=1))
    bench.send(alice, Join(room="another"))
    alice.take_error("room_limit", ref="join")
    bench.send(alice, Join(room="lobby"))
    assert alice.take_one(Joined).room == "lobby"
