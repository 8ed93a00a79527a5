"""Liveness and limits: rate, ping, connection caps."""

from __future__ import annotations

import asyncio
import time

from protocol import (
    Bye,
    Error,
    Hello,
    HistoryRequest,
    Join,
    Joined,
    Leave,
    Left,
    ListRooms,
    Message,
    Ping,
    Pong,
    Presence,
    RoomList,
    Say,
    SetNick,
    SetTopic,
    Welcome,
    Whisper,
    Who,
    encode,
)
from tests.server.helpers import (
    close_all,
    expect_error,
    hung_up,
    serving,
    still_open,
    sync,
    welcomed,
)
from tests.wire import WireClient

# --- rate limit -------------------------------------------------------------------


async def test_says_beyond_the_burst_are_dropped_with_rate_limited() -> None:
    async with serving(rate=0.01, burst=4) as server:  # the join costs one
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await bob.join("lobby")
        await sync(alice)
        for i in range(5):
            await alice.send(Say(room="lobby", text=f"m{i}", id=f"i{i}"))
        answers = [await alice.recv() for _ in range(5)]
        messages = [m for m in answers if isinstance(m, Message)]
        errors = [m for m in answers if isinstance(m, Error)]
        assert [m.text for m in messages] == ["m0", "m1", "m2"]
        assert [(e.code, e.ref, e.id) for e in errors] == [
            ("rate_limited", "say", "i3"),
            ("rate_limited", "say", "i4"),
        ]
        assert await sync(alice) == [], "dropped, not queued"
        assert [m.text for m in await sync(bob) if isinstance(m, Message)] == ["m0", "m1", "m2"]
        await close_all([alice, bob])


async def test_tokens_refill_at_the_rate() -> None:
    async with serving(rate=2, burst=2) as server:  # the join costs one
        (alice,) = await welcomed(server.port, "alice")
        await alice.join("lobby")
        await alice.send(Say(room="lobby", text="first"))
        await alice.send(Say(room="lobby", text="too soon"))
        assert (await alice.expect(Message)).text == "first"
        await expect_error(alice, "rate_limited", ref="say")
        await asyncio.sleep(0.6)  # one token back after 0.5 s
        await alice.send(Say(room="lobby", text="refilled"))
        assert (await alice.expect(Message)).text == "refilled"
        await alice.close()


async def test_whisper_nick_and_topic_cost_a_token() -> None:
    async with serving(rate=0.01, burst=2) as server:  # the join costs one
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await alice.send(Say(room="lobby", text="spends the only token"))
        await alice.expect(Message)
        await alice.send(Whisper(to="bob", text="hi", id="w"))
        await expect_error(alice, "rate_limited", ref="whisper", id="w")
        await alice.send(SetNick(nick="alicia"))
        await expect_error(alice, "rate_limited", ref="nick")
        await alice.send(SetTopic(room="lobby", topic="t"))
        await expect_error(alice, "rate_limited", ref="topic")
        assert await sync(bob) == []
        await close_all([alice, bob])


async def test_list_who_history_and_ping_cost_no_token() -> None:
    async with serving(rate=0.01, burst=2) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.join("r0")  # a join costs one token: one is left
        for i in range(15):
            await alice.send(ListRooms())
            await alice.expect(RoomList)
            await alice.send(Who(room="r0"))
            await alice.recv()
            await alice.send(HistoryRequest(room="r0"))
            await alice.recv()
            await alice.send(Ping(token=f"p{i}"))
            assert await alice.expect(Pong) == Pong(token=f"p{i}")
        await alice.send(Say(room="r0", text="token still there"))
        assert (await alice.expect(Message)).text == "token still there"
        await alice.close()


async def test_join_and_leave_cost_a_token() -> None:
    async with serving(rate=0.01, burst=2) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.join("r0")
        await alice.send(Leave(room="r0"))
        await alice.expect(Left)
        await alice.send(Join(room="r1", id="j"))
        await expect_error(alice, "rate_limited", ref="join", id="j")
        await alice.send(Leave(room="r0", id="l"))
        await expect_error(alice, "rate_limited", ref="leave", id="l")
        await alice.close()


async def test_rate_zero_turns_the_limit_off() -> None:
    async with serving(rate=0, burst=1) as server:
        (alice,) = await welcomed(server.port, "alice")
        await alice.join("lobby")
        for i in range(100):
            await alice.send(Say(room="lobby", text=f"m{i}"))
        got = [await alice.recv() for _ in range(100)]
        assert all(isinstance(m, Message) for m in got)
        await alice.close()


async def test_more_than_twice_burst_drops_in_ten_seconds_gets_bye_rate_limited() -> None:
    async with serving(rate=0.01, burst=3) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")  # one token of three
        await bob.join("lobby")
        await sync(alice)
        for i in range(8):  # 2 accepted, 6 dropped: exactly 2 x burst, still fine
            await alice.send(Say(room="lobby", text=f"m{i}"))
        answers = [await alice.recv() for _ in range(8)]
        assert sum(isinstance(m, Error) and m.code == "rate_limited" for m in answers) == 6
        await still_open(alice)
        await alice.send(Say(room="lobby", text="one drop too many"))
        received = await hung_up(alice, timeout=3)
        assert received[-1] == Bye(reason="rate_limited")
        assert all(isinstance(m, Error) and m.code == "rate_limited" for m in received[:-1])
        presence = await bob.recv_until(Presence)
        assert (presence.nick, presence.event) == ("alice", "quit")
        assert presence.reason
        await bob.close()


# --- ping -------------------------------------------------------------------------------


async def watch_for_quit(client: WireClient, nick: str, timeout: float = 4) -> Presence:
    """Stay alive (answering nothing, but never silent) until ``nick`` quits a shared room."""

    async def watch() -> Presence:
        while True:
            await client.send(Ping(token="alive"))
            try:
                message = await client.recv(timeout=0.1)
            except TimeoutError:
                continue
            if isinstance(message, Presence) and message.nick == nick:
                return message

    return await asyncio.wait_for(watch(), timeout)


async def test_silent_client_is_pinged_then_dropped_with_ping_timeout() -> None:
    async with serving(ping_interval=0.3, ping_timeout=0.8) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await bob.join("lobby")
        await sync(alice)
        watching = asyncio.create_task(watch_for_quit(bob, "alice"))
        silent_since = time.monotonic()
        ping = await alice.expect(Ping, timeout=2)
        pinged_after = time.monotonic() - silent_since
        assert 0.25 <= pinged_after < 0.8, pinged_after
        assert ping.type == "ping"
        received = await hung_up(alice, timeout=3)
        closed_after = time.monotonic() - silent_since
        assert received[-1] == Bye(reason="ping_timeout")
        assert 0.75 <= closed_after <= 2.0, closed_after
        presence = await watching
        assert (presence.nick, presence.event) == ("alice", "quit")
        assert presence.reason
        await bob.close()


async def test_client_answering_pings_stays_connected() -> None:
    async with serving(ping_interval=0.3, ping_timeout=0.8) as server:
        (alice,) = await welcomed(server.port, "alice")
        started = time.monotonic()
        pings = 0
        while time.monotonic() - started < 2.0:
            ping = await alice.expect(Ping, timeout=1)
            pings += 1
            await alice.send(Pong(token=ping.token))
        assert pings >= 3
        await still_open(alice)
        await alice.close()


async def test_any_frame_from_the_client_counts_as_alive() -> None:
    async with serving(ping_interval=0.3, ping_timeout=0.8) as server:
        (alice,) = await welcomed(server.port, "alice")
        started = time.monotonic()
        while time.monotonic() - started < 2.0:
            await alice.send(ListRooms())  # never a pong, but never silent
            message = await alice.recv(timeout=1)
            assert isinstance(message, RoomList | Ping), message
            await asyncio.sleep(0.1)
        await still_open(alice)
        await alice.close()


# --- connection caps ----------------------------------------------------------------------


async def test_connection_past_max_clients_gets_server_full_and_bye() -> None:
    async with serving(max_clients=2) as server:
        (alice,) = await welcomed(server.port, "alice")
        unwelcomed = await WireClient.connect(server.port)  # counts too
        await unwelcomed.send(Ping(token="here"))
        await unwelcomed.expect(Pong)
        third = await WireClient.connect(server.port)
        received = await hung_up(third, timeout=3)
        assert len(received) == 2, received
        assert isinstance(received[0], Error)
        assert received[0].code == "server_full"
        assert received[1] == Bye(reason="server_full")
        await still_open(alice)
        await unwelcomed.close()
        deadline = time.monotonic() + 3
        while True:  # the freed slot is usable once the server has seen the close
            late = await WireClient.connect(server.port)
            await late.send(Hello(nick="late", protocol=1))
            answer = await late.recv()
            if isinstance(answer, Welcome):
                break
            assert time.monotonic() < deadline, "the slot was never freed"
            await hung_up(late)
            await asyncio.sleep(0.05)
        await close_all([alice, late])


async def test_loopback_is_exempt_from_the_per_address_cap() -> None:
    async with serving(max_per_address=1) as server:
        clients = await welcomed(server.port, "a1", "a2", "a3", "a4")
        for client in clients:
            await still_open(client)
        await close_all(clients)


async def test_toggling_join_and_leave_in_a_big_room_is_limited_then_dropped() -> None:
    """Each join of a room of 1,000 answers 1,000 nicks and tells 1,000 members."""
    async with serving(rate=0.01, burst=4) as server:
        members = []
        for start in range(0, 1000, 100):
            batch = await asyncio.gather(
                *(WireClient.connect(server.port) for _ in range(start, start + 100))
            )
            for index, member in enumerate(batch, start):
                hello = Hello(nick=f"m{index}", protocol=1)
                member.writer.write(encode(hello) + encode(Join(room="big")))
            members.extend(batch)
        (watcher,) = await welcomed(server.port, "watcher")
        while len((await watcher.join("big")).members) < 1001:
            await watcher.send(Leave(room="big"))
            await watcher.expect(Left)
        (flooder,) = await welcomed(server.port, "flooder")
        toggles = [Join(room="big"), Leave(room="big")] * 10
        await flooder.send_raw(b"".join(encode(m) for m in toggles))
        received = await hung_up(flooder, timeout=20)
        assert received[-1] == Bye(reason="rate_limited")
        assert sum(isinstance(m, Joined) for m in received) == 2, "4 tokens: 2 joins, 2 leaves"
        refused = [m for m in received if isinstance(m, Error)]
        assert len(refused) == 9
        assert all(m.code == "rate_limited" for m in refused)
        for member in members:  # they never read: do not wait for a clean close
            member.writer.transport.abort()
        await watcher.close()
