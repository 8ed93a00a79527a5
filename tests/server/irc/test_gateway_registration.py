"""The gateway's registration: CAP, PASS, NICK, USER, the burst, and its refusals."""

from __future__ import annotations

import asyncio

import pytest

from chat_server.doors.irc.connection import CLOSING
from chat_server.hub.post import Post
from chat_server.server import Server
from protocol import Presence
from tests.server.helpers import welcomed
from tests.server.irc.client import ALL_CAPS, IrcClient, gateway, irc_port, registered
from tests.wire import connect_welcomed

ISUPPORT = (
    "AWAYLEN=300 CASEMAPPING=ascii CHANMODES=b,k,l,imt CHANNELLEN=65 CHANTYPES=# CHATHISTORY=100"
    " KICKLEN=300 MODES=4 MSGREFTYPES=msgid,timestamp NETWORK=hubbub NICKLEN=32 PREFIX=(ov)@+"
    " TARGMAX=JOIN:,KICK:1,LIST:1,NAMES:1,NOTICE:1,PART:1,PRIVMSG:1,TAGMSG:1,WHOIS:1"
    " TOPICLEN=4000 UTF8ONLY"
)


async def test_registration_burst_is_001_to_005_then_422_without_a_motd() -> None:
    async with gateway() as server:
        client = await IrcClient.connect(irc_port(server))
        burst = await client.register("alice")
        assert [line.command for line in burst] == [
            "001", "002", "003", "004", "005", "005", "422",
        ]  # fmt: skip
        assert (
            burst[0].raw
            == ":irc.test 001 alice :Welcome to the hubbub Network, alice!alice@127.0.0.1"
        )
        assert burst[1].raw.startswith(
            ":irc.test 002 alice :Your host is irc.test, running version hubbub-"
        )
        assert burst[3].params[1:] == ["irc.test", burst[3].params[2], "io", "biklmotv", "bklov"]
        tokens = [token for line in burst[4:6] for token in line.params[1:-1]]
        assert " ".join(tokens) == ISUPPORT
        assert all(line.params[-1] == "are supported by this server" for line in burst[4:6])
        assert burst[6].raw == ":irc.test 422 alice :MOTD File is missing"
        await client.close()


async def test_the_motd_is_375_a_372_per_line_and_376() -> None:
    async with gateway(motd="Welcome!\nBe kind.", max_text=500) as server:
        client = await IrcClient.connect(irc_port(server))
        burst = await client.register("alice")
        assert "TOPICLEN=500" in burst[5].params
        assert [line.raw for line in burst[-4:]] == [
            ":irc.test 375 alice :- irc.test Message of the day - ",
            ":irc.test 372 alice :- Welcome!",
            ":irc.test 372 alice :- Be kind.",
            ":irc.test 376 alice :End of /MOTD command.",
        ]
        await client.close()


async def test_cap_negotiation_holds_registration_until_cap_end() -> None:
    async with gateway() as server:
        client = await IrcClient.connect(irc_port(server))
        await client.send("CAP LS 302", "NICK alice", "USER alice 0 * :Alice")
        ls = await client.expect("CAP")
        assert ls.params == ["*", "LS", " ".join(ALL_CAPS)]
        await client.send("CAP REQ :server-time echo-message")
        assert (await client.expect("CAP")).params == ["alice", "ACK", "server-time echo-message"]
        await client.send("CAP REQ :sasl")
        assert (await client.expect("CAP")).params == ["alice", "NAK", "sasl"]
        assert await client.sync() == []  # nothing more: registration waits
        await client.send("CAP END")
        assert (await client.recv()).command == "001"
        await client.send("CAP LIST")
        listed = await client.until("CAP")
        assert listed[-1].params == ["alice", "LIST", "echo-message server-time"]
        await client.close()


async def test_a_nick_in_use_is_433_and_another_nick_registers() -> None:
    async with gateway() as server:
        (native,) = await welcomed(server.port, "Alice")
        client = await IrcClient.connect(irc_port(server))
        await client.send("NICK alice", "USER a 0 * :A")
        assert (await client.recv()).raw == ":irc.test 433 * alice :Nickname is already in use"
        await client.send("NICK alice2")
        assert (await client.recv()).raw.startswith(":irc.test 001 alice2 ")
        await client.close()
        await native.close()


async def test_an_erroneous_nick_is_432_and_commands_before_registration_are_451() -> None:
    async with gateway() as server:
        client = await IrcClient.connect(irc_port(server))
        await client.send("NICK -bad", "JOIN #general", "NICK wa\u00efve")
        assert [line.raw for line in [await client.recv() for _ in range(3)]] == [
            ":irc.test 432 * -bad :Erroneous nickname",
            ":irc.test 451 * :You have not registered",
            ":irc.test 432 * wa\u00efve :Erroneous nickname",
        ]
        await client.close()


async def test_a_wrong_password_is_464_and_error() -> None:
    async with gateway(password="s3cret") as server:
        client = await IrcClient.connect(irc_port(server))
        await client.send("PASS wrong", "NICK alice", "USER a 0 * :A")
        lines = await client.closed()
        assert [line.raw for line in lines] == [
            ":irc.test 464 * :Password incorrect",
            "ERROR :Closing Link: 127.0.0.1 (Password incorrect)",
        ]
        await client.close()
        good = await IrcClient.connect(irc_port(server))
        burst = await good.register("alice", password="s3cret")
        assert burst[0].command == "001"
        await good.close()


async def test_without_pass_a_server_with_a_password_refuses() -> None:
    async with gateway(password="s3cret") as server:
        client = await IrcClient.connect(irc_port(server))
        await client.send("NICK alice", "USER a 0 * :A")
        assert (await client.recv()).command == "464"
        await client.close()


async def test_quit_is_answered_with_error_and_the_rooms_hear_the_reason() -> None:
    async with gateway() as server:
        (native,) = await welcomed(server.port, "bob")
        await native.join("general")
        client = await registered(irc_port(server), "alice")
        await client.join("#general")
        await client.send("QUIT :see you")
        assert [line.raw for line in await client.closed()] == [
            "ERROR :Closing Link: 127.0.0.1 (Quit: see you)"
        ]
        presence = await native.recv_until(Presence)
        assert (presence.nick, presence.event) == ("alice", "join")
        presence = await native.recv_until(Presence)
        assert (presence.nick, presence.event, presence.reason) == ("alice", "quit", "see you")
        await native.close()
        await client.close()


async def test_quit_before_registration_closes_with_error() -> None:
    async with gateway() as server:
        client = await IrcClient.connect(irc_port(server))
        await client.send("QUIT")
        assert [line.raw for line in await client.closed()] == [
            f"ERROR :Closing Link: 127.0.0.1 ({CLOSING['quit']})"
        ]
        await client.close()


async def test_an_unregistered_connection_is_closed_after_the_hello_timeout() -> None:
    async with gateway(hello_timeout=0.3) as server:
        client = await IrcClient.connect(irc_port(server))
        await client.send("NICK alice")
        lines = await client.closed()
        assert lines[-1].raw == "ERROR :Closing Link: 127.0.0.1 (Registration timed out)"
        await client.close()


async def test_pass_and_user_after_registration_are_462_and_unknown_commands_421() -> None:
    async with gateway() as server:
        client = await registered(irc_port(server), "alice")
        await client.send("PASS x", "USER a 0 * :A", "FROB x", "VERSION")
        assert [line.raw for line in await client.sync()] == [
            ":irc.test 462 alice :You may not reregister",
            ":irc.test 462 alice :You may not reregister",
            ":irc.test 421 alice FROB :Unknown command",
            ":irc.test 421 alice VERSION :Unknown command",
        ]
        await client.close()


async def test_a_line_too_long_is_417_and_invalid_utf8_is_a_fail() -> None:
    async with gateway() as server:
        client = await registered(irc_port(server), "alice")
        await client.send_raw(b"PRIVMSG #x :" + b"y" * 600 + b"\r\n")
        await client.send_raw(b"PRIVMSG #x :\xff\xfe\r\n")
        assert [line.raw for line in await client.sync()] == [
            ":irc.test 417 alice :Input line was too long",
            ":irc.test FAIL PRIVMSG INVALID_UTF8 :Message rejected: it is not valid UTF-8",
        ]
        await client.close()


async def test_ping_is_answered_pong_before_and_after_registration() -> None:
    async with gateway() as server:
        client = await IrcClient.connect(irc_port(server))
        await client.send("PING :early")
        assert (await client.recv()).raw == ":irc.test PONG irc.test :early"
        await client.register("alice")
        await client.send("PING :" + "t" * 100, "PING")
        assert [line.raw for line in await client.sync()] == [
            ":irc.test PONG irc.test :" + "t" * 100,
            ":irc.test 409 alice :No origin specified",
        ]
        await client.close()


async def test_user_mode_i_is_accepted_and_others_modes_are_502() -> None:
    async with gateway() as server:
        client = await registered(irc_port(server), "alice")
        (native,) = await welcomed(server.port, "bob")
        await client.send(
            "MODE alice +i", "MODE alice", "MODE alice +x", "MODE bob +i", "MODE nobody"
        )
        assert [line.raw for line in await client.sync()] == [
            ":alice!alice@127.0.0.1 MODE alice +i",
            ":irc.test 221 alice +i",
            ":irc.test 501 alice :Unknown MODE flag",
            ":irc.test 502 alice :Cant change mode for other users",
            ":irc.test 401 alice nobody :No such nick/channel",
        ]
        await client.close()
        await native.close()


async def held_back(server: Server) -> Post:
    """The hub's Post, made to hold every frame as if a durable store were writing."""
    post = server.hub.ctx.post
    post.hold()
    return post


async def test_registration_goes_on_while_the_welcome_waits_for_a_store_write() -> None:
    async with gateway() as server:
        post = await held_back(server)
        client = await IrcClient.connect(irc_port(server))
        await client.send("NICK alice", "USER a 0 * :A", "JOIN #general", "WHO #general")
        with pytest.raises(TimeoutError):
            await client.recv(timeout=0.2)  # all decided, nothing handed out yet
        post.written(1)
        lines = [line.raw for line in await client.until("315")]
        commands = [raw.split()[1] for raw in lines]
        assert commands[:7] == ["001", "002", "003", "004", "005", "005", "422"]
        assert lines[7:] == [
            ":alice!a@127.0.0.1 JOIN #general",
            ":irc.test 353 alice = #general :@alice",
            ":irc.test 366 alice #general :End of /NAMES list",
            ":irc.test 352 alice #general a 127.0.0.1 irc.test alice H@ :0 A",
            ":irc.test 315 alice #general :End of WHO list",
        ]
        await client.close()


async def test_a_refusal_that_waited_for_a_store_write_still_closes_or_asks_again() -> None:
    async with gateway(password="s3cret") as server:
        taken = await connect_welcomed(server.port, "bob", password="s3cret")
        post = await held_back(server)
        wrong = await IrcClient.connect(irc_port(server))
        await wrong.send("PASS nope", "NICK alice", "USER a 0 * :A")
        clashing = await IrcClient.connect(irc_port(server))
        await clashing.send("PASS s3cret", "NICK bob", "USER b 0 * :B")
        await asyncio.sleep(0.2)
        post.written(1)
        assert [line.raw for line in await wrong.closed()] == [
            ":irc.test 464 * :Password incorrect",
            "ERROR :Closing Link: 127.0.0.1 (Password incorrect)",
        ]
        assert (await clashing.recv()).raw == ":irc.test 433 * bob :Nickname is already in use"
        await clashing.send("NICK bobby")
        assert (await clashing.recv()).raw.startswith(":irc.test 001 bobby ")
        for client in (wrong, clashing):
            await client.close()
        await taken.close()
