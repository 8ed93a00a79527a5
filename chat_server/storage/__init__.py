"""Stores: where the hub keeps room state and messages (see :mod:`chat_server.changes`).

:func:`make_store` picks one from the configuration: memory by default,
SQLite with ``--db``, Redis with ``--redis``.
"""

from __future__ import annotations

from ..changes import (
    Change,
    Departed,
    Entered,
    Feed,
    Forgotten,
    Posted,
    Quit,
    Renamed,
    RoomState,
    Snapshot,
    Store,
    StoreError,
    StoreUnavailable,
    TopicSet,
    Whispered,
)
from ..config import Config
from .memory import MemoryStore

__all__ = [
    "Change",
    "Departed",
    "Entered",
    "Feed",
    "Forgotten",
    "MemoryStore",
    "Posted",
    "Quit",
    "Renamed",
    "RoomState",
    "Snapshot",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TopicSet",
    "Whispered",
    "make_store",
]


def make_store(config: Config) -> Store:
    """The store ``config`` asks for; it still has to be opened."""
    if config.db is not None:
        from .sqlite import SqliteStore

        return SqliteStore(config.db, retain=config.history, fsync=config.fsync)
    if config.redis is not None:
        from .redis import RedisStore

        # A dead node's users are announced within --ping-timeout, as a dead client's are.
        ttl = max(1.0, min(config.node_ttl, config.ping_timeout / 2))
        return RedisStore(config.redis, retain=config.history, node_ttl=ttl)
    return MemoryStore()
