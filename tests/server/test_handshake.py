"""The handshake: hello, welcome, and the rules before it."""

from __future__ import annotations

import asyncio
import time

from chat_server.server import Server
from protocol import (
    Bye,
    Error,
    Hello,
    Joined,
    Ping,
    Pong,
    Presence,
    Say,
    Welcome,
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
from tests.wire import WireClient, connect_welcomed


async def test_hello_is_answered_with_welcome(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await client.send(Hello(nick="alice", protocol=1))
    welcome = await client.expect(Welcome)
    assert welcome.nick == "alice"
    assert welcome.protocol == 1
    assert isinstance(welcome.epoch, str)
    assert welcome.epoch
    assert welcome.server
    assert welcome.rooms == []
    await client.close()


async def test_welcome_keeps_the_spelling_of_the_nick(server: Server) -> None:
    client = await WireClient.connect(server.port)
    welcome = await client.hello("AlIcE")
    assert welcome.nick == "AlIcE"
    await client.close()


async def test_welcome_names_existing_rooms_and_joins_nobody(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("Lobby")
    await alice.join("dev")
    bob = await WireClient.connect(server.port)
    welcome = await bob.hello("bob")
    assert sorted(welcome.rooms) == ["Lobby", "dev"]
    assert await sync(bob) == []
    assert await sync(alice) == [], "bob joined nothing, so alice hears nothing"
    await close_all([alice, bob])


async def test_motd_is_sent_in_welcome_when_configured() -> None:
    async with serving(motd="be nice") as server:
        client = await WireClient.connect(server.port)
        welcome = await client.hello("alice")
        assert welcome.motd == "be nice"
        await client.close()


async def test_welcome_tells_the_client_the_servers_limits() -> None:
    async with serving(max_text=300, max_frame=9000, rate=2.5, burst=4) as server:
        client = await WireClient.connect(server.port)
        welcome = await client.hello("alice")
        assert (welcome.max_text, welcome.max_frame, welcome.rate, welcome.burst) == (
            300,
            9000,
            2.5,
            4,
        )
        await client.close()


async def test_epoch_is_the_same_for_every_connection(server: Server) -> None:
    first = await WireClient.connect(server.port)
    second = await WireClient.connect(server.port)
    one = await first.hello("alice")
    await first.close()
    two = await second.hello("bob")
    assert one.epoch == two.epoch
    await second.close()


async def test_unsupported_protocol_is_refused_and_hello_may_be_sent_again(
    server: Server,
) -> None:
    client = await WireClient.connect(server.port)
    await client.send(Hello(nick="alice", protocol=2))
    await expect_error(client, "protocol_unsupported", ref="hello")
    await client.send(Hello(nick="alice", protocol=0))
    await expect_error(client, "protocol_unsupported", ref="hello")
    assert (await client.hello("alice")).nick == "alice"
    await client.close()


async def test_protocol_is_checked_before_the_nick(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await send_json(client, {"type": "hello", "nick": "-not valid", "protocol": 2})
    await expect_error(client, "protocol_unsupported", ref="hello")
    await client.close()


async def test_invalid_nick_in_hello_is_nick_invalid_and_hello_may_be_sent_again(
    server: Server,
) -> None:
    client = await WireClient.connect(server.port)
    for nick in ["-alice", "a" * 33, "al ice", ""]:
        await send_json(client, {"type": "hello", "nick": nick, "protocol": 1})
        await expect_error(client, "nick_invalid", ref="hello")
    assert (await client.hello("alice")).nick == "alice"
    await client.close()


async def test_taken_nick_is_refused_case_insensitively(server: Server) -> None:
    (alice,) = await welcomed(server.port, "Alice")
    other = await WireClient.connect(server.port)
    for nick in ["Alice", "alice", "ALICE"]:
        await other.send(Hello(nick=nick, protocol=1))
        await expect_error(other, "nick_taken", ref="hello")
    assert (await other.hello("alice2")).nick == "alice2"
    await close_all([alice, other])


async def test_nick_is_free_again_once_its_owner_is_gone(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.close()
    deadline = time.monotonic() + 3
    while True:
        again = await WireClient.connect(server.port)
        await again.send(Hello(nick="alice", protocol=1))
        answer = await again.recv()
        if isinstance(answer, Welcome):
            break
        assert isinstance(answer, Error)
        assert answer.code == "nick_taken"
        await again.close()
        assert time.monotonic() < deadline, "the nick stayed taken after its owner left"
        await asyncio.sleep(0.05)
    await again.close()


async def test_hello_after_welcome_is_bad_message_and_connection_stays_open(
    server: Server,
) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.send(Hello(nick="other", protocol=1))
    await expect_error(alice, "bad_message", ref="hello")
    await still_open(alice)
    await alice.close()


async def test_other_messages_before_welcome_are_not_ready(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await send_json(client, {"type": "join", "room": "lobby"})
    await expect_error(client, "not_ready", ref="join")
    await send_json(client, {"type": "say", "room": "lobby", "text": "hi", "id": "s1"})
    await expect_error(client, "not_ready", ref="say", id="s1")
    await send_json(client, {"type": "list"})
    await expect_error(client, "not_ready", ref="list")
    await send_json(client, {"type": "dance"})
    await expect_error(client, "not_ready")
    assert (await client.hello("alice")).nick == "alice"
    await client.close()


async def test_non_string_type_before_welcome_is_bad_message(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await send_json(client, {"type": 3})
    await expect_error(client, "bad_message")
    await send_json(client, {"nick": "alice", "protocol": 1})
    await expect_error(client, "bad_message")
    assert (await client.hello("alice")).nick == "alice"
    await client.close()


async def test_ping_before_welcome_is_answered_with_pong(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await client.send(Ping(token="early"))
    assert await client.expect(Pong) == Pong(token="early")
    await client.send(Ping())
    assert (await client.expect(Pong)).token is None
    assert (await client.hello("alice")).nick == "alice"
    await client.close()


async def test_pong_before_welcome_is_accepted_silently(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await client.send(Pong(token="whatever"))
    await client.send(Ping(token="after"))
    assert await client.expect(Pong) == Pong(token="after")
    await client.close()


async def test_server_without_password_ignores_the_password_field(server: Server) -> None:
    client = await WireClient.connect(server.port)
    assert (await client.hello("alice", password="anything")).nick == "alice"
    await client.close()


async def test_password_is_required_when_configured() -> None:
    async with serving(password="s3cret") as server:
        client = await WireClient.connect(server.port)
        await client.send(Hello(nick="alice", protocol=1))
        await expect_error(client, "auth_failed", ref="hello")
        await client.send(Hello(nick="alice", protocol=1, password="wrong"))
        await expect_error(client, "auth_failed", ref="hello")
        await client.send(Hello(nick="alice", protocol=1, password="S3CRET"))
        await expect_error(client, "auth_failed", ref="hello")
        assert (await client.hello("alice", password="s3cret")).nick == "alice"
        await client.close()


async def test_hello_checks_protocol_then_password_then_nick() -> None:
    async with serving(password="s3cret") as server:
        alice = await connect_welcomed(server.port, "alice", password="s3cret")
        client = await WireClient.connect(server.port)
        bad_nick = "-bad nick"
        await send_json(
            client, {"type": "hello", "nick": bad_nick, "protocol": 2, "password": "wrong"}
        )
        await expect_error(client, "protocol_unsupported", ref="hello")
        await send_json(
            client, {"type": "hello", "nick": bad_nick, "protocol": 1, "password": "wrong"}
        )
        await expect_error(client, "auth_failed", ref="hello")
        await send_json(client, {"type": "hello", "nick": "ALICE", "protocol": 1})
        await expect_error(client, "auth_failed", ref="hello")
        await send_json(
            client, {"type": "hello", "nick": bad_nick, "protocol": 1, "password": "s3cret"}
        )
        await expect_error(client, "nick_invalid", ref="hello")
        await client.send(Hello(nick="ALICE", protocol=1, password="s3cret"))
        await expect_error(client, "nick_taken", ref="hello")
        assert (await client.hello("bob", password="s3cret")).nick == "bob"
        await close_all([alice, client])


async def test_silent_connection_gets_bye_hello_timeout_and_is_closed() -> None:
    async with serving(hello_timeout=0.4) as server:
        client = await WireClient.connect(server.port)
        started = time.monotonic()
        received = await hung_up(client, timeout=3)
        assert received == [Bye(reason="hello_timeout")]
        assert time.monotonic() - started < 2.0


async def test_pings_and_failed_hellos_do_not_extend_the_hello_timeout() -> None:
    async with serving(hello_timeout=0.6) as server:
        (alice,) = await welcomed(server.port, "alice")
        client = await WireClient.connect(server.port)
        started = time.monotonic()
        received = []
        try:
            while time.monotonic() - started < 3:
                await client.send(Ping(token="p"))
                await client.send(Hello(nick="alice", protocol=1))
                received.append(await client.recv(timeout=2))
                received.append(await client.recv(timeout=2))
                await asyncio.sleep(0.1)
        except (ConnectionError, OSError):
            pass
        received += await hung_up(client, timeout=3)
        assert time.monotonic() - started < 2.5
        assert Bye(reason="hello_timeout") in received
        assert not any(isinstance(m, Welcome) for m in received)
        assert received[-1] == Bye(reason="hello_timeout")
        await still_open(alice)
        await alice.close()


async def test_welcomed_connection_is_not_closed_by_hello_timeout() -> None:
    async with serving(hello_timeout=0.3) as server:
        (alice,) = await welcomed(server.port, "alice")
        await asyncio.sleep(0.6)
        await still_open(alice)
        await alice.close()


async def test_frame_over_the_pre_welcome_cap_is_frame_too_large_and_closes() -> None:
    async with serving(hello_max_frame=4096) as server:
        client = await WireClient.connect(server.port)
        await client.send_raw((5000).to_bytes(4, "big"))
        received = await hung_up(client, timeout=3)
        assert len(received) == 2, received
        assert isinstance(received[0], Error)
        assert received[0].code == "frame_too_large"
        assert received[1] == Bye(reason="frame_too_large")


async def test_pre_welcome_cap_is_lifted_after_welcome(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("lobby")
    text = "é" * 3000  # 6000 bytes of UTF-8: above the 4096-byte pre-welcome cap
    await alice.send(Say(room="lobby", text=text))
    message = await alice.recv()
    assert not isinstance(message, Error), message
    assert getattr(message, "text", None) == text
    await alice.close()


async def test_frame_at_the_pre_welcome_cap_is_accepted() -> None:
    async with serving(hello_max_frame=256) as server:
        client = await WireClient.connect(server.port)
        hello = b'{"type":"hello","nick":"alice","protocol":1,"pad":"'
        hello += b"x" * (256 - len(hello) - 2) + b'"}'
        assert len(hello) == 256
        await client.send_raw(frame(hello))
        assert (await client.expect(Welcome)).nick == "alice"
        await client.close()


async def test_joined_is_never_sent_without_join(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    assert not any(isinstance(m, Joined | Presence) for m in await sync(bob))
    await close_all([alice, bob])


async def test_welcome_names_the_server_and_its_version(server: Server) -> None:
    client = await WireClient.connect(server.port)
    welcome = await client.hello("alice")
    name, _, version = welcome.server.partition(" ")
    assert name
    assert version, f"server is {welcome.server!r}, not 'NAME VERSION'"
    await client.close()


async def test_epoch_changes_when_a_restart_loses_history() -> None:
    async with serving() as first:
        client = await WireClient.connect(first.port)
        old = (await client.hello("alice")).epoch
        await client.join("lobby")
        await client.close()
    async with serving() as second:
        client = await WireClient.connect(second.port)
        new = (await client.hello("alice")).epoch
        await client.close()
    assert new != old, "seq starts again at 1 after this restart, so the epoch must change"


async def test_max_frame_below_the_pre_welcome_cap_still_applies_before_welcome() -> None:
    async with serving(max_frame=256, hello_max_frame=4096) as server:
        client = await WireClient.connect(server.port)
        await client.send_raw((1000).to_bytes(4, "big"))
        received = await hung_up(client, timeout=3)
        assert len(received) == 2, received
        assert isinstance(received[0], Error)
        assert received[0].code == "frame_too_large"
        assert received[1] == Bye(reason="frame_too_large")
