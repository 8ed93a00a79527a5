"""mirror: what a shared store hands back, applied to this node's rooms and members."""

from __future__ import annotations

from chat_server.changes import (
    Departed,
    Entered,
    Forgotten,
    Posted,
    Quit,
    Renamed,
    TopicSet,
    Whispered,
)
from protocol import (
    Error,
    History,
    HistoryRequest,
    Members,
    Message,
    NickChanged,
    Presence,
    Say,
    Topic,
    WhisperMessage,
    Who,
)
from tests.server.hub.fakes import WALL_START, Bench


def remote_message(room: str, seq: int, text: str = "from afar") -> Message:
    return Message(room=room, from_="carol", text=text, ts=WALL_START, seq=seq)


async def test_a_posted_message_is_kept_and_sent_to_the_rooms_members_once(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    message = remote_message("lobby", 1)
    shared_bench.shared.deliver(Posted(message))
    assert alice.take() == bob.take() == [message]
    room = shared_bench.room("lobby")
    assert (room.seq, list(room.history)) == (1, [message])
    shared_bench.shared.deliver(Posted(message))  # the same seq again: seen already
    assert alice.take() == []
    assert list(room.history) == [message]


async def test_a_members_own_message_is_sent_only_when_the_store_hands_it_back_numbered(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.send(alice, Say(room="lobby", text="hi", id="s1"))
    assert alice.take() == bob.take() == []
    shared_bench.shared.hand_back()
    expected = Message(room="lobby", from_="alice", text="hi", ts=WALL_START, seq=1, id="s1")
    assert alice.take() == bob.take() == [expected]


async def test_a_batch_of_messages_reaches_each_member_as_one_out_when_it_settles(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    before = len(alice.outs)
    shared_bench.shared.deliver(*(Posted(remote_message("lobby", seq)) for seq in (1, 2, 3)))
    (out,) = alice.outs[before:]
    assert bob.outs[-1] is out
    assert [m.seq for m in out.messages if isinstance(m, Message)] == [1, 2, 3]


async def test_a_message_for_a_room_this_node_has_not_seen_makes_it(shared_bench: Bench) -> None:
    shared_bench.shared.deliver(Posted(remote_message("Elsewhere", 4)))
    room = shared_bench.room("elsewhere")
    assert (room.name, room.seq, len(room.history)) == ("Elsewhere", 4, 1)


async def test_a_topic_set_elsewhere_reaches_the_members_here(shared_bench: Bench) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.shared.deliver(TopicSet(room="LOBBY", topic="plans", by="carol"))
    assert alice.take() == bob.take() == [Topic(room="lobby", topic="plans", by="carol")]
    assert shared_bench.room("lobby").topic == "plans"


async def test_a_member_entering_elsewhere_is_announced_once_and_listed(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed_in_room("lobby", "alice")
    shared_bench.shared.deliver(Entered(room="lobby", nick="Carol"))
    shared_bench.shared.deliver(Entered(room="lobby", nick="carol"))
    assert alice.take() == [Presence(room="lobby", nick="Carol", event="join")]
    shared_bench.send(alice, Who(room="lobby"))
    assert alice.take_one(Members).members == ["alice", "Carol"]


async def test_a_member_departing_elsewhere_is_announced_and_an_unused_room_forgotten(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed_in_room("lobby", "alice")
    shared_bench.shared.deliver(
        Entered(room="lobby", nick="carol"), Entered(room="far", nick="carol")
    )
    alice.take()
    shared_bench.shared.deliver(Departed(room="lobby", nick="carol"))
    assert alice.take() == [Presence(room="lobby", nick="carol", event="leave")]
    assert shared_bench.room("lobby").nicks() == ["alice"]
    shared_bench.shared.deliver(Departed(room="far", nick="carol"))
    assert "far" not in shared_bench.hub.rooms
    shared_bench.shared.deliver(Departed(room="far", nick="carol"))  # a room not known here
    assert "far" not in shared_bench.hub.rooms
    assert alice.take() == []


async def test_a_quit_elsewhere_tells_each_of_its_rooms_with_the_reason(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("one", "alice", "bob")
    shared_bench.join("two", alice)
    for room in ("one", "two", "far"):
        shared_bench.shared.deliver(Entered(room=room, nick="carol"))
    shared_bench.drain()
    quit = Quit(nick="carol", reason="node lost", rooms=("one", "two", "far", "unknown"))
    shared_bench.shared.deliver(quit)
    assert alice.take() == [
        Presence(room="one", nick="carol", event="quit", reason="node lost"),
        Presence(room="two", nick="carol", event="quit", reason="node lost"),
    ]
    assert bob.take() == [Presence(room="one", nick="carol", event="quit", reason="node lost")]
    assert "far" not in shared_bench.hub.rooms
    assert shared_bench.room("one").nicks() == ["alice", "bob"]


async def test_a_quit_elsewhere_during_shutdown_is_applied_silently(shared_bench: Bench) -> None:
    (alice,) = await shared_bench.claimed_in_room("lobby", "alice")
    shared_bench.shared.deliver(Entered(room="lobby", nick="carol"))
    shared_bench.hub.shutdown()
    alice.take()
    shared_bench.shared.deliver(Quit(nick="carol", reason="bye", rooms=("lobby",)))
    assert alice.take() == []


async def test_a_rename_elsewhere_reaches_each_member_sharing_a_room_once(
    shared_bench: Bench,
) -> None:
    alice, bob, dave = await shared_bench.claimed_in_room("one", "alice", "bob", "dave")
    shared_bench.join("two", alice, bob)
    shared_bench.shared.hand_back()
    for room in ("one", "two"):
        shared_bench.shared.deliver(Entered(room=room, nick="carol"))
    shared_bench.drain()
    shared_bench.shared.deliver(
        Renamed(old="carol", new="Caroline", rooms=("one", "two", "unknown"))
    )
    change = NickChanged(old="carol", new="Caroline")
    assert alice.take() == bob.take() == dave.take() == [change]
    assert shared_bench.room("two").nicks() == ["alice", "bob", "Caroline"]


async def test_a_whisper_handed_back_reaches_its_local_target_and_sender_once_each(
    shared_bench: Bench,
) -> None:
    alice, bob, carol = await shared_bench.claimed("alice", "bob", "carol")
    local = WhisperMessage(from_="alice", to="bob", text="psst", ts=WALL_START)
    to_afar = WhisperMessage(from_="alice", to="zed", text="hello", ts=WALL_START)
    from_afar = WhisperMessage(from_="zed", to="bob", text="hi", ts=WALL_START)
    to_self = WhisperMessage(from_="carol", to="carol", text="me", ts=WALL_START)
    for whisper in (local, to_afar, from_afar, to_self):
        shared_bench.shared.deliver(Whispered(whisper))
    assert alice.take() == [local, to_afar]
    assert bob.take() == [local, from_afar]
    assert carol.take() == [to_self]


async def test_a_room_forgotten_elsewhere_is_dropped_here_only_if_empty(
    shared_bench: Bench,
) -> None:
    await shared_bench.claimed_in_room("busy", "alice")
    shared_bench.shared.deliver(Posted(remote_message("idle", 1)))
    shared_bench.shared.deliver(Forgotten(room="idle"), Forgotten(room="busy"))
    assert list(shared_bench.hub.rooms) == ["busy"]


async def test_presence_changes_this_node_made_are_not_applied_twice(
    shared_bench: Bench,
) -> None:
    alice, bob = await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.shared.deliver(
        Entered(room="lobby", nick="alice"),
        Departed(room="lobby", nick="bob"),
        Quit(nick="bob", reason="x", rooms=("lobby",)),
        Renamed(old="bob", new="robert", rooms=("lobby",)),
        mine=True,
    )
    assert alice.take() == bob.take() == []
    room = shared_bench.room("lobby")
    assert (room.nicks(), room.remote) == (["alice", "bob"], {})


async def test_a_message_this_node_made_is_still_applied_when_handed_back(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed_in_room("lobby", "alice")
    message = remote_message("lobby", 1)
    shared_bench.shared.deliver(Posted(message), mine=True)
    assert alice.take() == [message]


async def test_a_lost_store_is_told_to_every_welcomed_member(shared_bench: Bench) -> None:
    alice, bob = await shared_bench.claimed("alice", "bob")
    stranger = shared_bench.connect()
    shared_bench.hub.mirror.unavailable("the store is unreachable")
    error = Error(code="unavailable", message="the store is unreachable")
    assert alice.take() == bob.take() == [error]
    assert bob.outs[-1] is alice.outs[-1]
    assert stranger.take() == []


async def test_local_state_holds_this_nodes_rooms_and_members(shared_bench: Bench) -> None:
    await shared_bench.claimed_in_room("lobby", "alice", "bob")
    shared_bench.shared.deliver(Entered(room="lobby", nick="carol"))
    shared_bench.shared.deliver(Posted(remote_message("lobby", 1)))
    state = shared_bench.hub.mirror.local_state()
    (lobby,) = state.rooms
    assert (lobby.name, lobby.seq, lobby.members) == ("lobby", 1, ["alice", "bob"])
    assert sorted(shared_bench.hub.mirror.local_nicks()) == ["alice", "bob"]


async def test_a_whisper_from_elsewhere_never_reaches_a_nick_still_being_claimed_here(
    shared_bench: Bench,
) -> None:
    claimant = shared_bench.hello("alice")
    whisper = WhisperMessage(from_="zed", to="alice", text="for the real alice", ts=WALL_START)
    echo = WhisperMessage(from_="alice", to="zed", text="from the real alice", ts=WALL_START)
    shared_bench.shared.deliver(Whispered(whisper), Whispered(echo))
    assert claimant.take() == []


async def test_a_nick_still_being_claimed_is_not_this_nodes_yet(shared_bench: Bench) -> None:
    await shared_bench.claimed("alice")
    claimant = shared_bench.hello("bob")
    assert shared_bench.hub.mirror.local_nicks() == ["alice"]
    shared_bench.hub.mirror.unavailable("the store is unreachable")
    assert claimant.take() == []


async def test_history_before_a_seq_holds_only_older_messages_across_a_gap_in_seq(
    shared_bench: Bench,
) -> None:
    (alice,) = await shared_bench.claimed_in_room("lobby", "alice")
    # A store that lost changes (Redis restarted) re-seeds seq without going back: 4-6 never came.
    shared_bench.shared.deliver(*(Posted(remote_message("lobby", seq)) for seq in (1, 2, 3, 7, 8)))
    alice.take()
    for before, expected in [(8, [3, 7]), (7, [2, 3]), (5, [2, 3]), (4, [2, 3]), (2, [1])]:
        shared_bench.send(alice, HistoryRequest(room="lobby", before=before, limit=2))
        assert [m.seq for m in alice.take_one(History).messages] == expected, before
