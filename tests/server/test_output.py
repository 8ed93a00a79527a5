"""Output: what one read causes leaves in order; --flush-interval batches writes
under load, never after a quiet spell."""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel

from protocol import (
    Bye,
    Error,
    Members,
    Message,
    Ping,
    Pong,
    Presence,
    Say,
    ServerMessage,
    SetTopic,
    Topic,
    Whisper,
    WhisperMessage,
    Who,
    encode,
)
from tests.server.helpers import close_all, serving, sync, welcomed
from tests.wire import WireClient

INTERVAL = 0.4


async def round_trip(client: WireClient, token: str) -> float:
    """Seconds from sending a ping to its pong."""
    started = time.monotonic()
    await client.send(Ping(token=token))
    pong = await client.expect(Pong)
    assert pong.token == token
    return time.monotonic() - started


async def test_output_queued_soon_after_a_round_waits_for_the_interval() -> None:
    async with serving(flush_interval=INTERVAL) as server:
        (alice,) = await welcomed(server.port, "alice")
        await asyncio.sleep(INTERVAL * 1.5)  # the welcome's round is long past
        await round_trip(alice, "first")  # a round runs as this pong goes out
        assert await round_trip(alice, "second") >= INTERVAL / 2
        await alice.close()


async def test_output_after_a_quiet_spell_leaves_at_once() -> None:
    async with serving(flush_interval=INTERVAL) as server:
        (alice,) = await welcomed(server.port, "alice")
        await asyncio.sleep(INTERVAL * 1.5)
        assert await round_trip(alice, "quiet") < INTERVAL / 2
        await alice.close()


async def test_messages_queued_within_one_interval_reach_everyone_in_order() -> None:
    async with serving(flush_interval=0.05, rate=0) as server:
        clients = await welcomed(server.port, "alice", "bob", "carol")
        for client in clients:
            await client.join("lobby")
        for n in range(30):
            await clients[n % 3].send({"type": "say", "room": "lobby", "text": f"m{n}"})
        for client in clients:
            seen: list[int] = []
            while len(seen) < 30:
                message = await client.recv()
                if isinstance(message, Message):
                    seen.append(message.seq)
            assert seen == sorted(seen)
            assert len(set(seen)) == 30
        await close_all(clients)


def summary(message: ServerMessage) -> str:
    """What a test checks of a message, as one short string."""
    match message:
        case Message(room=room, text=text):
            return f"{room}:{text}"
        case Pong(token=token):
            return f"pong {token}"
        case Members(members=members):
            return f"members {len(members)}"
        case WhisperMessage(text=text):
            return f"whisper {text}"
        case Error(code=code):
            return f"error {code}"
        case Presence(nick=nick, event=event):
            return f"{event} {nick}"
        case Bye(reason=reason):
            return f"bye {reason}"
        case Topic(room=room, topic=topic):
            return f"{room} topic {topic}"
    return message.type


async def receive(client: WireClient, count: int) -> list[str]:
    return [summary(await client.recv()) for _ in range(count)]


async def in_one_write(client: WireClient, *messages: BaseModel | bytes) -> None:
    await client.send_raw(b"".join(m if isinstance(m, bytes) else encode(m) for m in messages))


async def room_pair(port: int, *rooms: str) -> tuple[WireClient, WireClient]:
    alice, bob = await welcomed(port, "alice", "bob")
    for room in rooms:
        await alice.join(room)
        await bob.join(room)
    await sync(alice)
    return alice, bob


async def test_frames_of_one_read_are_answered_in_the_order_sent() -> None:
    async with serving(rate=0) as server:
        alice, bob = await room_pair(server.port, "lobby")
        await in_one_write(
            alice,
            Say(room="lobby", text="m1"),
            Say(room="lobby", text="m2"),
            Ping(token="t"),
            Say(room="lobby", text="m3"),
            Who(room="lobby"),
            Say(room="lobby", text="m4"),
            Say(room="nowhere", text="lost"),
            Say(room="lobby", text="m5"),
            Whisper(to="bob", text="psst"),
            Say(room="lobby", text="m6"),
        )
        assert await receive(alice, 10) == [
            "lobby:m1",
            "lobby:m2",
            "pong t",
            "lobby:m3",
            "members 2",
            "lobby:m4",
            "error not_in_room",
            "lobby:m5",
            "whisper psst",
            "lobby:m6",
        ]
        assert await receive(bob, 7) == [
            "lobby:m1",
            "lobby:m2",
            "lobby:m3",
            "lobby:m4",
            "lobby:m5",
            "whisper psst",
            "lobby:m6",
        ]
        await close_all([alice, bob])


async def test_broadcasts_to_several_rooms_in_one_read_keep_their_order() -> None:
    async with serving(rate=0) as server:
        alice, bob = await room_pair(server.port, "lobby", "dev")
        (carol,) = await welcomed(server.port, "carol")
        await carol.join("lobby")
        await sync(alice)
        await sync(bob)
        await in_one_write(
            alice,
            Say(room="lobby", text="a1"),
            SetTopic(room="dev", topic="busy"),
            Say(room="lobby", text="a2"),
            Say(room="dev", text="d1"),
            Say(room="lobby", text="a3"),
        )
        expected = ["lobby:a1", "dev topic busy", "lobby:a2", "dev:d1", "lobby:a3"]
        assert await receive(alice, 5) == expected
        assert await receive(bob, 5) == expected
        assert await receive(carol, 3) == ["lobby:a1", "lobby:a2", "lobby:a3"]
        assert await sync(carol) == []
        await close_all([alice, bob, carol])


async def test_messages_before_a_fatal_frame_in_the_same_read_still_arrive() -> None:
    async with serving(rate=0) as server:
        alice, bob = await room_pair(server.port, "lobby")
        await in_one_write(
            alice,
            Say(room="lobby", text="m1"),
            Say(room="lobby", text="m2"),
            b"\x00\x00\x00\x00",  # a zero length: unrecoverable
        )
        assert [summary(m) for m in await alice.closed()] == [
            "lobby:m1",
            "lobby:m2",
            "error bad_frame",
            "bye bad_frame",
        ]
        assert await receive(bob, 3) == ["lobby:m1", "lobby:m2", "quit alice"]
        await close_all([alice, bob])


async def test_messages_before_a_rate_limited_one_arrive_before_its_error() -> None:
    async with serving(rate=0.01, burst=3) as server:  # the join costs one
        alice, bob = await room_pair(server.port, "lobby")
        await in_one_write(
            alice,
            Say(room="lobby", text="m1"),
            Say(room="lobby", text="m2"),
            Say(room="lobby", text="m3"),
        )
        assert await receive(alice, 3) == ["lobby:m1", "lobby:m2", "error rate_limited"]
        assert await receive(bob, 2) == ["lobby:m1", "lobby:m2"]
        await close_all([alice, bob])
