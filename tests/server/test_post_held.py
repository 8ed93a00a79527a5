"""The Post holds what follows an unwritten change, in order, and lets it go once written."""

from __future__ import annotations

from collections import deque

from chat_server.hub.limits import Bucket
from chat_server.hub.member import Out
from chat_server.hub.post import HELD_MAX, Post
from chat_server.hub.roster import Room, Seat
from protocol import Message, Pong


class Inbox:
    """A member that keeps the frames it is handed."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, out: Out) -> None:
        self.frames.append(out.frame)

    def close(self, reason: str, **_: object) -> None:
        pass

    def resume(self) -> None:
        pass


def seat() -> tuple[Seat, Inbox]:
    inbox = Inbox()
    return Seat(member=inbox, send=inbox.send, address="::1", via="test", since=0.0,
                bucket=Bucket(10, 0.0)), inbox  # fmt: skip


def message(seq: int) -> Message:
    return Message(room="r", from_="a", text="t", ts=1.0, seq=seq)


def test_frames_after_an_unwritten_change_wait_for_it_in_order() -> None:
    post = Post()
    (alice, inbox), (bob, other) = seat(), seat()
    room = Room(name="r", history=deque(), members={alice: None, bob: None})
    post.reply(alice, Pong(token="before"))
    post.hold()
    post.message(room, message(1), b"m1")
    post.reply(alice, Pong(token="after"))
    post.hold()
    post.message(room, message(2), b"m2")
    closed: list[str] = []
    post.after(lambda: closed.append("bye"))
    post.flush()
    assert len(inbox.frames) == 1
    assert other.frames == []
    post.written(1)
    assert inbox.frames[1:] == [b"m1", Out.of(Pong(token="after")).frame]
    assert other.frames == [b"m1"]
    assert closed == []
    post.written(2)
    assert inbox.frames[-1] == b"m2"
    assert other.frames == [b"m1", b"m2"]
    assert closed == ["bye"]
    post.reply(bob, Pong(token="now"))  # nothing unwritten: straight out
    assert len(other.frames) == 3


def test_a_post_with_nothing_unwritten_never_holds() -> None:
    post = Post()
    alice, inbox = seat()
    ran: list[int] = []
    post.after(lambda: ran.append(1))
    post.reply(alice, Pong())
    assert ran == [1]
    assert len(inbox.frames) == 1
    assert not post.full


def test_too_much_waiting_says_full() -> None:
    post = Post()
    alice, _ = seat()
    post.hold()
    for _ in range(HELD_MAX):
        post.reply(alice, Pong())
    assert post.full
    post.written(1)
    assert not post.full
