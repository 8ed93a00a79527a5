"""post.Post: runs of room messages go out joined, anything else flushes them first."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from chat_server.hub import Out, Room, Seat
from chat_server.hub.limits import Bucket
from chat_server.hub.post import Post
from protocol import Error, Message, Pong, Presence, Say, encode
from tests.server.hub.fakes import WALL_START, Bench, FakeMember


def seat_of(member: FakeMember) -> Seat:
    seat = Seat(
        member=member, send=member.send, address="x", via="native", since=0, bucket=Bucket(1, 0)
    )
    member.seat = seat
    return seat


def room_of(name: str, *members: FakeMember) -> Room:
    return Room(name=name, history=deque(), members={seat_of(m): None for m in members})


def message(room: str, seq: int) -> Message:
    return Message(room=room, from_="alice", text=f"m{seq}", ts=WALL_START, seq=seq)


def post_message(post: Post, room: Room, seq: int) -> Message:
    held = message(room.name, seq)
    post.message(room, held, encode(held))
    return held


def members(count: int) -> list[FakeMember]:
    hub = Bench().hub  # the members only need a hub to read max_frame from
    return [FakeMember(hub, f"m{n}") for n in range(count)]


def test_consecutive_messages_to_one_room_reach_each_member_as_one_out() -> None:
    alice, bob = members(2)
    lobby = room_of("lobby", alice, bob)
    post = Post()
    held = [post_message(post, lobby, seq) for seq in (1, 2, 3)]
    assert alice.log == bob.log == []
    post.flush()
    (out,) = alice.outs
    assert bob.outs == [out]
    assert out.messages == tuple(held)
    assert out.frame == b"".join(encode(m) for m in held)


def test_a_run_of_one_message_is_sent_as_its_own_frame() -> None:
    (alice,) = members(1)
    lobby = room_of("lobby", alice)
    post = Post()
    held = post_message(post, lobby, 1)
    post.flush()
    assert alice.take() == [held]


def test_flushing_with_nothing_held_sends_nothing() -> None:
    (alice,) = members(1)
    room_of("lobby", alice)
    post = Post()
    post.flush()
    post.flush()
    assert alice.log == []


def test_a_reply_flushes_the_held_messages_first() -> None:
    alice, bob = members(2)
    lobby = room_of("lobby", alice, bob)
    post = Post()
    held = post_message(post, lobby, 1)
    post.reply(alice.seated, Pong(token="t"))
    assert alice.take() == [held, Pong(token="t")]
    assert bob.take() == [held]


def test_an_error_flushes_the_held_messages_first() -> None:
    (alice,) = members(1)
    lobby = room_of("lobby", alice)
    post = Post()
    held = post_message(post, lobby, 1)
    post.error(alice.seated, "not_in_room", "no", Say(room="x", text="y", id="7"))
    error = Error(code="not_in_room", message="no", ref="say", id="7")
    assert alice.take() == [held, error]


def test_a_message_to_another_room_flushes_the_first_rooms_run() -> None:
    alice, bob = members(2)
    lobby = room_of("lobby", alice, bob)
    other = Room(name="other", history=deque(), members={alice.seated: None})
    post = Post()
    first = [post_message(post, lobby, seq) for seq in (1, 2)]
    second = [post_message(post, other, seq) for seq in (1, 2)]
    post.flush()
    assert [out.messages for out in alice.outs] == [tuple(first), tuple(second)]
    assert [out.messages for out in bob.outs] == [tuple(first)]


def test_room_each_and_frame_broadcasts_flush_the_run_first() -> None:
    alice, bob = members(2)
    lobby = room_of("lobby", alice, bob)
    join = Presence(room="lobby", nick="carol", event="join")
    post = Post()
    broadcasts: list[Callable[[], None]] = [
        lambda: post.room(lobby, join),
        lambda: post.each([alice.seated, bob.seated], join),
        lambda: post.frame(lobby, encode(join), join),
        lambda: post.to(alice.seated, Out.of(join)),
    ]
    for broadcast in broadcasts:
        held = post_message(post, lobby, 1)
        broadcast()
        assert alice.take() == [held, join]


def test_every_recipient_of_a_broadcast_gets_the_same_out() -> None:
    alice, bob, carol = members(3)
    lobby = room_of("lobby", alice, bob, carol)
    seats = list(lobby.members)
    join = Presence(room="lobby", nick="dave", event="join")
    post = Post()
    post_message(post, lobby, 1)
    post.flush()
    post.room(lobby, join)
    post.each(seats, join)
    post.frame(lobby, encode(join), join)
    for n in range(4):
        assert alice.outs[n] is bob.outs[n] is carol.outs[n]


def test_a_room_broadcast_may_skip_one_member() -> None:
    alice, bob = members(2)
    lobby = room_of("lobby", alice, bob)
    join = Presence(room="lobby", nick="bob", event="join")
    Post().room(lobby, join, skip=bob.seated)
    assert alice.take() == [join]
    assert bob.log == []


def test_a_read_of_many_says_reaches_every_member_as_one_out_through_the_hub() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    before = len(bob.outs)
    bench.send(alice, *(Say(room="lobby", text=f"m{n}") for n in range(20)))
    (out,) = bob.outs[before:]
    assert alice.outs[-1] is out
    assert [m.text for m in out.messages if isinstance(m, Message)] == [f"m{n}" for n in range(20)]
