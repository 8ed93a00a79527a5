"""What the gateway answers about modes by itself, and IRC over TLS."""

from __future__ import annotations

import asyncio
import ssl

from tests.conftest import TlsFiles
from tests.server.helpers import welcomed
from tests.server.irc.client import IrcClient, gateway, irc_port, registered


async def test_mode_strings_the_gateway_cannot_take_are_refused_with_their_numerics() -> None:
    async with gateway() as server:
        alice = await registered(irc_port(server), "alice")
        await alice.join("#general")
        await alice.send(
            "MODE #general",
            "MODE #nowhere",
            "MODE #general +xz",
            "MODE #general +l many",
            "MODE #general +b alice@*",
            "MODE #general +k",
            "MODE",
        )
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 324 alice #general +",
            ":irc.test 403 alice #nowhere :No such channel",
            ":irc.test 472 alice x :is unknown mode char to me",
            ":irc.test 472 alice z :is unknown mode char to me",
            ":irc.test 696 alice #general l many :The limit must be a whole number of at least 1",
            ":irc.test 472 alice b :A ban mask is nick!*@* or *!*@address, with an IP address"
            " or CIDR network",
            ":irc.test 461 alice MODE :Not enough parameters",
            ":irc.test 461 alice MODE :Not enough parameters",
        ]
        await alice.close()


async def test_the_ban_list_always_ends_with_368_even_when_nothing_else_answers() -> None:
    async with gateway() as server:
        alice = await registered(irc_port(server), "alice")
        await alice.join("#general")
        await alice.send("MODE #general b", "MODE #general +b")
        lines = [line.raw for line in await alice.sync()]
        assert lines[-1] == ":irc.test 368 alice #general :End of channel ban list"
        assert lines.count(":irc.test 368 alice #general :End of channel ban list") == 2
        assert all(" 367 " in line or " 368 " in line for line in lines)
        await alice.close()


async def test_inviting_a_member_is_443() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        alice = await registered(irc_port(server), "alice")
        await alice.join("#general")
        await alice.send("INVITE Bob #general", "INVITE bob #nowhere", "INVITE bob")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 443 alice Bob #general :is already on channel",
            ":irc.test 403 alice #nowhere :No such channel",
            ":irc.test 461 alice INVITE :Not enough parameters",
        ]
        await bob.close()
        await alice.close()


async def test_irc_over_tls_when_the_server_has_a_certificate(tls_files: TlsFiles) -> None:
    async with gateway(tls_cert=str(tls_files.cert), tls_key=str(tls_files.key)) as server:
        context = ssl.create_default_context(cafile=str(tls_files.cert))
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", irc_port(server), ssl=context, server_hostname="localhost"
        )
        client = IrcClient(reader, writer)
        burst = await client.register("alice")
        assert burst[0].raw.startswith(":irc.test 001 alice ")
        await client.send("JOIN #secure", "PRIVMSG #secure :over tls")
        assert (await client.expect("JOIN")).raw == ":alice!alice@127.0.0.1 JOIN #secure"
        await client.close()
