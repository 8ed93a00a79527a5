"""Native and IRC users in the same rooms: messages, whispers, nicks, topics, lists."""

from __future__ import annotations

import asyncio

from protocol import (
    Join,
    Message,
    NickChanged,
    Presence,
    Say,
    SetNick,
    SetTopic,
    Topic,
    Whisper,
    WhisperMessage,
)
from tests.server.helpers import sync, welcomed
from tests.server.irc.client import gateway, irc_port, registered

EVERYTHING = ("server-time", "message-tags", "echo-message", "batch", "multi-prefix")


async def test_native_and_irc_users_chat_both_ways_in_the_same_seq_order() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        alice = await registered(irc_port(server), "alice", caps=("message-tags", "echo-message"))
        joined = await alice.join("#general")
        assert [line.raw for line in joined[:3]] == [
            ":alice!alice@127.0.0.1 JOIN #general",
            ":irc.test 353 alice = #general :@bob alice",
            ":irc.test 366 alice #general :End of /NAMES list",
        ]
        assert await bob.recv_until(Presence) == Presence(
            room="general", nick="alice", event="join"
        )
        for n in range(3):
            await bob.send(Say(room="general", text=f"native {n}"))
            await alice.send(f"PRIVMSG #general :irc {n}")
        native_seen = [m for m in await sync(bob) if isinstance(m, Message)]
        native_seen += [await bob.expect(Message) for _ in range(6 - len(native_seen))]
        irc_seen = [line for line in await alice.sync() if line.command == "PRIVMSG"]
        irc_seen += [await alice.expect("PRIVMSG") for _ in range(6 - len(irc_seen))]
        assert [m.seq for m in native_seen] == [1, 2, 3, 4, 5, 6]
        epoch = server.hub.epoch
        assert [line.tags["msgid"] for line in irc_seen] == [
            f"{epoch}:general:{m.seq}" for m in native_seen
        ]
        assert [line.params[1] for line in irc_seen] == [m.text for m in native_seen]
        by_seq = {m.seq: m.from_ for m in native_seen}
        assert [line.source.split("!")[0] for line in irc_seen if line.source] == [
            by_seq[seq] for seq in range(1, 7)
        ]
        assert irc_seen[0].source == "bob!bob@127.0.0.1"
        await bob.close()
        await alice.close()


async def test_without_echo_message_an_irc_user_does_not_see_its_own_message() -> None:
    async with gateway() as server:
        alice = await registered(irc_port(server), "alice")
        carol = await registered(irc_port(server), "carol", caps=("server-time",))
        await alice.join("#general")
        await carol.join("#general")
        await alice.sync()
        await alice.send("PRIVMSG #general :hi all")
        assert [line.command for line in await alice.sync()] == []
        line = await carol.expect("PRIVMSG")
        assert line.raw.endswith(" :alice!alice@127.0.0.1 PRIVMSG #general :hi all")
        assert set(line.tags) == {"time"}
        await alice.close()
        await carol.close()


async def test_whispers_go_both_ways_between_native_and_irc_users() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        alice = await registered(irc_port(server), "alice", caps=("echo-message",))
        await alice.send("PRIVMSG Bob :psst", "PRIVMSG bob :\x01ACTION waves\x01")
        first = await bob.expect(WhisperMessage)
        assert (first.from_, first.to, first.text, first.action) == ("alice", "bob", "psst", False)
        second = await bob.expect(WhisperMessage)
        assert (second.text, second.action) == ("waves", True)
        echoes = [line.raw for line in await alice.sync()]
        assert echoes == [
            ":alice!alice@127.0.0.1 PRIVMSG bob :psst",
            ":alice!alice@127.0.0.1 PRIVMSG bob :\x01ACTION waves\x01",
        ]
        await bob.send(Whisper(to="ALICE", text="hello\nthere"))
        assert [line.raw for line in await alice.sync()] == [
            ":bob!bob@127.0.0.1 PRIVMSG alice :hello",
            ":bob!bob@127.0.0.1 PRIVMSG alice :there",
        ]
        await bob.close()
        await alice.close()


async def test_a_private_message_to_nobody_is_401_and_notice_never_gets_a_reply() -> None:
    async with gateway() as server:
        alice = await registered(irc_port(server), "alice")
        await alice.send("PRIVMSG nobody :hi", "NOTICE nobody :hi")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 401 alice nobody :No such nick/channel",
        ]
        await alice.send(
            "PRIVMSG #nowhere :hi",
            "PRIVMSG #bad!name :hi",
            "PRIVMSG",
            "PRIVMSG alice",
            "NOTICE #nowhere :hi",
            "NOTICE #bad!name :hi",
        )
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 404 alice #nowhere :Cannot send to channel",
            ":irc.test 403 alice #bad!name :No such channel",
            ":irc.test 411 alice :No recipient given (PRIVMSG)",
            ":irc.test 412 alice :No text to send",
        ]
        await alice.close()


async def test_actions_multi_line_and_long_native_messages_keep_the_irc_framing() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        alice = await registered(irc_port(server), "alice")
        await alice.join("#general")
        await alice.send("PRIVMSG #general :\x01ACTION dances\x01")
        action = await bob.recv_until(Message)
        assert (action.text, action.action) == ("dances", True)
        await bob.send(Say(room="general", text="one\r\ntwo\rthree\n\nfour\x00!", action=False))
        await bob.send(Say(room="general", text="waves back", action=True))
        long_text = "é" * 1000
        await bob.send(Say(room="general", text=long_text))
        lines = [line for line in await alice.sync() if line.command == "PRIVMSG"]
        texts = [line.params[1] for line in lines]
        assert texts[:5] == ["one", "two", "three", "four!", "\x01ACTION waves back\x01"]
        pieces = texts[5:]
        assert len(pieces) > 1
        assert "".join(pieces) == long_text
        assert all(len(line.raw.encode()) + 2 <= 512 for line in lines)
        await bob.close()
        await alice.close()


async def test_nick_changes_are_seen_on_both_sides() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        alice = await registered(irc_port(server), "alice")
        await alice.join("#general")
        await sync(bob)
        await alice.send("NICK alicia")
        assert (await alice.expect("NICK")).raw == ":alice!alice@127.0.0.1 NICK alicia"
        assert await bob.recv_until(NickChanged) == NickChanged(old="alice", new="alicia")
        await bob.send(SetNick(nick="robert"))
        assert (await alice.expect("NICK")).raw == ":bob!bob@127.0.0.1 NICK robert"
        await alice.send("NICK robert", "NICK -x", "NICK", "NICK alicia")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 433 alicia robert :Nickname is already in use",
            ":irc.test 432 alicia -x :Erroneous nickname",
            ":irc.test 431 alicia :No nickname given",
        ]
        await alice.send("PRIVMSG #general :still me")
        message = await bob.recv_until(Message)
        assert message.from_ == "alicia"
        await bob.close()
        await alice.close()


async def test_join_takes_comma_lists_of_rooms_and_keys_and_shows_the_topic_only_when_set() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("news")
        await bob.send(SetTopic(room="news", topic="Today: IRC"))
        await bob.recv_until(Topic)
        alice = await registered(irc_port(server), "alice")
        lines = await alice.join("#news", "#quiet")
        raws = [line.raw for line in lines]
        assert raws[:2] == [
            ":alice!alice@127.0.0.1 JOIN #news",
            ":irc.test 332 alice #news :Today: IRC",
        ]
        assert raws[2].startswith(":irc.test 333 alice #news bob ")
        assert raws[3:5] == [
            ":irc.test 353 alice = #news :@bob alice",
            ":irc.test 366 alice #news :End of /NAMES list",
        ]
        assert raws[5:] == [
            ":alice!alice@127.0.0.1 JOIN #quiet",
            ":irc.test 353 alice = #quiet :@alice",
            ":irc.test 366 alice #quiet :End of /NAMES list",
        ]
        await alice.send("JOIN #news", "JOIN #bad!room,#ok key1")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 403 alice #bad!room :No such channel",
            ":alice!alice@127.0.0.1 JOIN #ok",
            ":irc.test 353 alice = #ok :@alice",
            ":irc.test 366 alice #ok :End of /NAMES list",
        ]
        await bob.close()
        await alice.close()


async def test_topic_part_names_list_and_who() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        alice = await registered(irc_port(server), "alice")
        await alice.join("#general")
        await alice.send("TOPIC #general", "TOPIC #general :IRC and native")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 331 alice #general :No topic is set",
            ":alice!alice@127.0.0.1 TOPIC #general :IRC and native",
        ]
        await alice.send("TOPIC #general")
        topic = [line.raw for line in await alice.sync()]
        assert topic[0] == ":irc.test 332 alice #general :IRC and native"
        assert topic[1].startswith(":irc.test 333 alice #general alice ")
        assert len(topic) == 2
        assert await bob.recv_until(Topic) == Topic(
            room="general", topic="IRC and native", by="alice"
        )
        await alice.send("NAMES #general", "NAMES #nowhere", "LIST", "LIST #nowhere")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 353 alice = #general :@bob alice",
            ":irc.test 366 alice #general :End of /NAMES list",
            ":irc.test 366 alice #nowhere :End of /NAMES list",
            ":irc.test 321 alice Channel :Users  Name",
            ":irc.test 322 alice #general 2 :IRC and native",
            ":irc.test 323 alice :End of /LIST",
            ":irc.test 321 alice Channel :Users  Name",
            ":irc.test 323 alice :End of /LIST",
        ]
        await alice.send("WHO #general", "WHO bob", "WHO *.fr")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 352 alice #general bob 127.0.0.1 irc.test bob H@ :0 bob",
            ":irc.test 352 alice #general alice 127.0.0.1 irc.test alice H :0 alice the tester",
            ":irc.test 315 alice #general :End of WHO list",
            ":irc.test 352 alice * bob 127.0.0.1 irc.test bob H :0 bob",
            ":irc.test 315 alice bob :End of WHO list",
            ":irc.test 315 alice *.fr :End of WHO list",
        ]
        await alice.send("PART #general", "PART #general", "TOPIC #general :again")
        assert [line.raw for line in await alice.sync()] == [
            ":alice!alice@127.0.0.1 PART #general",
            ":irc.test 442 alice #general :You're not on that channel",
            ":irc.test 442 alice #general :You're not on that channel",
        ]
        presence = await bob.recv_until(Presence)
        assert (presence.nick, presence.event) == ("alice", "leave")
        await bob.close()
        await alice.close()


async def test_a_quit_seen_in_two_shared_rooms_is_one_quit_line() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        alice = await registered(irc_port(server), "alice")
        for room in ("one", "two"):
            await bob.send(Join(room=room))
        await sync(bob)
        await alice.join("#one", "#two")
        await bob.close()
        assert (await alice.recv()).raw.startswith(":bob!bob@127.0.0.1 QUIT :")
        assert await alice.sync() == []
        await alice.close()


async def test_userhost_ison_and_motd() -> None:
    async with gateway(motd="hi") as server:
        (bob,) = await welcomed(server.port, "bob")
        alice = await registered(irc_port(server), "alice")
        await alice.send("USERHOST bob nobody alice", "ISON nobody BOB alice", "MOTD")
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 302 alice :bob=+bob@127.0.0.1 alice=+alice@127.0.0.1",
            ":irc.test 303 alice :bob alice",
            ":irc.test 375 alice :- irc.test Message of the day - ",
            ":irc.test 372 alice :- hi",
            ":irc.test 376 alice :End of /MOTD command.",
        ]
        await bob.close()
        await alice.close()


async def test_client_only_tags_and_tagmsg_reach_irc_clients_that_negotiated_message_tags() -> None:
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        alice = await registered(irc_port(server), "alice", caps=("message-tags",))
        carol = await registered(irc_port(server), "carol", caps=("message-tags",))
        dave = await registered(irc_port(server), "dave")
        for client in (alice, carol, dave):
            await client.join("#general")
        for client in (alice, carol, dave):
            await client.sync()
        await sync(bob)
        await alice.send(
            "@+typing=active TAGMSG #general", "@+draft/react=1;x=2 PRIVMSG #general :yes"
        )
        tagmsg = await carol.expect("TAGMSG")
        assert tagmsg.raw == "@+typing=active :alice!alice@127.0.0.1 TAGMSG #general"
        message = await carol.expect("PRIVMSG")
        assert message.tags["+draft/react"] == "1"
        assert "x" not in message.tags
        plain = await dave.expect("PRIVMSG")
        assert plain.raw == ":alice!alice@127.0.0.1 PRIVMSG #general :yes"
        native = await bob.recv_until(Message)
        assert native.text == "yes"
        assert await sync(bob) == []
        await carol.send("@+typing=active TAGMSG alice")
        assert (
            await alice.expect("TAGMSG")
        ).raw == "@+typing=active :carol!carol@127.0.0.1 TAGMSG alice"
        for client in (alice, carol, dave):
            await client.close()
        await bob.close()


async def test_many_irc_recipients_get_the_same_broadcast_rendered_once_per_capability_set() -> (
    None
):
    async with gateway() as server:
        (bob,) = await welcomed(server.port, "bob")
        await bob.join("general")
        plain = [await registered(irc_port(server), f"p{n}") for n in range(3)]
        tagged = [await registered(irc_port(server), f"t{n}", caps=EVERYTHING) for n in range(3)]
        for client in (*plain, *tagged):
            await client.join("#general")
        for client in (*plain, *tagged):
            await client.sync()
        await sync(bob)
        await bob.send(Say(room="general", text="to everyone"))
        plain_lines = {(await c.expect("PRIVMSG")).raw for c in plain}
        tagged_lines = {(await c.expect("PRIVMSG")).raw for c in tagged}
        assert plain_lines == {":bob!bob@127.0.0.1 PRIVMSG #general :to everyone"}
        assert len(tagged_lines) == 1
        assert tagged_lines.pop().startswith("@time=")
        await asyncio.gather(*(c.close() for c in (*plain, *tagged)), bob.close())


async def test_answers_keep_their_command_while_a_durable_store_holds_them_back() -> None:
    """On SQLite every frame after a message waits for its write: the answers to the
    commands that came with it must still be worded for those commands."""
    async with gateway() as server:
        alice = await registered(irc_port(server), "alice")
        await alice.join("#general")
        await alice.send(
            "PRIVMSG #general :first",
            "WHO #general",
            "NAMES #general",
            "LIST #general",
            "PRIVMSG #nowhere :x",
            "NOTICE #nowhere :x",
            "PART #nowhere",
        )
        assert [line.raw for line in await alice.sync()] == [
            ":irc.test 352 alice #general alice 127.0.0.1 irc.test alice H@ :0 alice the tester",
            ":irc.test 315 alice #general :End of WHO list",
            ":irc.test 353 alice = #general :@alice",
            ":irc.test 366 alice #general :End of /NAMES list",
            ":irc.test 321 alice Channel :Users  Name",
            ":irc.test 322 alice #general 1 :",
            ":irc.test 323 alice :End of /LIST",
            ":irc.test 404 alice #nowhere :Cannot send to channel",
            ":irc.test 442 alice #nowhere :You're not on that channel",
        ]
        await alice.close()
