"""Rooms: join, leave, who, list, topic, history, limits and truncation."""

from __future__ import annotations

import json

import pytest

from chat_server.server import Server
from protocol import (
    History,
    HistoryRequest,
    Join,
    Joined,
    Leave,
    Left,
    ListRooms,
    Members,
    Message,
    Presence,
    RoomList,
    Say,
    SetNick,
    SetTopic,
    Topic,
    Welcome,
    Who,
)
from tests.server.helpers import (
    close_all,
    expect_error,
    send_json,
    serving,
    still_open,
    sync,
    welcomed,
)
from tests.wire import WireClient


async def say_many(client: WireClient, room: str, count: int, text: str = "m{}") -> list[Message]:
    """Send ``count`` messages and return the sender's copies of them."""
    for i in range(count):
        await client.send(Say(room=room, text=text.format(i)))
    return [await client.recv_until(Message) for _ in range(count)]


async def rooms_listed(client: WireClient) -> dict[str, tuple[int, str | None]]:
    await client.send(ListRooms())
    listing = await client.recv_until(RoomList)
    return {info.name: (info.members, info.topic) for info in listing.rooms}


async def test_join_answers_joined_with_members_topic_and_history(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.send(Join(room="lobby"))
    joined = await alice.expect(Joined)
    assert joined == Joined(room="lobby", members=["alice"], topic=None, history=[], ops=["alice"])
    await alice.close()


async def test_join_tells_the_other_members_with_presence(server: Server) -> None:
    alice, bob, carol = await welcomed(server.port, "alice", "bob", "carol")
    await alice.join("lobby")
    await bob.send(Join(room="lobby"))
    joined = await bob.expect(Joined)
    assert sorted(joined.members) == ["alice", "bob"]
    assert await alice.expect(Presence) == Presence(room="lobby", nick="bob", event="join")
    assert await sync(bob) == [], "the joiner gets no presence for itself"
    assert await sync(carol) == [], "a non-member hears nothing"
    await close_all([alice, bob, carol])


async def test_room_names_are_case_insensitive_and_keep_the_creators_spelling(
    server: Server,
) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    assert (await alice.join("LoBBy")).room == "LoBBy"
    joined = await bob.join("lobby")
    assert joined.room == "LoBBy"
    assert sorted(joined.members) == ["alice", "bob"]
    presence = await alice.expect(Presence)
    assert presence.room == "LoBBy"
    await bob.send(Say(room="LOBBY", text="hi"))
    message = await alice.expect(Message)
    assert message.room == "LoBBy"
    assert list(await rooms_listed(bob)) == ["LoBBy"]
    await close_all([alice, bob])


async def test_join_of_a_room_already_joined_answers_joined_without_presence(
    server: Server,
) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    again = await bob.join("LOBBY")
    assert again.room == "lobby"
    assert sorted(again.members) == ["alice", "bob"]
    assert await sync(alice) == []
    assert await sync(bob) == []
    await close_all([alice, bob])


async def test_invalid_room_name_is_room_invalid(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    for room in ["", "two words", "#irc", "r" * 65, "ünï"]:
        await send_json(alice, {"type": "join", "room": room})
        await expect_error(alice, "room_invalid", ref="join")
    assert (await alice.join("r" * 64)).room == "r" * 64
    await alice.close()


async def test_leave_answers_left_and_tells_the_others(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    await bob.send(Leave(room="LOBBY"))
    assert await bob.expect(Left) == Left(room="lobby")
    assert await alice.expect(Presence) == Presence(room="lobby", nick="bob", event="leave")
    await alice.send(Say(room="lobby", text="after"))
    await alice.expect(Message)
    assert await sync(bob) == [], "a member who left hears no more"
    await close_all([alice, bob])


async def test_leave_say_and_topic_outside_a_room_are_not_in_room(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await bob.join("lobby")
    for room in ("lobby", "nowhere"):
        await alice.send(Leave(room=room))
        await expect_error(alice, "not_in_room", ref="leave")
        await send_json(alice, {"type": "say", "room": room, "text": "hi", "id": "x"})
        await expect_error(alice, "not_in_room", ref="say", id="x")
        await alice.send(SetTopic(room=room, topic="mine"))
        await expect_error(alice, "not_in_room", ref="topic")
    assert await sync(bob) == []
    await close_all([alice, bob])


async def test_who_lists_members_of_any_existing_room(server: Server) -> None:
    alice, bob, carol = await welcomed(server.port, "Alice", "bob", "carol")
    await alice.join("lobby")
    await bob.join("lobby")
    await carol.send(Who(room="LOBBY"))
    members = await carol.expect(Members)
    assert members.room == "lobby"
    assert sorted(members.members) == ["Alice", "bob"]
    assert members.truncated is False
    await close_all([alice, bob, carol])


async def test_who_and_history_of_a_room_that_does_not_exist_are_not_in_room(
    server: Server,
) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.send(Who(room="ghost"))
    await expect_error(alice, "not_in_room", ref="who")
    await alice.send(HistoryRequest(room="ghost"))
    await expect_error(alice, "not_in_room", ref="history")
    await alice.close()


async def test_list_gives_every_room_with_member_count_and_topic(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await bob.join("Dev")
    await bob.send(SetTopic(room="dev", topic="shipping"))
    await bob.recv_until(Topic)
    listing = await rooms_listed(alice)
    assert listing == {"lobby": (2, None), "Dev": (1, "shipping")}
    await close_all([alice, bob])


async def test_room_without_members_or_history_ceases_to_exist(server: Server) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("empty")
    await alice.send(Leave(room="empty"))
    await alice.expect(Left)
    await alice.join("kept")
    await alice.send(Say(room="kept", text="remember me"))
    await alice.expect(Message)
    await alice.send(Leave(room="kept"))
    await alice.expect(Left)
    assert await rooms_listed(bob) == {"kept": (0, None)}
    welcome_rooms = await WireClient.connect(server.port)
    assert (await welcome_rooms.hello("carol")).rooms == ["kept"]
    await close_all([alice, bob, welcome_rooms])


async def test_room_with_history_keeps_its_spelling_after_everyone_left(
    server: Server,
) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("MixedCase")
    await alice.send(Say(room="mixedcase", text="hello"))
    await alice.expect(Message)
    await alice.send(Leave(room="MixedCase"))
    await alice.expect(Left)
    joined = await bob.join("mixedCASE")
    assert joined.room == "MixedCase"
    assert [m.text for m in joined.history] == ["hello"]
    await close_all([alice, bob])


# --- topic ------------------------------------------------------------------------


async def test_topic_reaches_every_member_and_shows_in_joined(server: Server) -> None:
    alice, bob, carol = await welcomed(server.port, "alice", "Bob", "carol")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    await bob.send(SetTopic(room="LOBBY", topic="weekly sync"))
    expected = Topic(room="lobby", topic="weekly sync", by="Bob")
    assert await bob.expect(Topic) == expected
    assert await alice.expect(Topic) == expected
    assert (await carol.join("lobby")).topic == "weekly sync"
    await close_all([alice, bob, carol])


@pytest.mark.parametrize("clear", ["", None])
async def test_clearing_the_topic_broadcasts_null(server: Server, clear: str | None) -> None:
    alice, bob = await welcomed(server.port, "alice", "bob")
    await alice.join("lobby")
    await bob.join("lobby")
    await sync(alice)
    await alice.send(SetTopic(room="lobby", topic="something"))
    await alice.expect(Topic)
    await bob.recv_until(Topic)
    await send_json(alice, {"type": "topic", "room": "lobby", "topic": clear})
    cleared = Topic(room="lobby", topic=None, by="alice")
    assert await alice.expect(Topic) == cleared
    assert await bob.expect(Topic) == cleared
    assert (await alice.join("lobby")).topic is None
    await close_all([alice, bob])


async def test_topic_longer_than_max_text_is_text_too_long() -> None:
    async with serving(max_text=10) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        await bob.join("lobby")
        await sync(alice)
        await send_json(alice, {"type": "topic", "room": "lobby", "topic": "x" * 11})
        await expect_error(alice, "text_too_long", ref="topic")
        await alice.send(SetTopic(room="lobby", topic="x" * 10))
        assert (await alice.expect(Topic)).topic == "x" * 10
        assert (await bob.expect(Topic)).topic == "x" * 10
        await close_all([alice, bob])


# --- history ----------------------------------------------------------------------


async def test_history_returns_the_same_messages_that_were_broadcast() -> None:
    async with serving(rate=0) as server:
        alice, bob, carol = await welcomed(server.port, "alice", "bob", "carol")
        await alice.join("lobby")
        await bob.join("lobby")
        await sync(alice)
        await alice.send(Say(room="lobby", text="one", id="c1"))
        await bob.send(Say(room="lobby", text="two", action=True))
        seen = [await alice.recv_until(Message) for _ in range(2)]
        assert [m.seq for m in seen] == [1, 2]
        await carol.send(HistoryRequest(room="lobby"))
        history = await carol.expect(History)
        assert history == History(room="lobby", messages=seen)
        joined = await carol.join("lobby")
        assert joined.history == seen
        await close_all([alice, bob, carol])


async def test_history_pages_backwards_with_before_and_limit() -> None:
    async with serving(rate=0) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        sent = await say_many(alice, "lobby", 120)
        assert [m.seq for m in sent] == list(range(1, 121))

        async def page(before: int | None = None, limit: int = 50) -> list[int]:
            await bob.send(HistoryRequest(room="lobby", before=before, limit=limit))
            history = await bob.expect(History)
            assert history.room == "lobby"
            return [m.seq for m in history.messages]

        assert await page() == list(range(71, 121))
        assert await page(limit=10) == list(range(111, 121))
        assert await page(limit=100) == list(range(21, 121))
        assert await page(before=50, limit=10) == list(range(40, 50))
        assert await page(before=5) == [1, 2, 3, 4]
        assert await page(before=1) == []
        assert await page(before=1000, limit=3) == [118, 119, 120]
        assert await page(limit=1) == [120]
        await close_all([alice, bob])


@pytest.mark.parametrize("limit", [0, 101, -5])
async def test_history_limit_outside_1_to_100_is_bad_message(server: Server, limit: int) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("lobby")
    await send_json(alice, {"type": "history", "room": "lobby", "limit": limit})
    await expect_error(alice, "bad_message", ref="history")
    await still_open(alice)
    await alice.close()


async def test_joined_history_holds_the_newest_50_messages_oldest_first() -> None:
    async with serving(rate=0) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        sent = await say_many(alice, "lobby", 60)
        joined = await bob.join("lobby")
        assert joined.history == sent[10:]
        await close_all([alice, bob])


async def test_history_setting_bounds_the_messages_kept() -> None:
    async with serving(rate=0, history=5) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("lobby")
        sent = await say_many(alice, "lobby", 12)
        assert (await bob.join("lobby")).history == sent[-5:]
        await bob.send(HistoryRequest(room="lobby", limit=100))
        assert (await bob.expect(History)).messages == sent[-5:]
        await close_all([alice, bob])


async def test_joined_and_history_drop_oldest_messages_to_fit_max_frame() -> None:
    async with serving(rate=0, max_frame=2048) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        bob.decoder.max_frame = 2048  # any larger frame from the server fails the test
        await alice.join("lobby")
        sent = await say_many(alice, "lobby", 30, text="{}" + "x" * 200)
        joined = await bob.join("lobby")
        assert 0 < len(joined.history) < 30
        assert joined.history == sent[-len(joined.history) :], "not the newest, in order"
        assert len(joined.history) >= 5, "dropped far more than needed to fit"
        await bob.send(HistoryRequest(room="lobby", limit=100))
        history = await bob.expect(History)
        assert 0 < len(history.messages) < 30
        assert history.messages == sent[-len(history.messages) :]
        await bob.send(HistoryRequest(room="lobby", before=20, limit=100))
        older = await bob.expect(History)
        assert older.messages == sent[19 - len(older.messages) : 19]
        await close_all([alice, bob])


async def test_room_list_and_welcome_rooms_are_cut_short_to_fit_max_frame() -> None:
    async with serving(max_frame=256) as server:
        (alice,) = await welcomed(server.port, "alice")
        names = [f"{i}" + "r" * 63 for i in range(6)]
        for name in names:
            await alice.join(name)
        alice.decoder.max_frame = 256
        await alice.send(ListRooms())
        listing = await alice.expect(RoomList)
        assert listing.truncated is True
        assert 0 < len(listing.rooms) < 6
        assert {info.name for info in listing.rooms} <= set(names)
        bob = await WireClient.connect(server.port)
        bob.decoder.max_frame = 256
        welcome = await bob.hello("bob")
        assert welcome.truncated is True
        assert 0 < len(welcome.rooms) < 6
        assert set(welcome.rooms) <= set(names)
        await close_all([alice, bob])


async def test_members_are_cut_short_to_fit_max_frame() -> None:
    async with serving(max_frame=256, rate=0) as server:
        clients = await welcomed(server.port, *(f"u{i}" for i in range(10)))
        long_nicks = [f"{i}" + "n" * 31 for i in range(10)]
        for client, nick in zip(clients, long_nicks, strict=True):
            client.decoder.max_frame = 256
            await client.join("lobby")
            await client.send(SetNick(nick=nick))
        for client in clients:
            await sync(client)
        await clients[0].send(Who(room="lobby"))
        members = await clients[0].expect(Members)
        assert members.truncated is True
        assert 0 < len(members.members) < 10
        assert set(members.members) <= set(long_nicks)
        await close_all(clients)


async def test_small_results_carry_no_truncated_flag(server: Server) -> None:
    (alice,) = await welcomed(server.port, "alice")
    await alice.join("lobby")
    await alice.send(ListRooms())
    assert (await alice.expect(RoomList)).truncated is False
    await alice.send(Who(room="lobby"))
    assert (await alice.expect(Members)).truncated is False
    bob = await WireClient.connect(server.port)
    assert (await bob.hello("bob")).truncated is False
    await close_all([alice, bob])


# --- max rooms ----------------------------------------------------------------------


async def leave(client: WireClient, room: str) -> None:
    await client.send(Leave(room=room))
    await client.recv_until(Left)


async def test_new_room_past_max_rooms_forgets_the_oldest_empty_room() -> None:
    async with serving(max_rooms=3, rate=0) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        for room in ("old", "newer"):
            await alice.join(room)
            await alice.send(Say(room=room, text=f"in {room}"))
            await alice.expect(Message)
            await leave(alice, room)
        await bob.join("busy")
        # "old" is refreshed, so "newer" now has the oldest activity.
        await alice.join("old")
        await alice.send(Say(room="old", text="again"))
        await alice.expect(Message)
        await leave(alice, "old")
        assert set(await rooms_listed(bob)) == {"old", "newer", "busy"}
        await alice.join("fresh")
        assert set(await rooms_listed(bob)) == {"old", "busy", "fresh"}
        joined = await bob.join("newer")
        assert joined.history == [], "a forgotten room loses its history"
        await close_all([alice, bob])


async def test_new_room_past_max_rooms_is_room_limit_when_all_have_members() -> None:
    async with serving(max_rooms=2) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        await alice.join("one")
        await bob.join("two")
        await alice.send(Join(room="three"))
        await expect_error(alice, "room_limit", ref="join")
        assert set(await rooms_listed(alice)) == {"one", "two"}
        assert (await alice.join("TWO")).room == "two", "existing rooms can still be joined"
        await leave(bob, "two")
        await leave(alice, "two")
        assert (await alice.join("three")).room == "three"
        await close_all([alice, bob])


async def test_welcome_rooms_is_truncated_flag_is_absent_normally(server: Server) -> None:
    client = await WireClient.connect(server.port)
    welcome = await client.hello("zed")
    assert isinstance(welcome, Welcome)
    assert welcome.truncated is False
    await client.close()


async def test_no_frame_exceeds_max_frame_even_for_the_longest_text() -> None:
    """A say that fits max_frame may not produce a message that does not."""
    async with serving(max_frame=1024, rate=0) as server:
        alice, bob = await welcomed(server.port, "alice", "bob")
        for client in (alice, bob):
            client.decoder.max_frame = 1024  # a larger frame fails the test
            await client.join("lobby")
        await sync(alice)
        for request, field in [
            ({"type": "say", "room": "lobby"}, "text"),
            ({"type": "whisper", "to": "bob"}, "text"),
            ({"type": "topic", "room": "lobby"}, "topic"),
        ]:
            # Fill the request up to exactly max_frame bytes.
            room_left = 1024 - len(json.dumps({**request, field: ""}))
            request[field] = "y" * room_left
            assert len(json.dumps(request)) == 1024
            await send_json(alice, request)
        answers = [await alice.recv() for _ in range(3)]
        for answer in answers:
            assert answer.type in {"message", "whisper", "topic", "error"}, answer
        await sync(bob)
        carol = await WireClient.connect(server.port)
        carol.decoder.max_frame = 1024
        await carol.hello("carol")
        await carol.join("lobby")
        await carol.send(HistoryRequest(room="lobby"))
        await carol.recv_until(History)
        await close_all([alice, bob, carol])
