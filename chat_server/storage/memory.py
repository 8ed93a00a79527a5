"""The default store: nothing outlives the process, and nothing costs anything."""

from __future__ import annotations

from ..changes import Change, Feed, Snapshot
from .base import LocalStore


class MemoryStore(LocalStore):
    """Keeps nothing: the hub's own memory is the only copy (``memory://``)."""

    async def open(self, feed: Feed) -> Snapshot:
        return Snapshot()

    async def close(self) -> None:
        pass

    def record(self, change: Change) -> bool:
        return True

    def health(self) -> str:
        return "memory: nothing outlives the process"
