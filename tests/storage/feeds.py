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

    def apply(self, change: Change, mine: bool) -> None:
        self.changes.append((change, mine))
        self.arrived.set()

    def settle(self) -> None:
        self.batches += 1

    def unavailable(self, reason: str) -> None:
        pass

    def local_state(self) -> Snapshot:
        return Snapshot()

    def local_nicks(self) -> list[str]:
        return []
