"""Lines typed while the client is offline: kept, shown dim, sent after the reconnect.

:class:`Outbox` holds the requests of the lines typed while there was no
connection (or while earlier ones still wait), in the order they were typed,
:data:`LIMIT` at most.  Each line shows in its window as a dim ``(queued)``
line until it goes out.  :func:`flush` sends from the head of the queue
whatever may go now: a request for a room the client is re-joining waits for
that room's ``joined`` (so a ``say`` is not refused with ``not_in_room``),
and nothing overtakes it, so the lines arrive in the order they were typed.
The reducer calls :func:`flush` after the welcome and after each ``joined``;
``force`` sends everything (a re-join was refused: waiting would be for ever).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from protocol import ClientMessage, Join, fold

from .view import Line
from .windows import Window

if TYPE_CHECKING:
    from .state import ChatState

__all__ = ["LIMIT", "Outbox", "Queued", "flush"]

#: Requests kept while offline, at most.
LIMIT = 200


@dataclass(frozen=True)
class Queued:
    """One request waiting; ``line`` is the dim line shown for it (shared by the parts
    of a long text), taken out when the ``last`` part goes."""

    message: ClientMessage
    window: Window
    line: Line
    last: bool


class Outbox:
    """The requests waiting for a connection, oldest first."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._queue: deque[Queued] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def room(self, count: int) -> bool:
        """Whether ``count`` more requests fit."""
        return len(self._queue) + count <= self.limit

    def put(self, messages: list[ClientMessage], window: Window, line: Line) -> None:
        """Queue the requests of one typed line, shown as ``line`` in ``window``."""
        for index, message in enumerate(messages):
            self._queue.append(Queued(message, window, line, index == len(messages) - 1))

    def head(self) -> Queued | None:
        return self._queue[0] if self._queue else None

    def pop(self) -> Queued:
        return self._queue.popleft()


def _waits(state: ChatState, message: ClientMessage) -> bool:
    """Whether ``message`` is for a room being re-joined (``join`` itself never waits)."""
    room = getattr(message, "room", None)
    if isinstance(message, Join) or not isinstance(room, str):
        return False
    if fold(room) not in state.wanted:
        return False
    window = state.find(room, "room")
    return window is not None and not window.joined


def flush(state: ChatState, *, force: bool = False) -> None:
    """Send the requests that may go now, in order; stop at the first that must wait."""
    box = state.outbox
    while (queued := box.head()) is not None:
        if state.link != "connected" or (not force and _waits(state, queued.message)):
            return
        if not state.send(queued.message):
            return
        box.pop()
        if queued.last:
            queued.window.remove(queued.line)
