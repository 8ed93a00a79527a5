"""say, whisper, nick and quit: who receives what."""

from __future__ import annotations

import time

from chat_server.server import Server
from protocol import (
    Bye,
    Message,
    NickChanged,
    Presence,
    Quit,
    Say,
    SetNick,
    Whisper,
    WhisperMessage,
    Who,
)
from protocol import (
    Members as MembersReply,
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


async def test_say_reaches_every_member_including_the_sender(server: Server) -> None:
    alice, bob, carol = await welcomed(server.port, "Alice", "bob", "carol")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    before = time.time()
    await alice.send(Say(room="LOBBY", text="hello all", id="c-1"))
    mine = await alice.expect(Message)
    theirs = await bob.expect(Message)
    assert mine == theirs
    assert mine.room == "lobby"
    assert mine.from_ == "Alice"
    assert mine.text == "hello all"
    assert mine.id == "c-1"
    assert mine.action is False
    assert mine.seq == 1
    assert isinstance(mine.ts, float)
    assert before - 1 <= mine.ts <= time.time() + 1
    assert await sync(carol) == []
    await close_all([alice, bob, carol])


async def test_action_say_is_broadcast_as_action(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    await alice.send(Say(room="lobby", text="waves", action=True))
    assert (await bob.expect(Message)).action is True
    assert (await alice.expect(Message)).action is True
    await close_all([alice, bob])


async def test_message_without_id_carries_no_id(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("lobby")
    await alice.send(Say(room="lobby", text="plain"))
    assert (await alice.expect(Message)).id is None
    await alice.close()


async def test_seq_counts_per_room_from_1_by_exactly_1() -> None:
    async with serving(rate=0) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("a")
        await alice.join("b")
        await bob.join("a")
        await sync(alice)
        for i in range(5):
            await alice.send(Say(room="a", text=f"a{i}"))
            await bob.send(Say(room="a", text=f"b{i}"))
            await alice.send(Say(room="b", text=f"x{i}"))
        got = [await alice.expect(Message) for _ in range(15)]
        assert [m.seq for m in got if m.room == "a"] == list(range(1, 11))
        assert [m.seq for m in got if m.room == "b"] == list(range(1, 6))
        seen_by_bob = [await bob.expect(Message) for _ in range(10)]
        assert seen_by_bob == [m for m in got if m.room == "a"]
        await close_all([alice, bob])


async def test_nul_is_stripped_from_broadcast_text(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("lobby")
    await send_json(alice, {"type": "say", "room": "lobby", "text": "a\u0000b\u0000c"})
    assert (await alice.expect(Message)).text == "abc"
    await alice.close()


async def test_text_that_is_empty_after_nul_removal_is_bad_message(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    await send_json(alice, {"type": "say", "room": "lobby", "text": "\u0000\u0000", "id": "n"})
    await expect_error(alice, "bad_message", ref="say", id="n")
    await send_json(alice, {"type": "say", "room": "lobby", "text": ""})
    await expect_error(alice, "bad_message", ref="say")
    assert await sync(bob) == []
    await close_all([alice, bob])


async def test_text_with_an_unpaired_surrogate_is_bad_message(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("lobby")
    raw = b'{"type":"say","room":"lobby","text":"x\\udc00y","id":"s"}'
    await alice.send_raw(len(raw).to_bytes(4, "big") + raw)
    await expect_error(alice, "bad_message", ref="say", id="s")
    await still_open(alice)
    await alice.close()


async def test_multiline_and_unicode_text_is_delivered_unchanged(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("lobby")
    text = "line one\nline two 🎉 \u202e ok \x1b[2J"
    await alice.send(Say(room="lobby", text=text))
    assert (await alice.expect(Message)).text == text
    await alice.close()


async def test_text_over_max_text_is_text_too_long_and_counts_code_points() -> None:
    async with serving(max_text=5) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await bob.join("lobby")
        await sync(alice)
        await send_json(alice, {"type": "say", "room": "lobby", "text": "abcdef", "id": "t"})
        await expect_error(alice, "text_too_long", ref="say", id="t")
        await send_json(alice, {"type": "whisper", "to": "bob", "text": "abcdef"})
        await expect_error(alice, "text_too_long", ref="whisper")
        assert await sync(bob) == []
        await alice.send(Say(room="lobby", text="🎉🎉🎉🎉🎉"))
        assert (await bob.expect(Message)).text == "🎉🎉🎉🎉🎉"
        await send_json(alice, {"type": "say", "room": "lobby", "text": "\u0000abcde\u0000"})
        assert (await bob.recv_until(Message)).text == "abcde"
        await close_all([alice, bob])


# --- whisper ------------------------------------------------------------------------


async def test_whisper_reaches_the_recipient_and_echoes_to_the_sender(server: Server) -> None:
    alice, bob, carol = await welcomed(server.port, "alice", "Bob", "carol")
    await alice.send(Whisper(to="BOB", text="psst", id="w-1"))
    received = await bob.expect(WhisperMessage)
    echo = await alice.expect(WhisperMessage)
    assert received == echo
    assert received.from_ == "alice"
    assert received.to == "Bob", "replies use the owner's spelling"
    assert received.text == "psst"
    assert received.id == "w-1"
    assert isinstance(received.ts, float)
    assert await sync(carol) == []
    await close_all([alice, bob, carol])


async def test_whisper_to_an_unknown_nick_is_no_such_nick(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.send(Whisper(to="nobody", text="hello?", id="w-2"))
    await expect_error(alice, "no_such_nick", ref="whisper", id="w-2")
    await alice.close()


async def test_whisper_to_an_invalid_nick_is_nick_invalid(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await send_json(alice, {"type": "whisper", "to": "-x", "text": "hi"})
    await expect_error(alice, "nick_invalid", ref="whisper")
    await alice.close()


# --- nick --------------------------------------------------------------------------


async def test_nick_change_reaches_each_sharer_once(server: Server) -> None:
    alice, bob, carol, dave = await welcomed(server.port, "alice", "bob", "carol", "dave")
    for room in ("one", "two", "three"):
        await alice.join(room)
        await bob.join(room)
    await carol.join("one")
    await dave.join("elsewhere")
    for client in (alice, bob, carol, dave):
        await sync(client)
    await alice.send(SetNick(nick="Alicia"))
    change = NickChanged(old="alice", new="Alicia")
    assert await alice.expect(NickChanged) == change
    assert await sync(alice) == [], "the user hears it once"
    assert await sync(bob) == [change], "three shared rooms, one nick_changed"
    assert await sync(carol) == [change]
    assert await sync(dave) == [], "no shared room, no nick_changed"
    await close_all([alice, bob, carol, dave])


async def test_nick_change_is_seen_by_who_whisper_and_hello(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await alice.send(SetNick(nick="zed"))
    await alice.expect(NickChanged)
    await bob.send(Who(room="lobby"))
    assert (await bob.expect(MembersReply)).members == ["zed"]
    await bob.send(Whisper(to="alice", text="old name"))
    await expect_error(bob, "no_such_nick", ref="whisper")
    await bob.send(Whisper(to="ZED", text="new name"))
    assert (await alice.expect(WhisperMessage)).to == "zed"
    newcomer = await WireClient.connect(server.port)
    assert (await newcomer.hello("alice")).nick == "alice", "the old nick is free again"
    await close_all([alice, bob, newcomer])


async def test_changing_only_the_case_of_ones_own_nick_is_allowed(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    await alice.send(SetNick(nick="ALICE"))
    change = NickChanged(old="alice", new="ALICE")
    assert await alice.expect(NickChanged) == change
    assert await bob.expect(NickChanged) == change
    await alice.send(Say(room="lobby", text="loud"))
    assert (await bob.expect(Message)).from_ == "ALICE"
    await close_all([alice, bob])


async def test_nick_held_by_another_user_is_nick_taken(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await bob.send(SetNick(nick="Alice"))
    await expect_error(bob, "nick_taken", ref="nick")
    await send_json(bob, {"type": "nick", "nick": "-bad"})
    await expect_error(bob, "nick_invalid", ref="nick")
    await bob.send(Whisper(to="bob", text="still me"))
    assert (await bob.recv_until(WhisperMessage)).to == "bob"
    assert await sync(alice) == []
    await close_all([alice, bob])


# --- quit and disconnect ---------------------------------------------------------------


async def test_quit_closes_with_bye_and_tells_every_room_the_reason(server: Server) -> None:
    alice, bob, carol = await welcomed(server.port, "alice", "bob", "carol")
    await alice.join("one")
    await alice.join("two")
    await bob.join("one")
    await carol.join("two")
    for client in (alice, bob, carol):
        await sync(client)
    await alice.send(Quit(reason="gone fishing"))
    received = await hung_up(alice, timeout=3)
    assert received == [Bye(reason="quit")]
    assert await bob.expect(Presence) == Presence(
        room="one", nick="alice", event="quit", reason="gone fishing"
    )
    assert await carol.expect(Presence) == Presence(
        room="two", nick="alice", event="quit", reason="gone fishing"
    )
    await close_all([bob, carol])


async def test_quit_without_reason_still_tells_the_rooms(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    await alice.send(Quit())
    await hung_up(alice, timeout=3)
    presence = await bob.expect(Presence)
    assert (presence.room, presence.nick, presence.event) == ("lobby", "alice", "quit")
    await bob.close()


async def test_connection_dropped_by_the_client_is_presence_quit(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    await alice.close()
    presence = await bob.expect(Presence)
    assert (presence.room, presence.nick, presence.event) == ("lobby", "alice", "quit")
    await bob.send(Who(room="lobby"))
    assert (await bob.expect(MembersReply)).members == ["bob"]
    await bob.close()


async def test_quit_before_welcome_is_not_ready(server: Server) -> None:
    client = await WireClient.connect(server.port)
    await send_json(client, {"type": "quit", "reason": "bye"})
    await expect_error(client, "not_ready", ref="quit")
    await still_open(client)
    await client.close()
