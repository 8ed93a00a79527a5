"""Redis: several server processes share rooms, nicks, membership and history.

Every change any node makes goes through one Lua script that updates the
shared state and appends the change to one stream, ``hubbub:events``,
atomically; a message's ``seq`` comes from ``HINCRBY`` in that same script.
Each node reads the whole stream in order and hands every change to its hub
(:meth:`Feed.apply`), which delivers to the members connected to it: so every
member on every node sees one order, and a message is sent to anyone only
after Redis has taken it.

The modules: :mod:`.store` (the store: loading, nicks, losing Redis and
getting it back), :mod:`.stream` (changes out and back in batches),
:mod:`.liveness` (heartbeats, and the users of a node that died),
:mod:`.records` (changes as the script and the stream carry them),
:mod:`.scripts` (the Lua) and :mod:`.wire` (a small RESP client).
"""

from __future__ import annotations

from .store import RedisStore

__all__ = ["RedisStore"]
