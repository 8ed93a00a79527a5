"""Framing and message validation over a real socket: what is fatal and what is not."""

from __future__ import annotations

import asyncio
import time

import pytest

from chat_server.server import Server
from protocol import (
    Bye,
    Error,
    Hello,
    Joined,
    Message,
    Ping,
    Pong,
    Presence,
    Say,
    encode,
    frame,
)
from tests.server.helpers import (
    close_all,
    expect_error,
    hung_up,
    send_json,
    serving,
    still_open,
    sync,
    welcomed,
)
from tests.wire import WireClient


async def send_slowly(client: WireClient, data: bytes) -> None:
    """One byte per write, each its own TCP segment."""
    for i in range(len(data)):
        await client.send_raw(data[i : i + 1])
        await asyncio.sleep(0.002)


async def test_frame_fed_byte_by_byte_is_understood(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await send_slowly(client, encode(Hello(nick="alice", protocol=1)))
    welcome = await client.recv()
    assert welcome.type == "welcome"
    await send_slowly(client, encode(Ping(token="slow")))
    assert await client.expect(Pong) == Pong(token="slow")
    await client.close()


async def test_header_split_from_body_is_understood(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    data = encode(Ping(token="split"))
    await client.send_raw(data[:2])
    await asyncio.sleep(0.05)
    await client.send_raw(data[2:4])
    await asyncio.sleep(0.05)
    await client.send_raw(data[4:10])
    await asyncio.sleep(0.05)
    await client.send_raw(data[10:])
    assert await client.expect(Pong) == Pong(token="split")
    await client.close()


async def test_fifty_frames_in_one_write_are_all_answered_in_order(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    await client.send_raw(b"".join(encode(Ping(token=f"t{i}")) for i in range(50)))
    for i in range(50):
        assert await client.expect(Pong) == Pong(token=f"t{i}")
    await client.close()


async def test_fifty_says_in_one_write_are_all_broadcast_in_order() -> None:
    async with serving(rate=0) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await bob.join("lobby")
        await sync(alice)
        says = [encode(Say(room="lobby", text=f"m{i}", id=f"i{i}")) for i in range(50)]
        await alice.send_raw(b"".join(says))
        for client in (alice, bob):
            got = [await client.expect(Message) for _ in range(50)]
            assert [m.text for m in got] == [f"m{i}" for i in range(50)]
            assert [m.id for m in got] == [f"i{i}" for i in range(50)]
            assert [m.seq for m in got] == list(range(1, 51))
        await close_all([alice, bob])


async def test_zero_length_frame_gets_bad_frame_then_bye_and_close(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    await client.send_raw(b"\x00\x00\x00\x00")
    received = await hung_up(client, timeout=3)
    assert len(received) == 2, received
    assert isinstance(received[0], Error)
    assert received[0].code == "bad_frame"
    assert received[1] == Bye(reason="bad_frame")


async def test_zero_length_frame_before_welcome_is_bad_frame_too(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await client.send_raw(b"\x00\x00\x00\x00")
    received = await hung_up(client, timeout=3)
    assert [getattr(m, "code", None) or getattr(m, "reason", None) for m in received] == [
        "bad_frame",
        "bad_frame",
    ]


async def test_huge_length_closes_within_a_second_while_others_keep_chatting(
    server: Server,
) -> None:
    alice, bob, mallory = await welcomed(server.port, "alice", "bob", "mallory")
    await alice.join("lobby")
    await bob.join("lobby")
    await mallory.join("lobby")
    await sync(alice)
    await sync(bob)
    await sync(mallory)

    async def chat(rounds: int) -> None:
        for i in range(rounds):
            await alice.send(Say(room="lobby", text=f"ping {i}"))
            assert (await bob.recv_until(Message)).text == f"ping {i}"
            await bob.send(Say(room="lobby", text=f"pong {i}"))
            assert (await alice.recv_until(Message)).text == f"ping {i}"
            assert (await alice.recv_until(Message)).text == f"pong {i}"
            assert (await bob.recv_until(Message)).text == f"pong {i}"

    await chat(2)
    started = time.monotonic()
    await mallory.send_raw(b"\xff\xff\xff\xff")
    chatting = asyncio.create_task(chat(2))
    received = await hung_up(mallory, timeout=1.0)
    assert time.monotonic() - started < 1.0
    await chatting
    frames = [m for m in received if not isinstance(m, Message)]
    assert len(frames) >= 2, received
    assert isinstance(frames[-2], Error)
    assert frames[-2].code == "frame_too_large"
    assert frames[-1] == Bye(reason="frame_too_large")
    await chat(2)
    await close_all([alice, bob])


async def test_frame_over_max_frame_is_refused_on_its_header_alone() -> None:
    async with serving(max_frame=1024) as server:
        (client,) = await welcomed(server.port, "alice")
        # Only the header: the server must not wait for 1025 bytes of body.
        await client.send_raw((1025).to_bytes(4, "big"))
        received = await hung_up(client, timeout=2)
        assert len(received) == 2, received
        assert isinstance(received[0], Error)
        assert received[0].code == "frame_too_large"
        assert received[1] == Bye(reason="frame_too_large")


async def test_frame_of_exactly_max_frame_is_accepted() -> None:
    async with serving(max_frame=1024) as server:
        (client,) = await welcomed(server.port, "alice")
        body = b'{"type":"ping","token":"big","pad":"'
        body += b"x" * (1024 - len(body) - 2) + b'"}'
        assert len(body) == 1024
        await client.send_raw(frame(body))
        assert await client.expect(Pong) == Pong(token="big")
        await client.close()


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\xfd",
        b"not json at all",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b'{"type": "ping"',
        b'{"type":"say","room":"lobby","text":"\\ud800"}',
    ],
)
async def test_unreadable_body_is_bad_message_and_connection_stays_open(
    server: Server, body: bytes
) -> None:
    (client,) = await welcomed(server.port, "alice")
    await client.send_raw(frame(body))
    await expect_error(client, "bad_message")
    await still_open(client)
    await client.close()


async def test_unknown_type_is_unknown_type_with_ref_and_id(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    await send_json(client, {"type": "dance", "id": "d1"})
    await expect_error(client, "unknown_type", ref="dance", id="d1")
    await still_open(client)
    await client.close()


async def test_non_string_type_is_bad_message_after_welcome_too(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    await send_json(client, {"type": ["say"], "room": "lobby", "text": "hi"})
    await expect_error(client, "bad_message")
    await still_open(client)
    await client.close()


@pytest.mark.parametrize(
    "message",
    [
        {"type": "join"},
        {"type": "join", "room": 7},
        {"type": "say", "room": "lobby"},
        {"type": "say", "room": "lobby", "text": ["hi"]},
        {"type": "whisper", "text": "hi"},
        {"type": "nick", "nick": 5},
        {"type": "topic", "room": "lobby", "topic": 5},
        {"type": "history", "room": "lobby", "limit": "5"},
        {"type": "ping", "token": 12},
    ],
)
async def test_missing_or_wrongly_typed_field_is_bad_message_with_ref(
    server: Server, message: dict[str, object]
) -> None:
    (client,) = await welcomed(server.port, "alice")
    await send_json(client, message)
    await expect_error(client, "bad_message", ref=str(message["type"]))
    await still_open(client)
    await client.close()


async def test_error_from_a_frame_with_an_id_carries_that_id(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    await send_json(client, {"type": "say", "room": "lobby", "text": 5, "id": "bad-1"})
    await expect_error(client, "bad_message", ref="say", id="bad-1")
    await send_json(client, {"type": "say", "room": "no room", "text": "x", "id": "bad-2"})
    await expect_error(client, "room_invalid", ref="say", id="bad-2")
    await send_json(client, {"type": "say", "room": "nowhere", "text": "x", "id": "bad-3"})
    await expect_error(client, "not_in_room", ref="say", id="bad-3")
    await send_json(client, {"type": "whisper", "to": "ghost", "text": "x", "id": "bad-4"})
    await expect_error(client, "no_such_nick", ref="whisper", id="bad-4")
    await send_json(client, {"type": "say", "room": "lobby", "text": "\x00", "id": "bad-5"})
    await expect_error(client, "bad_message", ref="say", id="bad-5")
    await client.close()


async def test_any_frame_type_echoes_its_id_in_the_error_it_causes(server: Server) -> None:
    (alice, bob) = await welcomed(server.port, "alice", "bob")
    await send_json(alice, {"type": "join", "room": "no room", "id": "j"})
    await expect_error(alice, "room_invalid", ref="join", id="j")
    await send_json(alice, {"type": "leave", "room": "nowhere", "id": "l"})
    await expect_error(alice, "not_in_room", ref="leave", id="l")
    await send_json(alice, {"type": "who", "room": "nowhere", "id": "w"})
    await expect_error(alice, "not_in_room", ref="who", id="w")
    await send_json(alice, {"type": "nick", "nick": "BOB", "id": "n"})
    await expect_error(alice, "nick_taken", ref="nick", id="n")
    await send_json(alice, {"type": "hello", "nick": "carol", "protocol": 1, "id": "h"})
    await expect_error(alice, "bad_message", ref="hello", id="h")
    await still_open(alice)
    await alice.close()
    await bob.close()


async def test_hello_refusal_echoes_the_hello_id(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    newcomer = await WireClient.connect(server.port)
    await send_json(newcomer, {"type": "hello", "nick": "Alice", "protocol": 1, "id": "h1"})
    await expect_error(newcomer, "nick_taken", ref="hello", id="h1")
    await send_json(newcomer, {"type": "join", "room": "lobby", "id": "early"})
    await expect_error(newcomer, "not_ready", ref="join", id="early")
    await newcomer.close()
    await alice.close()


async def test_error_without_id_carries_no_id(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    await send_json(client, {"type": "leave", "room": "nowhere"})
    error = await expect_error(client, "not_in_room", ref="leave")
    assert error.id is None
    await client.close()


async def test_unknown_fields_are_ignored(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    await send_json(client, {"type": "join", "room": "lobby", "colour": "red", "v2": {"x": 1}})
    assert (await client.expect(Joined)).room == "lobby"
    await send_json(client, {"type": "ping", "token": "k", "future": [1, 2]})
    assert await client.expect(Pong) == Pong(token="k")
    await client.close()


async def test_many_bad_messages_in_a_row_never_close_the_connection(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    await client.send_raw(b"".join(frame(b"junk %d" % i) for i in range(30)))
    for _ in range(30):
        await expect_error(client, "bad_message")
    await still_open(client)
    await client.close()


async def test_good_frames_before_a_fatal_one_are_all_answered(server: Server) -> None:
    (client,) = await welcomed(server.port, "alice")
    data = encode(Ping(token="a")) + encode(Ping(token="b")) + b"\x00\x00\x00\x00"
    await client.send_raw(data)
    received = await hung_up(client, timeout=3)
    assert received[:2] == [Pong(token="a"), Pong(token="b")]
    assert isinstance(received[2], Error)
    assert received[2].code == "bad_frame"
    assert received[3:] == [Bye(reason="bad_frame")]


async def test_member_closed_for_a_broken_frame_leaves_presence_quit_with_a_reason(
    server: Server,
) -> None:
    alice, mallory = await welcomed(server.port, "alice", "mallory")
    await alice.join("lobby")
    await mallory.join("lobby")
    await sync(alice)
    await mallory.send_raw(b"\x00\x00\x00\x00")
    await hung_up(mallory, timeout=3)
    presence = await alice.expect(Presence)
    assert (presence.room, presence.nick, presence.event) == ("lobby", "mallory", "quit")
    assert presence.reason, "the room is told why the server closed it"
    await alice.close()


async def test_pong_after_welcome_is_accepted_silently(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.send(Pong(token="unsolicited"))
    await alice.send(Pong())
    await still_open(alice)
    await alice.close()


async def test_id_longer_than_64_characters_is_bad_message(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("lobby")
    await send_json(alice, {"type": "say", "room": "lobby", "text": "hi", "id": "i" * 65})
    await expect_error(alice, "bad_message", ref="say")
    await send_json(alice, {"type": "ping", "token": "t" * 65})
    await expect_error(alice, "bad_message", ref="ping")
    await send_json(alice, {"type": "say", "room": "lobby", "text": "hi", "id": "i" * 64})
    assert (await alice.expect(Message)).id == "i" * 64
    await alice.close()
