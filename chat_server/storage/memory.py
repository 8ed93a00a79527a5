"""The default store: nothing outlives the process, and nothing costs anything."""

from __future__ import annotations

from .base import Change, Feed, Snapshot


class MemoryStore:
    """Keeps nothing: the hub's own memory is the only copy (``memory://``)."""

    shared = False

    async def open(self, feed: Feed) -> Snapshot:
        return Snapshot()

    async def close(self) -> None:
        pass

    def record(self, change: Change) -> bool:
        return True

    async def claim_nick(self, nick: str) -> bool:
        return True

    async def release_nick(self, nick: str) -> None:
        pass

    async def nick_exists(self, nick: str) -> str | None:
        return None
