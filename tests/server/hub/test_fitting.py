"""fitting: frames that fit max_frame, as pure functions of the models and the limit."""

from __future__ import annotations

import pytest

from chat_server.hub.fitting import fit_history, fit_list, fits, largest_fitting, newest
from protocol import HEADER_SIZE, History, Members, Message, encode

MAX_FRAME = 1024


def messages(count: int, size: int = 100) -> list[Message]:
    return [
        Message(room="lobby", from_="alice", text="x" * size, ts=0.0, seq=seq)
        for seq in range(1, count + 1)
    ]


def history(kept: list[Message]) -> History:
    return History(room="lobby", messages=kept)


def members(nicks: list[str], cut: bool) -> Members:
    return Members(room="lobby", members=nicks, truncated=cut)


def body_size(frame: bytes) -> int:
    return len(frame) - HEADER_SIZE


def test_a_frame_fits_when_its_body_is_at_most_max_frame() -> None:
    frame = encode(history([]))
    assert fits(frame, body_size(frame))
    assert not fits(frame, body_size(frame) - 1)


@pytest.mark.parametrize(("count", "expected"), [(0, []), (2, [4, 5]), (5, [1, 2, 3, 4, 5])])
def test_newest_is_the_last_items_oldest_first(count: int, expected: list[int]) -> None:
    assert newest([1, 2, 3, 4, 5], count) == expected
    assert newest([1, 2, 3], 10) == [1, 2, 3]


def test_a_history_that_fits_is_kept_whole() -> None:
    kept = messages(3)
    out = fit_history(history, kept, MAX_FRAME)
    assert out is not None
    assert out.messages == (history(kept),)
    assert out.frame == encode(history(kept))


def test_a_history_too_large_drops_its_oldest_messages_until_it_fits() -> None:
    all_ten = messages(10)
    out = fit_history(history, all_ten, MAX_FRAME)
    assert out is not None
    (fitted,) = out.messages
    assert isinstance(fitted, History)
    count = len(fitted.messages)
    assert 0 < count < 10
    assert fitted.messages == all_ten[-count:]
    assert body_size(out.frame) <= MAX_FRAME
    assert body_size(encode(history(all_ten[-count - 1 :]))) > MAX_FRAME


def test_a_history_whose_newest_message_alone_is_too_large_is_sent_empty() -> None:
    out = fit_history(history, messages(3, size=2000), MAX_FRAME)
    assert out is not None
    assert out.messages == (history([]),)


def test_a_history_that_cannot_fit_even_empty_is_none() -> None:
    assert fit_history(history, messages(3), body_size(encode(history([]))) - 1) is None


def test_a_list_that_fits_is_whole_and_not_truncated() -> None:
    nicks = [f"nick{n}" for n in range(5)]
    out = fit_list(members, nicks, MAX_FRAME)
    assert out.messages == (members(nicks, False),)
    assert out.frame == encode(members(nicks, False))


def test_a_list_too_large_is_cut_to_its_longest_fitting_prefix_and_marked_truncated() -> None:
    nicks = [f"a-rather-long-nick-{n:03d}" for n in range(100)]
    out = fit_list(members, nicks, MAX_FRAME)
    (cut,) = out.messages
    assert isinstance(cut, Members)
    assert cut.truncated
    count = len(cut.members)
    assert 0 < count < 100
    assert cut.members == nicks[:count]
    assert body_size(out.frame) <= MAX_FRAME
    assert body_size(encode(members(nicks[: count + 1], True))) > MAX_FRAME


def test_a_list_that_cannot_fit_even_empty_is_sent_empty_and_truncated() -> None:
    out = fit_list(members, ["alice", "bob"], 10)
    assert out.messages == (members([], True),)


def test_a_list_cut_exactly_at_the_limit_keeps_what_fits_with_the_truncated_mark() -> None:
    nicks = ["alice", "bob", "carol-with-a-long-name"]  # longer than the truncated mark
    limit = body_size(encode(members(["alice", "bob"], True)))
    assert body_size(encode(members(nicks, False))) > limit
    out = fit_list(members, nicks, limit)
    assert out.messages == (members(["alice", "bob"], True),)


@pytest.mark.parametrize("most", range(12))
def test_largest_fitting_finds_the_boundary_for_every_threshold(most: int) -> None:
    for threshold in range(most + 1):
        assert largest_fitting(most, threshold.__ge__) == threshold


def test_largest_fitting_is_none_when_nothing_fits_or_there_is_nothing() -> None:
    assert largest_fitting(5, lambda n: False) is None
    assert largest_fitting(-1, lambda n: True) is None
    assert largest_fitting(0, lambda n: True) == 0


def test_largest_fitting_asks_a_logarithmic_number_of_times() -> None:
    asked: list[int] = []

    def fits_up_to_600(n: int) -> bool:
        asked.append(n)
        return n <= 600

    assert largest_fitting(1000, fits_up_to_600) == 600
    assert len(asked) <= 2 + 10
