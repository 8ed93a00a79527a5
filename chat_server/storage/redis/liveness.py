"""Which nodes are alive, and what happens to the users of one that is not.

Each node keeps ``node:ID`` (and the nicks its users hold) alive with an
expiry of ``ttl`` seconds, refreshed every third of it.  On each round a
node also looks for nodes whose heartbeat expired; the first to claim a dead
node (``reap:ID``) publishes a ``quit`` for each of its users in every room
they were in, which frees their nicks on the way.  So the other nodes hear of
a dead node's users within ``ttl`` and a third of it, and the users' nicks
that were in no room expire by themselves within ``ttl``.
"""

from __future__ import annotations

import logging

from protocol import fold

from .records import Op, quit_op
from .wire import RedisConnection

log = logging.getLogger(__name__)

P = "hubbub:"
#: Presence reason for the users of a node that stopped answering.
NODE_LOST = "connection lost"


async def heartbeat(
    connection: RedisConnection, node: str, ttl: float, nicks: list[str], refresh_sha: str
) -> None:
    """Say this node is alive for ``ttl`` seconds, and keep its users' nicks for as long.

    Raises :class:`~.wire.RedisError`.
    """
    commands: list[tuple[str | int, ...]] = [
        ("SET", f"{P}node:{node}", "1", "PX", max(1000, int(ttl * 1000))),
        ("SADD", P + "nodes", node),
    ]
    if nicks:
        args: list[str] = [str(max(1, round(ttl)))]
        for nick in nicks:
            args += [fold(nick), f"{node}\t{nick}"]
        commands.append(("EVALSHA", refresh_sha, 0, *args))
    for reply in await connection.pipeline(commands):
        if isinstance(reply, Exception):
            raise reply


async def reap(connection: RedisConnection, node: str) -> list[Op]:
    """The ``quit`` of every user of every node whose heartbeat expired, claimed once.

    The caller publishes them.  Raises :class:`~.wire.RedisError`.
    """
    ops: list[Op] = []
    for raw in await connection.call("SMEMBERS", P + "nodes"):
        dead = raw.decode()
        if dead == node or await connection.call("EXISTS", f"{P}node:{dead}"):
            continue
        if not await connection.call("SET", f"{P}reap:{dead}", node, "NX", "EX", 60):
            continue
        rooms: dict[str, list[str]] = {}
        spelling: dict[str, str] = {}
        names = await connection.call("HGETALL", P + "rooms")
        for key, name in zip(names[::2], names[1::2], strict=True):
            members = await connection.call("HVALS", f"{P}members:{key.decode()}")
            for value in members:
                owner, nick = value.decode().split("\t", 1)
                if owner == dead:
                    rooms.setdefault(fold(nick), []).append(name.decode())
                    spelling[fold(nick)] = nick
        ops += [
            quit_op(dead, spelling[key], NODE_LOST, tuple(joined)) for key, joined in rooms.items()
        ]
        await connection.call("SREM", P + "nodes", dead)
        log.warning("node %s stopped answering: %d users quit", dead, len(rooms))
    return ops
