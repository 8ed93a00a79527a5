"""Moderation through the gateway: MODE, KICK, INVITE, OPER, KILL, AWAY and WHOIS,
between IRC and native users."""

from __future__ import annotations

from protocol import (
    Away,
    AwayChanged,
    Kick,
    Mute,
    Op,
    OpChanged,
    Presence,
    RoomModeChanged,
    VoiceChanged,
    Whois,
    WhoisReply,
)
from tests.server.helpers import sync, welcomed
from tests.server.irc.client import IrcClient, gateway, irc_port, registered
from tests.wire import WireClient

ALICE = "alice!alice@127.0.0.1"


async def room_with_ops(port: int, irc: int) -> tuple[WireClient, IrcClient, IrcClient]:
    """bob (native) made #general and opped alice (IRC); carol (IRC) is a plain member."""
    (bob,) = await welcomed(port, "bob")
    await bob.join("general")
    alice = await registered(irc, "alice", caps=("multi-prefix",))
    carol = await registered(irc, "carol", caps=("away-notify",))
    await alice.join("#general")
    await carol.join("#general")
    await alice.sync()
    await bob.send(Op(room="general", nick="alice"))
    await bob.recv_until(OpChanged)
    for client in (alice, carol):
        assert (await client.expect("MODE")).raw == ":bob!bob@127.0.0.1 MODE #general +o alice"
    await sync(bob)
    return bob, alice, carol


async def test_op_and_voice_go_both_ways_and_names_show_the_prefixes() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await alice.send("MODE #general +v carol", "MODE #general +v alice")
        voiced = await bob.recv_until(VoiceChanged)
        assert (voiced.nick, voiced.voiced, voiced.by) == ("carol", True, "alice")
        assert (await carol.expect("MODE")).raw == f":{ALICE} MODE #general +v carol"
        await alice.send("NAMES #general")
        lines = [line.raw for line in await alice.sync()]
        assert ":irc.test 353 alice = #general :@bob @+alice +carol" in lines
        await carol.send("NAMES #general")
        names = [line.raw for line in await carol.sync() if line.command == "353"]
        assert names == [":irc.test 353 carol = #general :@bob @alice +carol"]
        await alice.send("MODE #general -o bob")
        deopped = await bob.recv_until(OpChanged)
        assert (deopped.nick, deopped.op) == ("bob", False)
        await bob.close()
        await alice.close()
        await carol.close()


async def test_refusals_are_482_441_and_401() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        (dave,) = await welcomed(server.port, "dave")
        await carol.send(
            "MODE #general +o carol", "KICK #general bob", "MODE #general +i", "TOPIC #general :x"
        )
        assert [line.raw for line in await carol.sync()] == [
            ":irc.test 482 carol #general :You're not channel operator",
            ":irc.test 482 carol #general :You're not channel operator",
            ":irc.test 482 carol #general :You're not channel operator",
            ":carol!carol@127.0.0.1 TOPIC #general :x",  # topic_ops is off
        ]
        await alice.send("MODE #general +o dave", "KICK #general nobody", "KICK #elsewhere bob")
        assert [line.raw for line in await alice.sync()] == [
            ":carol!carol@127.0.0.1 TOPIC #general :x",
            ":irc.test 441 alice dave #general :They aren't on that channel",
            ":irc.test 401 alice nobody :No such nick/channel",
            ":irc.test 442 alice #elsewhere :You're not on that channel",
        ]
        for client in (bob, dave):
            await client.close()
        await alice.close()
        await carol.close()


async def test_a_kick_is_kick_for_irc_and_a_leave_with_its_reason_for_native() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await alice.send("KICK #general carol :too loud")
        assert (await carol.expect("KICK")).raw == f":{ALICE} KICK #general carol :too loud"
        assert (await alice.expect("KICK")).raw == f":{ALICE} KICK #general carol :too loud"
        left = await bob.recv_until(Presence)
        assert (left.nick, left.event, left.reason) == (
            "carol",
            "leave",
            "kicked by alice: too loud",
        )
        await carol.send("PRIVMSG #general :still here?")
        assert [line.raw for line in await carol.sync()] == [
            ":irc.test 404 carol #general :Cannot send to channel"
        ]
        await bob.send(Kick(room="general", nick="alice"))
        assert (await alice.expect("KICK")).raw == ":bob!bob@127.0.0.1 KICK #general alice :bob"
        await bob.close()
        await alice.close()
        await carol.close()


async def test_bans_by_nick_and_address_and_the_ban_list() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await alice.send(
            "MODE #general +b dave", "MODE #general +b *!*@10.1.2.3/8", "MODE #general b"
        )
        lines = [line.raw for line in await alice.sync()]
        assert lines == [
            f":{ALICE} MODE #general +b dave!*@*",
            f":{ALICE} MODE #general +b *!*@10.0.0.0/8",
            ":irc.test 367 alice #general dave!*@* alice",
            ":irc.test 367 alice #general *!*@10.0.0.0/8 alice",
            ":irc.test 368 alice #general :End of channel ban list",
        ]
        dave = await registered(irc_port(server), "dave")
        await dave.send("JOIN #general")
        assert [line.raw for line in await dave.sync()] == [
            ":irc.test 474 dave #general :Cannot join channel (+b)"
        ]
        await alice.send("MODE #general -b dave!*@*", "MODE #general +b *!user@host")
        assert [line.raw for line in await alice.sync()] == [
            f":{ALICE} MODE #general -b dave!*@*",
            ":irc.test 472 alice b :A ban mask is nick!*@* or *!*@address, with an IP address"
            " or CIDR network",
        ]
        await dave.send("JOIN #general")
        assert (await dave.expect("JOIN")).raw == ":dave!dave@127.0.0.1 JOIN #general"
        for client in (alice, carol, dave):
            await client.close()
        await bob.close()


async def test_room_modes_keep_people_out_with_the_numerics_irc_clients_expect() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await alice.send("MODE #general +itk s3cret")
        modes = await bob.recv_until(RoomModeChanged)
        assert (modes.modes.invite_only, modes.modes.topic_ops, modes.modes.key) == (
            True,
            True,
            "s3cret",
        )
        assert (await carol.expect("MODE")).raw == f":{ALICE} MODE #general +itk s3cret"
        await carol.send("MODE #general")
        assert (await carol.expect("324")).raw == ":irc.test 324 carol #general +ikt s3cret"
        dave = await registered(irc_port(server), "dave")
        await dave.send("MODE #general", "JOIN #general")
        assert [line.raw for line in await dave.sync()] == [
            ":irc.test 324 dave #general +ikt *",
            ":irc.test 473 dave #general :Cannot join channel (+i)",
        ]
        await alice.send("MODE #general -i+l 3")
        await alice.sync()
        await dave.send("JOIN #general", "JOIN #general wrong")
        assert [line.raw for line in await dave.sync()] == [
            ":irc.test 475 dave #general :Cannot join channel (+k)",
            ":irc.test 475 dave #general :Cannot join channel (+k)",
        ]
        await dave.send("JOIN #general s3cret")
        assert [line.raw for line in await dave.sync()] == [
            ":irc.test 471 dave #general :Cannot join channel (+l)"
        ]
        await alice.send("MODE #general -kl+m")
        assert (await carol.expect("MODE")).raw == f":{ALICE} MODE #general -i+l 3"
        assert (await carol.expect("MODE")).raw == f":{ALICE} MODE #general +m-kl *"
        await carol.send("PRIVMSG #general :may I?")
        lines = [line.raw for line in await carol.sync()]
        assert lines[0].startswith(":irc.test 404 carol #general :")
        for client in (alice, carol, dave):
            await client.close()
        await bob.close()


async def test_an_invite_lets_its_nick_in_once() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await alice.send("MODE #general +i")
        await alice.sync()
        eve = await registered(irc_port(server), "eve")
        await alice.send("INVITE eve #general", "INVITE carol #general")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 341 alice eve #general",
            ":irc.test 443 alice carol #general :is already on channel",
        ]
        assert (await eve.expect("INVITE")).raw == f":{ALICE} INVITE eve #general"
        await eve.send("JOIN #general")
        assert (await eve.expect("JOIN")).raw == ":eve!eve@127.0.0.1 JOIN #general"
        for client in (alice, carol, eve):
            await client.close()
        await bob.close()


async def test_oper_kill_and_the_operator_flags() -> None:
    async with gateway(oper_password="opensesame") as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await carol.send("KILL bob :bye", "OPER carol wrong")
        assert [line.raw for line in await carol.sync()] == [
            ":irc.test 481 carol :Permission Denied- You're not an IRC operator",
            ":irc.test 464 carol :Password incorrect",
        ]
        await carol.send("OPER anyname opensesame", "MODE carol", "WHO carol")
        assert [line.raw for line in await carol.sync()] == [
            ":irc.test 381 carol :You are now an IRC operator",
            ":irc.test MODE carol +o",
            ":irc.test 221 carol +o",
            ":irc.test 352 carol * carol 127.0.0.1 irc.test carol H* :0 carol the tester",
            ":irc.test 315 carol carol :End of WHO list",
        ]
        await carol.send("KILL nobody :x", "KILL alice :spam")
        assert [line.raw for line in await carol.sync()] == [
            ":irc.test 401 carol nobody :No such nick/channel",
            f":{ALICE} QUIT :killed by carol: spam",
        ]
        assert [line.raw for line in await alice.closed()][-1] == (
            "ERROR :Closing Link: 127.0.0.1 (Killed: killed by carol: spam)"
        )
        quit = await bob.recv_until(Presence)
        assert (quit.nick, quit.event, quit.reason) == ("alice", "quit", "killed by carol: spam")
        await bob.close()
        await alice.close()
        await carol.close()


async def test_away_is_305_306_an_away_line_for_away_notify_and_301_to_whoever_writes() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await alice.send("AWAY :at lunch")
        assert (await alice.expect("306")).raw == (
            ":irc.test 306 alice :You have been marked as being away"
        )
        assert (await carol.expect("AWAY")).raw == f":{ALICE} AWAY :at lunch"
        assert await bob.recv_until(AwayChanged) == AwayChanged(nick="alice", text="at lunch")
        await carol.send("PRIVMSG alice :are you there?", "NOTICE alice :fyi", "USERHOST alice")
        assert [line.raw for line in await carol.sync()] == [
            ":irc.test 301 carol alice :at lunch",
            ":irc.test 302 carol :alice=-alice@127.0.0.1",
        ]
        await carol.send("WHO #general")
        flags = {
            line.params[5]: line.params[6] for line in await carol.sync() if line.command == "352"
        }
        assert flags == {"bob": "H@", "alice": "G@", "carol": "H"}
        assert [line.params[1] for line in await alice.sync()] == ["are you there?", "fyi"]
        await bob.send(Away(text="brb"))
        assert (await carol.expect("AWAY")).raw == ":bob!bob@127.0.0.1 AWAY :brb"
        await alice.send("AWAY")
        assert (await alice.expect("305")).raw == (
            ":irc.test 305 alice :You are no longer marked as being away"
        )
        assert (await carol.expect("AWAY")).raw == f":{ALICE} AWAY"
        await bob.close()
        await alice.close()
        await carol.close()


async def test_whois_answers_the_standard_numerics_and_native_whois_says_via_irc() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await carol.send("WHOIS alice", "WHOIS bob", "WHOIS nobody")
        lines = [line.raw for line in await carol.sync()]
        assert lines[:3] == [
            ":irc.test 311 carol alice alice 127.0.0.1 * :alice the tester",
            ":irc.test 312 carol alice irc.test :hubbub (irc)",
            lines[2],
        ]
        assert lines[2].startswith(":irc.test 317 carol alice ")
        assert lines[3:5] == [
            ":irc.test 319 carol alice :@#general",
            ":irc.test 318 carol alice :End of /WHOIS list",
        ]
        assert lines[5:7] == [
            ":irc.test 311 carol bob bob 127.0.0.1 * :bob",
            ":irc.test 312 carol bob irc.test :hubbub (native)",
        ]
        assert lines[-2:] == [
            ":irc.test 401 carol nobody :No such nick/channel",
            ":irc.test 318 carol nobody :End of /WHOIS list",
        ]
        await bob.send(Whois(nick="carol"))
        reply = await bob.recv_until(WhoisReply)
        assert (reply.nick, reply.via, reply.rooms) == ("carol", "irc", ["general"])
        await bob.close()
        await alice.close()
        await carol.close()


async def test_a_mute_is_a_channel_notice_and_the_muted_get_404() -> None:
    async with gateway() as server:
        bob, alice, carol = await room_with_ops(server.port, irc_port(server))
        await bob.send(Mute(room="general", nick="carol"))
        assert (await carol.expect("NOTICE")).raw == (
            ":irc.test NOTICE #general :carol is muted by bob"
        )
        await carol.send("PRIVMSG #general :hello?")
        lines = [line.raw for line in await carol.sync()]
        assert lines[0].startswith(":irc.test 404 carol #general :")
        await bob.close()
        await alice.close()
        await carol.close()
