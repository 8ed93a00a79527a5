"""Every request handler of the hub and its refusals, on a local store, with no sockets."""

from __future__ import annotations

from pydantic import BaseModel

from chat_server.changes import Forgotten, Posted, TopicSet
from chat_server.hub.handlers import QUIT_REASON_MAX
from protocol import (
    HEADER_SIZE,
    HISTORY_LIMIT_DEFAULT,
    PROTOCOL_VERSION,
    Error,
    Hello,
    History,
    HistoryRequest,
    Join,
    Joined,
    Leave,
    Left,
    ListRooms,
    Members,
    Message,
    NickChanged,
    Ping,
    Pong,
    Presence,
    Quit,
    RoomList,
    Say,
    SetNick,
    SetTopic,
    Topic,
    Welcome,
    Whisper,
    WhisperMessage,
    Who,
    encode,
)
from tests.server.hub.fakes import EPOCH, SERVER_NAME, WALL_START, Bench, Closed


def frame_size(message: BaseModel) -> int:
    return len(encode(message)) - HEADER_SIZE


# --- hello ---------------------------------------------------------------------------


def test_hello_is_answered_welcome_with_the_servers_rooms_and_limits() -> None:
    bench = Bench(motd="be nice", max_text=500, max_frame=8192, rate=2.5, burst=4)
    bench.in_room("lobby", "early")
    alice = bench.hello("alice")
    assert alice.take_one(Welcome) == Welcome(
        nick="alice",
        protocol=PROTOCOL_VERSION,
        epoch=EPOCH,
        server=SERVER_NAME,
        rooms=["lobby"],
        motd="be nice",
        max_text=500,
        max_frame=8192,
        rate=2.5,
        burst=4,
    )
    assert bench.hub.ctx.roster.seat("ALICE") is alice.seat


def test_hello_with_another_protocol_is_refused_before_the_password_and_nick() -> None:
    bench = Bench(password="sesame")
    member = bench.connect()
    bench.send(member, Hello(nick="-bad", protocol=PROTOCOL_VERSION + 1, password="no", id="h1"))
    member.take_error("protocol_unsupported", ref="hello", id="h1")


def test_hello_with_a_wrong_password_is_auth_failed_before_the_nick_is_checked() -> None:
    bench = Bench(password="sesame")
    member = bench.connect()
    bench.send(member, Hello(nick="-bad", protocol=PROTOCOL_VERSION, password="no", id="h2"))
    member.take_error("auth_failed", ref="hello", id="h2")


def test_hello_without_a_password_to_a_server_with_one_is_auth_failed() -> None:
    bench = Bench(password="sesame")
    member = bench.hello("alice")
    member.take_error("auth_failed", ref="hello")
    assert member.seated.nick is None


def test_hello_with_the_right_password_is_welcomed() -> None:
    bench = Bench(password="sesame")
    member = bench.hello("alice", password="sesame")
    assert member.take_one(Welcome).nick == "alice"


def test_a_server_without_a_password_ignores_the_field() -> None:
    bench = Bench()
    member = bench.hello("alice", password="anything")
    assert member.take_one(Welcome).nick == "alice"


def test_hello_with_an_invalid_nick_is_nick_invalid() -> None:
    bench = Bench()
    member = bench.hello("-alice", id="h3")
    member.take_error("nick_invalid", ref="hello", id="h3")
    assert not bench.hub.ctx.roster.nicks


def test_hello_with_an_invalid_nick_is_nick_invalid_even_if_it_folds_to_a_taken_one() -> None:
    bench = Bench()
    bench.welcomed("kate")
    kelvin = "\u212aate"  # KELVIN SIGN: not a nick character, though it lowers to "k"
    assert kelvin.lower() == "kate"
    member = bench.hello(kelvin)
    member.take_error("nick_invalid", ref="hello")


def test_hello_with_a_nick_held_in_another_case_is_nick_taken() -> None:
    bench = Bench()
    bench.welcomed("Alice")
    member = bench.hello("aLICE", id="h4")
    member.take_error("nick_taken", ref="hello", id="h4")


def test_after_a_refused_hello_the_client_may_send_hello_again() -> None:
    bench = Bench()
    bench.welcomed("alice")
    member = bench.hello("alice")
    member.take_error("nick_taken", ref="hello")
    bench.send(member, Hello(nick="alice2", protocol=PROTOCOL_VERSION))
    assert member.take_one(Welcome).nick == "alice2"


# --- join ------------------------------------------------------------------------------


def test_join_answers_joined_to_the_joiner_and_presence_to_the_others() -> None:
    bench = Bench()
    alice, bob = bench.welcomed("alice", "bob")
    bench.send(alice, Join(room="Lobby"))
    assert alice.take_one(Joined) == Joined(
        room="Lobby", members=["alice"], topic=None, history=[], ops=["alice"]
    )
    bench.send(bob, Join(room="lobby"))
    joined = bob.take_one(Joined)
    assert (joined.room, joined.members) == ("Lobby", ["alice", "bob"])
    assert alice.take_one(Presence) == Presence(room="Lobby", nick="bob", event="join")


def test_joining_a_room_already_joined_answers_joined_again_without_presence() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(bob, Join(room="LOBBY"))
    assert bob.take_one(Joined).members == ["alice", "bob"]
    assert alice.take() == []


def test_joined_carries_the_topic_and_the_newest_fifty_messages() -> None:
    bench = Bench()
    alice = bench.say("lobby", *(f"m{n}" for n in range(1, HISTORY_LIMIT_DEFAULT + 6)))
    bench.send(alice, SetTopic(room="lobby", topic="plans"))
    (bob,) = bench.welcomed("bob")
    bench.send(bob, Join(room="lobby"))
    joined = bob.take_one(Joined)
    assert joined.topic == "plans"
    assert [m.seq for m in joined.history] == list(range(6, HISTORY_LIMIT_DEFAULT + 6))


def test_joined_drops_the_oldest_messages_until_it_fits_max_frame() -> None:
    bench = Bench(max_frame=1024)
    bench.say("lobby", *(f"{n:03d}" + "x" * 150 for n in range(1, 11)))
    (bob,) = bench.welcomed("bob")
    bench.send(bob, Join(room="lobby"))
    joined = bob.take_one(Joined)  # take_one checks that it fits
    kept = [m.seq for m in joined.history]
    assert kept
    assert kept == list(range(11 - len(kept), 11))
    one_more = joined.model_copy(
        update={"history": list(bench.room("lobby").history)[-len(kept) - 1 :]}
    )
    assert frame_size(one_more) > 1024


def test_joined_cuts_the_member_list_when_even_no_history_fits() -> None:
    bench = Bench(max_frame=300)
    nicks = [f"member-with-a-long-name-{n:02d}" for n in range(12)]
    bench.in_room("lobby", *nicks)
    (late,) = bench.welcomed("late")
    bench.send(late, Join(room="lobby"))
    joined = late.take_one(Joined)
    assert joined.truncated
    assert joined.history == []
    assert 0 < len(joined.members) < len(nicks) + 1
    assert joined.members == [*nicks, "late"][: len(joined.members)]


def test_a_new_room_past_max_rooms_forgets_the_least_recently_used_empty_room() -> None:
    bench = Bench(max_rooms=3)
    for name in ("first", "second", "third"):
        bench.say(name, "kept by its history", nick="alice")
    alice = bench.member("alice")
    bench.send(alice, Leave(room="first"), Leave(room="second"), Leave(room="third"))
    bench.send(alice, Join(room="first"), Leave(room="first"))  # first is used again
    bench.send(alice, Who(room="second"))  # a look is not a use
    bench.drain()
    bench.send(alice, Join(room="fourth"))
    assert alice.take_one(Joined).room == "fourth"
    assert sorted(bench.hub.rooms) == ["first", "fourth", "third"]
    assert bench.store.changes[-1] == Forgotten(room="second")


def test_a_new_room_past_max_rooms_is_room_limit_when_every_room_has_members() -> None:
    bench = Bench(max_rooms=2)
    bench.in_room("one", "alice")
    bench.in_room("two", "bob")
    (carol,) = bench.welcomed("carol")
    bench.send(carol, Join(room="three", id="j1"))
    carol.take_error("room_limit", ref="join", id="j1")
    assert sorted(bench.hub.rooms) == ["one", "two"]
    bench.send(carol, Join(room="one"))
    assert carol.take_one(Joined).members == ["alice", "carol"]


# --- leave ----------------------------------------------------------------------------


def test_leave_answers_left_and_presence_leave_to_the_others() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(bob, Leave(room="LOBBY"))
    assert bob.take_one(Left) == Left(room="lobby")
    assert alice.take_one(Presence) == Presence(room="lobby", nick="bob", event="leave")
    assert bench.room("lobby").nicks() == ["alice"]


def test_leave_of_a_room_not_joined_is_not_in_room() -> None:
    bench = Bench()
    bench.in_room("lobby", "alice")
    (bob,) = bench.welcomed("bob")
    bench.send(bob, Leave(room="lobby", id="l1"))
    bob.take_error("not_in_room", ref="leave", id="l1")
    bench.send(bob, Leave(room="nowhere"))
    bob.take_error("not_in_room", ref="leave")


def test_the_last_member_leaving_a_room_without_history_forgets_it() -> None:
    bench = Bench()
    (alice,) = bench.in_room("lobby", "alice")
    bench.send(alice, Leave(room="lobby"))
    assert "lobby" not in bench.hub.rooms
    assert bench.store.changes[-1] == Forgotten(room="lobby")


def test_a_room_with_history_outlives_its_last_member() -> None:
    bench = Bench()
    alice = bench.say("lobby", "still here", nick="alice")
    bench.send(alice, Leave(room="lobby"))
    assert bench.room("lobby").size() == 0
    assert not bench.store.recorded(Forgotten)


def test_what_a_member_said_before_leaving_in_the_same_read_reaches_it_too() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, Say(room="lobby", text="bye all"), Leave(room="lobby"))
    assert [type(m) for m in alice.take()] == [Message, Left]
    assert [type(m) for m in bob.take()] == [Message, Presence]


# --- say -------------------------------------------------------------------------------


def test_say_reaches_every_member_with_seq_counting_from_one() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.clock.advance(2.5)
    bench.send(alice, Say(room="lobby", text="hi", id="s1", action=True))
    bench.send(bob, Say(room="lobby", text="hello"))
    first = Message(
        room="lobby", from_="alice", text="hi", ts=WALL_START + 2.5, seq=1, id="s1", action=True
    )
    second = Message(room="lobby", from_="bob", text="hello", ts=WALL_START + 2.5, seq=2)
    assert alice.take() == bob.take() == [first, second]
    assert list(bench.room("lobby").history) == [first, second]
    assert bench.store.changes[-2:] == [Posted(first), Posted(second)]


def test_say_to_a_room_not_joined_is_not_in_room() -> None:
    bench = Bench()
    bench.in_room("lobby", "alice")
    (bob,) = bench.welcomed("bob")
    bench.send(bob, Say(room="lobby", text="let me in", id="s2"))
    bob.take_error("not_in_room", ref="say", id="s2")
    assert bench.room("lobby").seq == 0


def test_say_whose_message_would_exceed_max_frame_is_text_too_long() -> None:
    bench = Bench(max_frame=256)
    alice, bob = bench.in_room("lobby", "alice", "bob")
    empty = Message(room="lobby", from_="alice", text="", ts=WALL_START, seq=1)
    longest = "x" * (256 - frame_size(empty))
    bench.send(alice, Say(room="lobby", text=longest))
    assert frame_size(bob.take_one(Message)) == 256
    alice.take()
    bench.send(alice, Say(room="lobby", text=longest + "x", id="s3"))
    alice.take_error("text_too_long", ref="say", id="s3")
    assert bob.take() == []
    assert bench.room("lobby").seq == 1


def test_say_that_the_store_cannot_take_is_unavailable_and_reaches_nobody() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.store.accepting = False
    bench.send(alice, Say(room="lobby", text="lost?", id="s4"))
    alice.take_error("unavailable", ref="say", id="s4")
    assert bob.take() == []
    assert bench.room("lobby").seq == 0
    assert not bench.room("lobby").history


# --- whisper ---------------------------------------------------------------------------


def test_whisper_reaches_the_target_in_its_own_spelling_and_echoes_to_the_sender() -> None:
    bench = Bench()
    alice, bob, carol = bench.welcomed("alice", "Bob", "carol")
    bench.send(alice, Whisper(to="BOB", text="psst", id="w1"))
    expected = WhisperMessage(from_="alice", to="Bob", text="psst", ts=WALL_START, id="w1")
    assert bob.take() == alice.take() == [expected]
    assert bob.outs[-1] is alice.outs[-1]
    assert carol.take() == []


def test_a_whisper_to_oneself_arrives_once() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, Whisper(to="alice", text="note to self"))
    assert alice.take_one(WhisperMessage).to == "alice"


def test_a_whisper_to_nobody_is_no_such_nick() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, Whisper(to="ghost", text="boo", id="w2"))
    alice.take_error("no_such_nick", ref="whisper", id="w2")


def test_a_whisper_too_long_for_a_frame_is_text_too_long() -> None:
    bench = Bench(max_frame=256)
    alice, bob = bench.welcomed("alice", "bob")
    bench.send(alice, Whisper(to="bob", text="x" * 250, id="w3"))
    alice.take_error("text_too_long", ref="whisper", id="w3")
    assert bob.take() == []


# --- nick ------------------------------------------------------------------------------


def test_a_nick_change_reaches_the_user_and_each_sharer_once() -> None:
    bench = Bench()
    alice, bob, carol = bench.in_room("one", "alice", "bob", "carol")
    bench.join("two", alice, bob)
    bench.send(alice, SetNick(nick="alicia"))
    change = NickChanged(old="alice", new="alicia")
    assert alice.take() == bob.take() == carol.take() == [change]
    assert bench.room("two").nicks() == ["alicia", "bob"]
    assert bench.hub.ctx.roster.seat("alice") is None
    assert bench.hub.ctx.roster.seat("ALICIA") is alice.seat


def test_a_nick_held_by_another_in_any_case_is_nick_taken() -> None:
    bench = Bench()
    alice, _ = bench.welcomed("alice", "Bob")
    bench.send(alice, SetNick(nick="bOB", id="n1"))
    alice.take_error("nick_taken", ref="nick", id="n1")
    assert alice.seated.nick == "alice"


def test_a_user_may_change_only_the_case_of_its_nick() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, SetNick(nick="ALICE"))
    assert alice.take() == bob.take() == [NickChanged(old="alice", new="ALICE")]
    assert bench.hub.ctx.roster.seat("alice") is alice.seat
    assert alice.seated.nick == "ALICE"


def test_an_old_nick_is_free_for_someone_else_after_a_change() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, SetNick(nick="alicia"))
    (newcomer,) = bench.welcomed("alice")
    assert bench.hub.ctx.roster.seat("alice") is newcomer.seat


# --- topic -----------------------------------------------------------------------------


def test_a_topic_reaches_every_member_and_is_kept_for_later_joiners() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, SetTopic(room="lobby", topic="plans"))
    assert alice.take() == bob.take() == [Topic(room="lobby", topic="plans", by="alice")]
    assert bench.store.changes[-1] == TopicSet(
        room="lobby", topic="plans", by="alice", ts=bench.clock.wall()
    )
    (carol,) = bench.welcomed("carol")
    bench.send(carol, Join(room="lobby"))
    assert carol.take_one(Joined).topic == "plans"


def test_an_empty_topic_clears_it_with_null() -> None:
    bench = Bench()
    (alice,) = bench.in_room("lobby", "alice")
    bench.send(alice, SetTopic(room="lobby", topic="plans"), SetTopic(room="lobby", topic=""))
    assert alice.take()[-1] == Topic(room="lobby", topic=None, by="alice")
    assert bench.room("lobby").topic is None


def test_a_topic_for_a_room_not_joined_is_not_in_room() -> None:
    bench = Bench()
    bench.in_room("lobby", "alice")
    (bob,) = bench.welcomed("bob")
    bench.send(bob, SetTopic(room="lobby", topic="mine", id="t1"))
    bob.take_error("not_in_room", ref="topic", id="t1")


def test_a_topic_too_long_for_a_frame_is_text_too_long() -> None:
    bench = Bench(max_frame=256)
    (alice,) = bench.in_room("lobby", "alice")
    bench.send(alice, SetTopic(room="lobby", topic="x" * 250, id="t2"))
    alice.take_error("text_too_long", ref="topic", id="t2")
    assert bench.room("lobby").topic is None


def test_a_topic_the_store_cannot_take_is_unavailable() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.store.accepting = False
    bench.send(alice, SetTopic(room="lobby", topic="plans", id="t3"))
    alice.take_error("unavailable", ref="topic", id="t3")
    assert bob.take() == []
    assert bench.room("lobby").topic is None


# --- list, who, history -----------------------------------------------------------------


def test_list_counts_the_members_of_every_room_and_shows_its_topic() -> None:
    bench = Bench()
    alice, _ = bench.in_room("lobby", "alice", "bob")
    bench.in_room("quiet", "carol")
    bench.send(alice, SetTopic(room="lobby", topic="plans"), ListRooms())
    rooms = alice.take()[-1]
    assert isinstance(rooms, RoomList)
    assert not rooms.truncated
    assert [(r.name, r.members, r.topic) for r in rooms.rooms] == [
        ("lobby", 2, "plans"),
        ("quiet", 1, None),
    ]


def test_a_list_too_long_for_a_frame_is_cut_and_marked_truncated() -> None:
    bench = Bench(max_frame=300)
    (alice,) = bench.welcomed("alice")
    names = [f"a-room-with-a-long-name-{n:02d}" for n in range(20)]
    bench.join(names[0], alice)
    for name in names[1:]:
        bench.send(alice, Join(room=name))
    bench.drain()
    bench.send(alice, ListRooms())
    rooms = alice.take_one(RoomList)
    assert rooms.truncated
    assert 0 < len(rooms.rooms) < len(names)
    assert [r.name for r in rooms.rooms] == names[: len(rooms.rooms)]


def test_who_lists_the_members_of_any_existing_room() -> None:
    bench = Bench()
    bench.in_room("lobby", "alice", "Bob")
    (carol,) = bench.welcomed("carol")
    bench.send(carol, Who(room="LOBBY"))
    assert carol.take_one(Members) == Members(room="lobby", members=["alice", "Bob"], ops=["alice"])


def test_who_of_a_room_that_does_not_exist_is_not_in_room() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, Who(room="nowhere", id="q1"))
    alice.take_error("not_in_room", ref="who", id="q1")


def test_who_too_long_for_a_frame_is_cut_and_marked_truncated() -> None:
    bench = Bench(max_frame=300)
    nicks = [f"member-with-a-long-name-{n:02d}" for n in range(12)]
    bench.in_room("lobby", *nicks)
    (carol,) = bench.welcomed("carol")
    bench.send(carol, Who(room="lobby"))
    members = carol.take_one(Members)
    assert members.truncated
    assert 0 < len(members.members) < len(nicks)
    assert members.members == nicks[: len(members.members)]


def test_history_returns_the_newest_limit_messages_oldest_first() -> None:
    bench = Bench()
    bench.say("lobby", *(f"m{n}" for n in range(1, 11)))
    (reader,) = bench.welcomed("reader")
    bench.send(reader, HistoryRequest(room="lobby", limit=3))
    history = reader.take_one(History)
    assert [m.text for m in history.messages] == ["m8", "m9", "m10"]
    assert history.messages == list(bench.room("lobby").history)[-3:]


def test_history_before_a_seq_returns_only_older_messages() -> None:
    bench = Bench(history=5)
    bench.say("lobby", *(f"m{n}" for n in range(1, 11)))  # kept: seq 6..10
    (reader,) = bench.welcomed("reader")
    for before, expected in [(9, [7, 8]), (7, [6]), (6, []), (2, []), (-1, []), (99, [9, 10])]:
        bench.send(reader, HistoryRequest(room="lobby", before=before, limit=2))
        assert [m.seq for m in reader.take_one(History).messages] == expected, before


def test_history_drops_the_oldest_messages_until_it_fits_max_frame() -> None:
    bench = Bench(max_frame=1024)
    bench.say("lobby", *(f"{n:03d}" + "x" * 150 for n in range(1, 11)))
    (reader,) = bench.welcomed("reader")
    bench.send(reader, HistoryRequest(room="lobby", limit=10))
    kept = [m.seq for m in reader.take_one(History).messages]
    assert kept
    assert kept == list(range(11 - len(kept), 11))
    assert len(kept) < 10


def test_history_of_a_room_that_does_not_exist_is_not_in_room() -> None:
    bench = Bench()
    (reader,) = bench.welcomed("reader")
    bench.send(reader, HistoryRequest(room="nowhere", id="h9"))
    reader.take_error("not_in_room", ref="history", id="h9")


# --- ping, pong, quit -------------------------------------------------------------------


def test_ping_is_answered_pong_with_its_token_even_before_welcome() -> None:
    bench = Bench()
    stranger = bench.connect()
    bench.send(stranger, Ping(token="t-1"))
    assert stranger.take_one(Pong) == Pong(token="t-1")
    (alice,) = bench.welcomed("alice")
    bench.send(alice, Ping())
    assert alice.take_one(Pong) == Pong()


def test_a_pong_is_answered_with_nothing() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, Pong(token="x"))
    assert alice.take() == []


def test_quit_closes_with_quit_and_the_rooms_hear_its_reason() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, Quit(reason="off to bed"))
    assert alice.closes == [Closed("quit", announce="off to bed")]
    assert bob.take_one(Presence) == Presence(
        room="lobby", nick="alice", event="quit", reason="off to bed"
    )


def test_a_quit_reason_is_cut_to_160_characters() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, Quit(reason="z" * 1000))
    assert QUIT_REASON_MAX == 160
    assert alice.closes == [Closed("quit", announce="z" * 160)]
    assert bob.take_one(Presence).reason == "z" * 160


def test_a_quit_without_a_reason_is_announced_as_quit() -> None:
    bench = Bench()
    alice, bob = bench.in_room("lobby", "alice", "bob")
    bench.send(alice, Quit())
    assert bob.take_one(Presence).reason == "quit"


def test_what_was_said_before_a_quit_reaches_the_quitter_before_it_closes() -> None:
    bench = Bench()
    (alice,) = bench.in_room("lobby", "alice")
    before = len(alice.log)
    bench.send(alice, Say(room="lobby", text="last words"), Quit(), Ping())
    (said, closed) = alice.log[before:]
    assert not isinstance(said, Closed)
    assert isinstance(said.messages[0], Message)
    assert closed == Closed("quit", announce="quit")


def test_an_error_names_the_request_type_and_echoes_its_id() -> None:
    bench = Bench()
    (alice,) = bench.welcomed("alice")
    bench.send(alice, Say(room="lobby", text="x", id="any-id"))
    assert alice.take_one(Error) == Error(
        code="not_in_room", message="you are not in lobby", ref="say", id="any-id"
    )
