"""Pages of a room's kept messages, by seq or by time (chat_server.hub.history)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_server.hub.history import (
    Moment,
    Query,
    Seq,
    after,
    around,
    before,
    between,
    latest,
    select,
)
from protocol import Message


def kept(first: int, last: int) -> list[Message]:
    """Messages ``first``..``last``, message n sent at time 100 + n."""
    return [
        Message(room="r", from_="a", text=f"m{n}", ts=100.0 + n, seq=n)
        for n in range(first, last + 1)
    ]


def seqs(messages: list[Message]) -> list[int]:
    return [m.seq for m in messages]


HISTORY = kept(11, 30)


def test_before_is_the_newest_messages_below_a_point_oldest_first() -> None:
    assert seqs(before(HISTORY, Seq(20), 3)) == [17, 18, 19]
    assert seqs(before(HISTORY, Seq(12), 5)) == [11]
    assert seqs(before(HISTORY, Seq(5), 5)) == []
    assert seqs(before(HISTORY, Seq(99), 2)) == [29, 30]
    assert seqs(before(HISTORY, Moment(120.0), 3)) == [17, 18, 19]
    assert seqs(before(HISTORY, Moment(119.5), 3)) == [17, 18, 19]


def test_after_is_the_oldest_messages_above_a_point() -> None:
    assert seqs(after(HISTORY, Seq(20), 3)) == [21, 22, 23]
    assert seqs(after(HISTORY, Seq(29), 3)) == [30]
    assert seqs(after(HISTORY, Seq(1), 2)) == [11, 12]
    assert seqs(after(HISTORY, Moment(120.0), 2)) == [21, 22]
    assert seqs(after(HISTORY, Moment(119.5), 2)) == [20, 21]


def test_latest_is_the_newest_messages_after_a_point_if_any() -> None:
    assert seqs(latest(HISTORY, None, 3)) == [28, 29, 30]
    assert seqs(latest(HISTORY, Seq(28), 5)) == [29, 30]
    assert seqs(latest(HISTORY, Moment(127.0), 5)) == [28, 29, 30]
    assert seqs(latest(HISTORY, Seq(30), 5)) == []


def test_around_keeps_the_point_in_the_middle() -> None:
    assert seqs(around(HISTORY, Seq(20), 4)) == [18, 19, 20, 21]
    assert seqs(around(HISTORY, Seq(20), 5)) == [18, 19, 20, 21, 22]
    assert seqs(around(HISTORY, Seq(12), 6)) == [11, 12, 13, 14, 15, 16]
    assert seqs(around(HISTORY, Moment(120.0), 2)) == [19, 20]


def test_between_is_exclusive_and_counts_from_the_first_point() -> None:
    assert seqs(between(HISTORY, Seq(14), Seq(20), 3)) == [15, 16, 17]
    assert seqs(between(HISTORY, Seq(20), Seq(14), 3)) == [17, 18, 19]
    assert seqs(between(HISTORY, Moment(113.5), Seq(17), 10)) == [14, 15, 16]
    assert seqs(between(HISTORY, Seq(20), Seq(21), 10)) == []


def test_select_runs_the_query_it_is_given() -> None:
    assert seqs(select(HISTORY, Query("before", Seq(20), 2))) == [18, 19]
    assert seqs(select(HISTORY, Query("latest", None, 2))) == [29, 30]
    assert seqs(select(HISTORY, Query("between", Seq(11), 3, second=Seq(30)))) == [12, 13, 14]


@pytest.mark.parametrize(
    ("kind", "point", "limit", "second"),
    [
        ("sideways", Seq(1), 1, None),
        ("before", Seq(1), 0, None),
        ("after", None, 1, None),
        ("between", Seq(1), 1, None),
        ("around", Seq(1), 1, Seq(2)),
    ],
)
def test_a_query_that_cannot_be_answered_cannot_be_made(
    kind: str, point: Seq | None, limit: int, second: Seq | None
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Query(kind, point, limit, second=second)


@given(
    first=st.integers(1, 50),
    count=st.integers(0, 40),
    point=st.integers(0, 100),
    limit=st.integers(1, 30),
)
def test_a_seq_point_and_the_same_moment_select_the_same_page(
    first: int, count: int, point: int, limit: int
) -> None:
    history = kept(first, first + count - 1)
    for kind in ("before", "after", "latest", "around"):
        by_seq = select(history, Query(kind, Seq(point), limit))
        by_time = select(history, Query(kind, Moment(100.0 + point), limit))
        assert by_seq == by_time, kind
        assert len(by_seq) <= limit
        assert seqs(by_seq) == sorted(seqs(by_seq))


def test_points_find_their_place_by_seq_across_gaps() -> None:
    """A shared store that lost changes leaves gaps: seq 1, 2, 3, 7, 8."""
    gappy = kept(1, 3) + kept(7, 8)
    assert seqs(before(gappy, Seq(8), 10)) == [1, 2, 3, 7]
    assert seqs(before(gappy, Seq(5), 10)) == [1, 2, 3]
    assert seqs(after(gappy, Seq(3), 10)) == [7, 8]
    assert seqs(after(gappy, Seq(5), 1)) == [7]
    assert seqs(around(gappy, Seq(7), 2)) == [3, 7]
    assert seqs(between(gappy, Seq(2), Seq(8), 10)) == [3, 7]
