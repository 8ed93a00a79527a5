"""A :class:`~chat_server.changes.Feed` for store tests: it keeps what the store hands back."""

from __future__ import annotations

import asyncio

from chat_server.changes import Change, Snapshot


class Recorder:
    """A Feed that records every change and how many batches were settled."""

    def __init__(self) -> None:
        self.changes: list[tuple[Change, bool]] = []
        self.arrived = asyncio.Event()
        self.batches = 0
        #: Changes a local store took (``held``) and how many it reported written.
        self.taken = 0
        self.written_count = 0
        self.wrote = asyncio.Event()

    def apply(self, change: Change, mine: bool) -> None:
        self.changes.append((change, mine))
        self.arrived.set()

    def settle(self) -> None:
        self.batches += 1

    def unavailable(self, reason: str) -> None:
        pass

    def held(self) -> None:
        self.taken += 1

    def written(self, count: int) -> None:
        self.written_count = count
        self.wrote.set()

    def local_state(self) -> Snapshot:
        return Snapshot()

    def local_nicks(self) -> list[str]:
        return []
