"""The admin socket's requests: carried out as the server operator ``*admin*``.

The admin has no connection: a :class:`Seat` stands in for the one request,
collects what the hub answers, and is gone afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from protocol import ClientMessage, Error

from .context import Context
from .handlers import Handler
from .limits import Bucket
from .member import Out
from .roster import Phase, Seat

#: The nick of the admin socket's actions, in ``by`` and ``from``; no nick can be it.
ADMIN = "*admin*"


async def act(
    ctx: Context, handlers: Mapping[type[Any], Handler], request: ClientMessage, *, wait: float
) -> list[BaseModel]:
    """Carry out ``request`` with its handler in ``handlers``, as ``*admin*``.

    Returns what the hub answered (an ``error``, a listing...), once the
    store has answered any question the request raised (at most ``wait``
    seconds).  No rate limit applies; the admin joins no room.
    """
    replies: list[BaseModel] = []

    def collect(out: Out) -> None:
        replies.extend(out.messages)

    admin = Seat(
        member=_Console(),
        send=collect,
        address="admin-socket",
        via="admin",
        since=ctx.wall_clock(),
        bucket=Bucket(1, ctx.clock()),
        nick=ADMIN,
        phase=Phase.WELCOMED,
        oper=True,
    )
    handler = handlers.get(type(request))
    before = ctx.posting.pending()
    try:
        if handler is None:
            ctx.post.error(admin, "unknown_type", f"{request.type} is not offered")
        else:
            handler(ctx, admin, request)
    finally:
        ctx.post.flush()
    started = ctx.posting.pending() - before
    if started:
        await asyncio.wait(started, timeout=wait)
    admin.phase = Phase.GONE
    return replies


class _Console:
    """The admin socket's stand-in for a connection: nothing to close or resume."""

    def send(self, out: Out) -> None:
        pass

    def close(
        self, reason: str, *, error: Error | None = None, announce: str | None = None
    ) -> None:
        pass

    def resume(self) -> None:
        pass
