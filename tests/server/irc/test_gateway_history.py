"""History through the gateway: the join replay and CHATHISTORY, mapped onto seq."""

from __future__ import annotations

import asyncio

from chat_server.doors.irc.mapping import format_server_time
from protocol import History, HistoryRequest, Message, Say
from tests.server.helpers import sync, welcomed
from tests.server.irc.client import IrcClient, Line, gateway, irc_port, registered
from tests.wire import WireClient

HISTORY_CAPS = ("batch", "server-time", "message-tags", "draft/chathistory")


async def said(client: WireClient, room: str, count: int, *, spaced: bool = False) -> list[Message]:
    """``count`` messages said by ``client`` in ``room``, as the room numbered them;
    ``spaced`` ones each in a millisecond of its own, as ``server-time`` tells them."""
    messages: list[Message] = []
    for n in range(count):
        await client.send(Say(room=room, text=f"message {n}"))
        if spaced:
            messages += [m for m in await sync(client) if isinstance(m, Message)]
            await asyncio.sleep(0.002)
    messages += [m for m in await sync(client) if isinstance(m, Message)]
    while len(messages) < count:
        messages.append(await client.recv_until(Message))
    return messages


def batch_lines(lines: list[Line]) -> tuple[str, list[Line]]:
    """The batch's reference and the lines inside it; checks the framing."""
    start, *body, end = lines
    assert start.command == "BATCH"
    assert start.params[0].startswith("+")
    reference = start.params[0][1:]
    assert start.params[1] == "chathistory"
    assert end.command == "BATCH"
    assert end.params == [f"-{reference}"]
    assert all(line.tags.get("batch") == reference for line in body)
    return reference, body


async def test_history_on_join_is_a_chathistory_batch_for_batch_and_server_time_only() -> None:
    async with gateway(rate=0) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        messages = await said(bob, "general", 3)
        alice = await registered(irc_port(server), "alice", caps=HISTORY_CAPS)
        joined = await alice.join("#general")
        assert [line.command for line in joined[:3]] == ["JOIN", "353", "366"]
        _, body = batch_lines(joined[3:])
        assert [line.params for line in body] == [["#general", m.text] for m in messages]
        assert [line.tags["msgid"] for line in body] == [
            f"{server.hub.epoch}:general:{m.seq}" for m in messages
        ]
        assert [line.tags["time"] for line in body] == [format_server_time(m.ts) for m in messages]
        for caps in ((), ("batch",), ("server-time", "message-tags")):
            other = await registered(irc_port(server), f"x{len(caps)}", caps=caps)
            lines = await other.join("#general")
            assert [line.command for line in lines] == ["JOIN", "353", "366"], caps
            await other.close()
        await bob.close()
        await alice.close()


async def test_chathistory_before_is_the_page_native_history_gives() -> None:
    async with gateway(rate=0) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        messages = await said(bob, "general", 30)
        alice = await registered(irc_port(server), "alice", caps=HISTORY_CAPS)
        reference = f"msgid={server.hub.epoch}:general:{messages[20].seq}"
        await alice.send(f"CHATHISTORY BEFORE #general {reference} 7")
        _, body = batch_lines(await alice.sync())
        await bob.send(HistoryRequest(room="general", before=messages[20].seq, limit=7))
        native = await bob.recv_until(History)
        assert [line.tags["msgid"].rsplit(":", 1)[1] for line in body] == [
            str(m.seq) for m in native.messages
        ]
        assert [line.params[1] for line in body] == [m.text for m in native.messages]
        assert [line.source for line in body] == ["bob!bob@127.0.0.1"] * 7
        await bob.close()
        await alice.close()


async def test_chathistory_latest_after_around_and_between_by_msgid_and_timestamp() -> None:
    async with gateway(rate=0) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        messages = await said(bob, "general", 10, spaced=True)
        epoch = server.hub.epoch
        alice = await registered(irc_port(server), "alice", caps=HISTORY_CAPS)

        async def page(command: str) -> list[int]:
            await alice.send(command)
            _, body = batch_lines(await alice.sync())
            return [int(line.tags["msgid"].rsplit(":", 1)[1]) for line in body]

        def ref(seq: int) -> str:
            return f"msgid={epoch}:general:{seq}"

        def at(seq: int) -> str:
            return f"timestamp={format_server_time(messages[seq - 1].ts)}"

        assert await page("CHATHISTORY LATEST #general * 3") == [8, 9, 10]
        assert await page(f"CHATHISTORY LATEST #general {ref(8)} 10") == [9, 10]
        assert await page(f"CHATHISTORY AFTER #general {ref(3)} 2") == [4, 5]
        assert await page(f"CHATHISTORY AROUND #general {ref(5)} 4") == [3, 4, 5, 6]
        assert await page(f"CHATHISTORY BETWEEN #GENERAL {ref(2)} {ref(6)} 10") == [3, 4, 5]
        assert await page(f"CHATHISTORY BETWEEN #general {ref(9)} {ref(2)} 2") == [7, 8]
        assert await page(f"chathistory before #general {ref(1)} 5") == []
        assert await page(f"CHATHISTORY AFTER #general {at(1)} 2") == [2, 3]
        assert await page("CHATHISTORY BEFORE #general msgid=0ld:general:5 5") == []
        assert await page("CHATHISTORY LATEST bob * 5") == []
        await bob.close()
        await alice.close()


async def test_chathistory_refusals_are_fail_replies() -> None:
    async with gateway(rate=0) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        await said(bob, "general", 1)
        alice = await registered(irc_port(server), "alice", caps=HISTORY_CAPS)
        epoch = server.hub.epoch
        await alice.send(
            "CHATHISTORY",
            "CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z * 5",
            "CHATHISTORY BEFORE #general",
            "CHATHISTORY BEFORE #general msgid=x 5",
            f"CHATHISTORY BEFORE #general msgid={epoch}:other:1 5",
            "CHATHISTORY BEFORE #general * 5",
            "CHATHISTORY LATEST #general * 0",
            "CHATHISTORY LATEST #nowhere * 5",
            "CHATHISTORY LATEST #bad!name * 5",
        )
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test FAIL CHATHISTORY NEED_MORE_PARAMS :Not enough parameters",
            ":irc.test FAIL CHATHISTORY INVALID_PARAMS TARGETS :Unknown subcommand",
            ":irc.test FAIL CHATHISTORY NEED_MORE_PARAMS BEFORE :Not enough parameters",
            ":irc.test FAIL CHATHISTORY INVALID_PARAMS BEFORE msgid=x :Invalid message reference",
            f":irc.test FAIL CHATHISTORY INVALID_PARAMS BEFORE msgid={epoch}:other:1"
            " :Invalid message reference",
            ":irc.test FAIL CHATHISTORY INVALID_PARAMS BEFORE * :Invalid message reference",
            ":irc.test FAIL CHATHISTORY INVALID_PARAMS LATEST 0 :Invalid limit",
            ":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST #nowhere :No such channel",
            ":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST #bad!name :No such channel",
        ]
        await bob.close()
        await alice.close()


async def test_a_limit_above_100_is_taken_as_100_and_without_batch_lines_come_plain() -> None:
    async with gateway(rate=0, history=300) as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        await said(bob, "general", 120)
        alice = await IrcClient.connect(irc_port(server))
        await alice.register("alice", caps=("server-time",))
        await alice.send("CHATHISTORY LATEST #general * 500")
        lines = await alice.sync()
        assert len(lines) == 100
        assert all(line.command == "PRIVMSG" and "batch" not in line.tags for line in lines)
        assert lines[-1].params[1] == "message 119"
        await bob.close()
        await alice.close()
