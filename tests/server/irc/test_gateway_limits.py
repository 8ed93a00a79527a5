"""The native door's limits hold at the IRC door: flood, sendq, ping timeout, max-clients."""

from __future__ import annotations

import asyncio

from protocol import Bye, Error, Message, Presence
from tests.server.helpers import hung_up, send_json, sync, welcomed
from tests.server.irc.client import IrcClient, gateway, irc_port, registered
from tests.wire import WireClient


async def test_messages_beyond_the_burst_are_refused_and_a_flood_is_cut_off() -> None:
    async with gateway(rate=0.01, burst=2) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        alice = await registered(irc_port(server), "alice", caps=("standard-replies",))
        await alice.join("#general")  # a join costs a token too
        await alice.send(*(f"PRIVMSG #general :m{n}" for n in range(5)))  # 1 sent, 4 dropped
        lines = await alice.sync()
        assert [line.raw for line in lines] == [
            ":irc.test FAIL PRIVMSG RATE_LIMITED :slow down: 0.01 messages a second"
        ] * 4
        assert (await bob.recv_until(Message)).text == "m0"
        await alice.send("PRIVMSG #general :one drop too many")
        closing = await alice.closed()
        assert closing[-1].raw == "ERROR :Closing Link: 127.0.0.1 (Excess flood)"
        quit = await bob.recv_until(Presence)
        assert (quit.nick, quit.event, quit.reason) == ("alice", "quit", "rate_limited")
        await bob.close()
        await alice.close()


async def test_without_standard_replies_a_refusal_is_a_server_notice() -> None:
    async with gateway(rate=0.01, burst=1) as server:
        alice = await registered(irc_port(server), "alice")
        await alice.send("JOIN #general", "PRIVMSG #general :too soon")
        lines = await alice.sync()
        assert lines[-1].raw == ":irc.test NOTICE alice :slow down: 0.01 messages a second"
        await alice.close()


async def test_an_irc_client_that_stops_reading_is_dropped_for_its_sendq() -> None:
    async with gateway(rate=0, sendq=65536, max_text=20000, sndbuf=4096) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        stalled = await IrcClient.connect(irc_port(server), rcvbuf=4096)
        await stalled.register("stalled")
        await stalled.join("#general")
        await sync(bob)
        stalled.writer.transport.pause_reading()  # type: ignore[attr-defined]
        text = "x" * 20000
        quit: Presence | None = None
        for _ in range(200):
            await send_json(bob, {"type": "say", "room": "general", "text": text})
            for message in await sync(bob):
                if isinstance(message, Presence) and message.event == "quit":
                    quit = message
            if quit is not None:
                break
        assert quit is not None, "never dropped"
        assert (quit.nick, quit.reason) == ("stalled", "sendq_exceeded")
        await bob.close()
        await stalled.close()


async def test_a_silent_irc_client_is_pinged_then_dropped_and_one_that_answers_stays() -> None:
    async with gateway(ping_interval=0.2, ping_timeout=0.6) as server:
        silent = await registered(irc_port(server), "silent")
        lively = await registered(irc_port(server), "lively")
        assert (await silent.recv(timeout=2)).raw == ":irc.test PING irc.test"
        ping = await lively.recv(timeout=2)
        assert ping.command == "PING"
        await lively.send(f"PONG :{ping.params[0]}")
        lines = await silent.closed(timeout=3)
        assert lines[-1].raw == "ERROR :Closing Link: 127.0.0.1 (Ping timeout)"

        async def stay_alive() -> None:
            for _ in range(8):
                await lively.send("PONG :irc.test")
                await asyncio.sleep(0.1)

        await stay_alive()
        assert {line.command for line in await lively.sync()} <= {"PING"}  # still here
        await silent.close()
        await lively.close()


async def test_max_clients_counts_both_doors() -> None:
    async with gateway(max_clients=2) as server:
        (bob,) = await welcomed(server.port, "bob")
        alice = await registered(irc_port(server), "alice")
        third = await IrcClient.connect(irc_port(server))
        assert [line.raw for line in await third.closed()] == [
            "ERROR :Closing Link: 127.0.0.1 (Server full: the server is full (2 connections))"
        ]
        fourth = await WireClient.connect(server.port)
        received = await hung_up(fourth)
        assert isinstance(received[0], Error)
        assert received[0].code == "server_full"
        assert received[-1] == Bye(reason="server_full")
        await third.close()
        await alice.close()
        await bob.close()


async def test_shutdown_tells_irc_clients_with_error() -> None:
    async with gateway() as server:
        alice = await registered(irc_port(server), "alice")
        stopping = asyncio.create_task(server.shutdown())
        assert [line.raw for line in await alice.closed()] == [
            "ERROR :Closing Link: 127.0.0.1 (Server shutting down)"
        ]
        await alice.close()
        await stopping
