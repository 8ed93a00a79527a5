"""Pages of a room's kept messages, selected by ``seq`` or by time (pure).

A room keeps its newest messages in ``seq`` order (:attr:`Room.history`).
The native ``history`` request asks for the newest ``limit`` messages below a
``seq``; IRC's ``CHATHISTORY`` asks for the same and more (``AFTER``,
``AROUND``, ``BETWEEN``, ``LATEST``), with a point given by ``seq`` or by a
timestamp.  Every page is returned oldest first, as the native ``history``
reply holds it, and never holds more than ``limit`` messages.

A :class:`Seq` point compares by ``seq``; a :class:`Moment` by ``ts`` to the
millisecond, as IRC's ``server-time`` gives it (a message in that very
millisecond counts as at the point: neither before nor after it, but from it
on in ``around``).  Points are exclusive:
``before(Seq(10))`` never returns message 10.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

from protocol import Message

from .fitting import newest


@dataclass(frozen=True, slots=True)
class Seq:
    """The point of message ``seq`` of a room."""

    seq: int


@dataclass(frozen=True, slots=True)
class Moment:
    """A point in time, unix seconds."""

    ts: float


Point = Seq | Moment


def _millis(ts: float) -> int:
    return round(ts * 1000)


def _is_before(message: Message, point: Point) -> bool:
    if isinstance(point, Seq):
        return message.seq < point.seq
    return _millis(message.ts) < _millis(point.ts)


def _is_after(message: Message, point: Point) -> bool:
    if isinstance(point, Seq):
        return message.seq > point.seq
    return _millis(message.ts) > _millis(point.ts)


def _count_before(kept: Sequence[Message], point: Point) -> int:
    """How many kept messages lie before ``point`` (they are the first ones)."""
    if isinstance(point, Seq):
        # seq grows along the ring, with gaps where a shared store lost changes.
        return bisect_left(kept, point.seq, key=_seq)
    count = 0
    for message in kept:
        if not _is_before(message, point):
            break
        count += 1
    return count


def _seq(message: Message) -> int:
    return message.seq


def _count_up_to(kept: Sequence[Message], point: Point) -> int:
    """How many kept messages lie before ``point`` or at it."""
    if isinstance(point, Seq):
        return _count_before(kept, Seq(point.seq + 1))
    count = 0
    for message in kept:
        if _is_after(message, point):
            break
        count += 1
    return count


def before(kept: Sequence[Message], point: Point, limit: int) -> list[Message]:
    """The newest ``limit`` messages before ``point``."""
    return newest(list(islice(kept, _count_before(kept, point))), limit)


def after(kept: Sequence[Message], point: Point, limit: int) -> list[Message]:
    """The oldest ``limit`` messages after ``point``."""
    start = _count_up_to(kept, point)
    return list(islice(kept, start, start + limit))


def latest(kept: Sequence[Message], point: Point | None, limit: int) -> list[Message]:
    """The newest ``limit`` messages, all of them after ``point`` if given."""
    if point is None:
        return newest(kept, limit)
    return newest(list(islice(kept, _count_up_to(kept, point), None)), limit)


def around(kept: Sequence[Message], point: Point, limit: int) -> list[Message]:
    """``limit`` messages around ``point``: up to half of them before it, the
    rest from it on (more of them when fewer are kept before it)."""
    earlier = before(kept, point, limit // 2)
    start = _count_before(kept, point)
    return earlier + list(islice(kept, start, start + limit - len(earlier)))


def between(kept: Sequence[Message], first: Point, second: Point, limit: int) -> list[Message]:
    """The messages strictly between two points, at most ``limit``.

    From the first point's side: with ``first`` older than ``second`` the
    oldest ``limit`` of them, else the newest ``limit``.
    """
    forward = _count_before(kept, first) <= _count_before(kept, second)
    low, high = (first, second) if forward else (second, first)
    inside = [m for m in kept if _is_after(m, low) and _is_before(m, high)]
    return inside[:limit] if forward else newest(inside, limit)


@dataclass(frozen=True, slots=True)
class Query:
    """One page to select: ``kind`` names the function of this module that does it.

    ``point`` is required but for ``latest`` (``None``: the newest messages);
    ``second`` is the other end of ``between``.  ``limit`` is at least 1.
    """

    kind: str
    point: Point | None
    limit: int
    second: Point | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"no history query {self.kind!r}")
        if self.limit < 1:
            raise ValueError("a history page holds at least one message")
        if self.point is None and self.kind != "latest":
            raise ValueError(f"{self.kind} needs a point")
        if (self.second is None) != (self.kind != "between"):
            raise ValueError("between, and only between, needs a second point")


KINDS = frozenset({"before", "after", "latest", "around", "between"})


def select(kept: Sequence[Message], query: Query) -> list[Message]:
    """The page ``query`` asks for among ``kept`` (a room's messages, in ``seq`` order)."""
    point, limit = query.point, query.limit
    if query.kind == "latest":
        return latest(kept, point, limit)
    assert point is not None
    if query.kind == "before":
        return before(kept, point, limit)
    if query.kind == "after":
        return after(kept, point, limit)
    if query.kind == "around":
        return around(kept, point, limit)
    assert query.second is not None
    return between(kept, point, query.second, limit)
