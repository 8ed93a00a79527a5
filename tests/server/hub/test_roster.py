"""roster: the phase table, and which rooms exist, are evicted or are forgotten."""

from __future__ import annotations

import pytest

from chat_server.hub import Phase, Seat
from chat_server.hub.limits import Bucket
from chat_server.hub.roster import TAKES, Roster
from protocol import Message
from tests.server.hub.fakes import Bench, FakeMember


def new_seat(nick: str | None = None, phase: Phase = Phase.NEW) -> Seat:
    member = FakeMember(Bench().hub, nick or "anon")
    return Seat(
        member=member,
        send=member.send,
        address="x",
        via="native",
        since=0,
        bucket=Bucket(1, 0),
        nick=nick,
        phase=phase,
    )


def a_message(room: str) -> Message:
    return Message(room=room, from_="alice", text="kept", ts=0.0, seq=1)


def test_each_phase_takes_what_the_table_says() -> None:
    assert {
        Phase.NEW: frozenset({"hello", "ping", "pong"}),
        Phase.NAMING: frozenset(),
        Phase.WELCOMED: None,
        Phase.RENAMING: frozenset(),
        Phase.GONE: frozenset(),
    } == TAKES


@pytest.mark.parametrize(
    ("phase", "welcomed", "waiting"),
    [
        (Phase.NEW, False, False),
        (Phase.NAMING, False, True),
        (Phase.WELCOMED, True, False),
        (Phase.RENAMING, True, True),
        (Phase.GONE, False, True),
    ],
)
def test_a_seat_is_welcomed_or_waiting_by_its_phase(
    phase: Phase, welcomed: bool, waiting: bool
) -> None:
    seat = new_seat("alice", phase)
    assert (seat.welcomed, seat.waiting) == (welcomed, waiting)


def test_rooms_and_nicks_are_found_in_any_case() -> None:
    roster = Roster(history=5)
    lobby = roster.add_room("Lobby")
    alice = new_seat("Alice", Phase.WELCOMED)
    roster.nicks["alice"] = alice
    assert roster.room("LOBBY") is lobby
    assert roster.seat("aLiCe") is alice
    assert roster.room("other") is None
    assert roster.seat("bob") is None


def test_a_nick_still_being_claimed_is_held_here_but_nobodys_seat_yet() -> None:
    roster = Roster(history=5)
    alice, bob = new_seat("alice", Phase.WELCOMED), new_seat("bob", Phase.NAMING)
    roster.nicks.update({"alice": alice, "bob": bob})
    assert (roster.holder("BOB"), roster.seat("BOB")) == (bob, None)
    assert list(roster.welcomed()) == [alice]
    bob.phase = Phase.WELCOMED
    assert roster.seat("bob") is bob
    assert list(roster.welcomed()) == [alice, bob]


def test_a_new_room_keeps_at_most_history_messages() -> None:
    roster = Roster(history=2)
    lobby = roster.add_room("lobby")
    lobby.history.extend(a_message("lobby").model_copy(update={"seq": n}) for n in (1, 2, 3))
    assert [m.seq for m in lobby.history] == [2, 3]


def test_oldest_empty_is_the_least_recently_used_room_without_members() -> None:
    roster = Roster(history=5)
    first, second, third, occupied = (roster.add_room(n) for n in ("a", "b", "c", "d"))
    for room in (first, second, third, occupied):
        roster.touch(room)
    roster.touch(first)
    occupied.members[new_seat("alice")] = None
    assert roster.oldest_empty() is second
    second.remote["bob"] = "bob"  # a member on another node counts
    assert roster.oldest_empty() is third


def test_oldest_empty_is_none_when_every_room_has_members() -> None:
    roster = Roster(history=5)
    assert roster.oldest_empty() is None
    roster.add_room("lobby").members[new_seat("alice")] = None
    roster.add_room("elsewhere").remote["bob"] = "bob"
    assert roster.oldest_empty() is None


def test_a_room_is_forgotten_only_with_no_members_here_or_elsewhere_and_no_history() -> None:
    roster = Roster(history=5)
    with_member = roster.add_room("member")
    with_member.members[new_seat("alice")] = None
    with_remote = roster.add_room("remote")
    with_remote.remote["bob"] = "bob"
    with_history = roster.add_room("history")
    with_history.history.append(a_message("history"))
    unused = roster.add_room("unused")
    assert [roster.forget_if_unused(room) for room in (with_member, with_remote, with_history)] == [
        False,
        False,
        False,
    ]
    assert roster.forget_if_unused(unused)
    assert sorted(roster.rooms) == ["history", "member", "remote"]


def test_sharing_is_the_seat_and_everyone_in_its_rooms_once_each() -> None:
    roster = Roster(history=5)
    alice, bob, carol, dave = (new_seat(n) for n in ("alice", "bob", "carol", "dave"))
    one, two, other = roster.add_room("one"), roster.add_room("two"), roster.add_room("other")
    one.members.update({alice: None, bob: None, carol: None})
    two.members.update({bob: None, alice: None})
    other.members.update({dave: None, carol: None})
    alice.rooms.update({"one": one, "two": two})
    assert list(roster.sharing(alice)) == [alice, bob, carol]
    loner = new_seat("loner")
    assert list(roster.sharing(loner)) == [loner]


def test_a_rooms_nicks_are_its_local_members_then_those_elsewhere() -> None:
    roster = Roster(history=5)
    lobby = roster.add_room("lobby")
    lobby.members[new_seat("alice")] = None
    lobby.remote["bob"] = "Bob"
    assert lobby.nicks() == ["alice", "Bob"]
    assert lobby.size() == 2
